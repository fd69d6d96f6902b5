// Label losses (SPEC §6.2) against hand-computed values and finite differences, and the TensorBoard
// event files the trainer writes (read back as TensorFlow Event protos).
#include "pipeline/losses.h"
#include "autograd/gradcheck.h"
#include "engine/error.h"
#include "io/events.h"
#include "io/proto/event.pb.h"
#include "io/tfrecord.h"
#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

namespace y8m::pipeline {
namespace {

Tensor t64(std::vector<double> v, Shape s) { return Tensor::from_vector<double>(v, s); }

TEST(Losses, HandComputedValues) {
  const Tensor p = t64({0.9, 0.2, 0.4, 0.6}, {2, 2});
  const Tensor y = t64({1, 0, 0, 1}, {2, 2});
  // Cross-entropy with eps 1e-5, mean over the batch of the sum over classes.
  const double ce =
      -(std::log(0.9 + 1e-5) + std::log(0.8 + 1e-5) + std::log(0.6 + 1e-5) + std::log(0.6 + 1e-5)) /
      2;
  EXPECT_NEAR(label_loss("CrossEntropyLoss", p, y).item<double>(), ce, 1e-12);
  // Hinge: max(0, 1 - (2y - 1) p): (0.1 + 1.2 + 1.4 + 0.4) / 2.
  EXPECT_NEAR(label_loss("HingeLoss", p, y).item<double>(), (0.1 + 1.2 + 1.4 + 0.4) / 2, 1e-12);
  // Softmax over the probabilities, labels normalized per video.
  auto lsm = [](double a, double b) { return a - std::log(std::exp(a) + std::exp(b)); };
  const double sm = -(lsm(0.9, 0.2) + lsm(0.6, 0.4)) / 2;
  EXPECT_NEAR(label_loss("SoftmaxLoss", p, y).item<double>(), sm, 1e-12);
  // A video without labels contributes 0 to the softmax loss (normalizer floored at 1e-7).
  const Tensor y0 = t64({0, 0, 0, 1}, {2, 2});
  EXPECT_NEAR(label_loss("SoftmaxLoss", p, y0).item<double>(), -lsm(0.6, 0.4) / 2, 1e-12);
}

TEST(Losses, Gradcheck) {
  for (const std::string name : {"CrossEntropyLoss", "HingeLoss", "SoftmaxLoss"}) {
    Tensor p = t64({0.9, 0.2, 0.35, 0.6, 0.1, 0.7}, {2, 3});
    const Tensor y = t64({1, 0, 1, 0, 0, 1}, {2, 3});
    autograd::set_requires_grad(p, true);
    const auto r = autograd::gradcheck(
        [&](const std::vector<Tensor>& in) { return label_loss(name, in[0], y); }, {p});
    EXPECT_TRUE(r.ok) << name << ": " << r.message;
  }
}

TEST(Losses, UnknownNameIsAnError) {
  try {
    check_label_loss_name("L1Loss");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--label_loss"), std::string::npos);
  }
}

TEST(Events, ScalarsReadBackAsTensorFlowEvents) {
  testing::TempDir d;
  std::string path;
  {
    io::EventWriter w(d.path());
    w.scalar("model/loss", 1.5, 10);
    w.scalar("model/gap", 0.25, 20);
    path = w.path();
  }
  EXPECT_NE(path.find("events.out.tfevents."), std::string::npos);
  io::RecordReader r(path);
  std::string_view rec;
  std::vector<tensorflow::Event> events;
  while (r.next(&rec)) {
    tensorflow::Event e;
    ASSERT_TRUE(e.ParseFromArray(rec.data(), static_cast<int>(rec.size())));
    events.push_back(e);
  }
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  EXPECT_EQ(events[1].step(), 10);
  EXPECT_EQ(events[1].summary().value(0).tag(), "model/loss");
  EXPECT_EQ(events[1].summary().value(0).simple_value(), 1.5f);
  EXPECT_EQ(events[2].summary().value(0).simple_value(), 0.25f);
  EXPECT_GT(events[2].wall_time(), 1.6e9);
}

}  // namespace
}  // namespace y8m::pipeline
