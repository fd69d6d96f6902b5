// Ensembles (graph_ensemble.py): the merged archive's predictions equal the weighted sum of its
// members' predictions on the same inputs, with the members drawing frame samples from one
// generator in member order; and the refusals of the original (weights not summing to 1, existing
// folder) plus members that read different data.
#include "pipeline/ensemble.h"
#include "tests/common/test_util.h"
#include "tests/graph/graph_test_util.h"

#include <gtest/gtest.h>

namespace y8m::pipeline {
namespace {

using namespace graph_testing;

TEST(Ensemble, EqualsTheWeightedSumOfItsMembers) {
  testing::TempDir dir;
  const models::ModelConfig c = small_netvlad();
  auto a = make_model(c, 1), b = make_model(c, 2);
  export_model(*a, dir.file("a.y8m"));
  export_model(*b, dir.file("b.y8m"));
  const std::string path =
      write_ensemble({dir.file("a.y8m"), dir.file("b.y8m")}, {0.25, 0.75}, dir.file("ens"));
  EXPECT_EQ(path, dir.file("ens") + "/inference_model.y8m");
  const ArchiveModel merged(path), ma(dir.file("a.y8m")), mb(dir.file("b.y8m"));
  EXPECT_EQ(merged.archive().metadata.at("ensemble_weights"), "0.25,0.75");
  for (int64_t batch : {1, 3}) {
    const auto in = inputs_for(c, batch, 11);
    engine::Generator g1(5, 0), g2(5, 0);
    const Tensor got = merged.predict(in, g1);
    autograd::NoGradGuard ng;
    const Tensor pa = ma.predict(in, g2);
    const Tensor pb =
        mb.predict(in, g2);  // continues the generator, as member 1 does in the merged graph
    const Tensor want = ops::add(ops::mul_scalar(pa, 0.25), ops::mul_scalar(pb, 0.75));
    EXPECT_TRUE(bit_equal(got, want)) << "B=" << batch;
    EXPECT_EQ(g1.offset(), g2.offset());
  }
  // Member tensors are renamed under model_<i>/.
  bool found = false;
  for (const auto& name : merged.archive().graph.initializers)
    found |= name.rfind("model_1/", 0) == 0;
  EXPECT_TRUE(found);
}

TEST(Ensemble, Refusals) {
  testing::TempDir dir;
  const models::ModelConfig c = small_netvlad();
  export_model(*make_model(c, 1), dir.file("a.y8m"));
  models::ModelConfig other = c;
  other.num_classes = 6;
  export_model(*make_model(other, 1), dir.file("b.y8m"));
  EXPECT_NE(testing::error_of([&] {
              write_ensemble({dir.file("a.y8m"), dir.file("a.y8m")}, {0.5, 0.6}, dir.file("e1"));
            }).find("must sum to 1"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] {
              write_ensemble({dir.file("a.y8m")}, {0.5, 0.5}, dir.file("e2"));
            }).find("2 weights for 1 models"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] {
              write_ensemble({dir.file("a.y8m"), dir.file("b.y8m")}, {0.5, 0.5}, dir.file("e3"));
            }).find("num_classes"),
            std::string::npos);
  EXPECT_NE(testing::error_of([&] {
              write_ensemble({dir.file("a.y8m")}, {1.0}, dir.path());
            }).find("already exists"),
            std::string::npos);
  // A single member with weight 1 is a valid (if pointless) ensemble.
  EXPECT_NO_THROW(write_ensemble({dir.file("a.y8m")}, {1.0}, dir.file("e4")));
}

}  // namespace
}  // namespace y8m::pipeline
