// TensorFlow V2 checkpoint bundles (io/tf_bundle.h) on checkpoints written by tf.train.Saver
// (tools/make_tf_checkpoint_fixtures.py), and on damaged copies of them.
#include "io/tf_bundle.h"

#include "io/crc32c.h"

#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

namespace y8m::io {
namespace {

using testing::expect_error;
using testing::read_file;
using testing::TempDir;
using testing::write_file;

const std::string kFixtures = Y8M_TF_CHECKPOINT_FIXTURES;
const std::string kNetvlad = kFixtures + "/netvlad/model.ckpt-7";

TEST(TfBundle, ReadsTheSaversIndexAndTensors) {
  const TfBundle b(kNetvlad);
  EXPECT_EQ(b.num_shards(), 1);
  // 31 model tensors, their 31 EMA shadows, Adam's two slots of the 21 trainable ones (not the
  // 10 batch-norm statistics), beta1_power, beta2_power and global_step.
  EXPECT_EQ(b.entries().size(), 31u + 31u + 42u + 3u);
  EXPECT_TRUE(std::is_sorted(b.entries().begin(), b.entries().end(),
                             [](const auto& x, const auto& y) { return x.name < y.name; }));
  const TfBundleEntry* w = b.find("tower/hidden1_weights");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dtype, DType::f32);
  EXPECT_EQ(w->shape, (Shape{4 * 1024 + 2 * 128, 4}));
  EXPECT_EQ(b.find("tower/video_VLAD/cluster_weights2")->shape, (Shape{1, 1024, 4}));
  EXPECT_EQ(b.find("tower/nothing"), nullptr);
  const Tensor t = b.read("tower/hidden1_weights");
  EXPECT_EQ(t.shape(), w->shape);
  EXPECT_EQ(t.dtype(), DType::f32);
  const Tensor step = b.read("global_step");
  EXPECT_EQ(step.dtype(), DType::i64);
  EXPECT_EQ(step.item<int64_t>(), 7);
}

TEST(TfBundle, SameValuesInTwoCheckpoints) {
  // The fixture script copied the unquantized NetVLAD variables into the quantized checkpoint.
  const TfBundle a(kNetvlad);
  const TfBundle q(kFixtures + "/netvlad_quant/inference_model");
  for (const char* name : {"tower/input_bn/moving_variance", "tower/video_VLAD/cluster_weights",
                           "tower/gating_prob_weights"}) {
    const auto x = a.read(name).to_vector<float>();
    EXPECT_EQ(x, q.read(name).to_vector<float>()) << name;
    EXPECT_NE(x, a.read(std::string(name) + "/ExponentialMovingAverage").to_vector<float>());
  }
  // quant_uniform: u8 indices whose codebook spans min..max of the weights.
  const Tensor quants = q.read("tower/hidden1_weights_quants");
  EXPECT_EQ(quants.dtype(), DType::u8);
  EXPECT_EQ(quants.shape(), (Shape{4352, 4}));
  const auto qi = quants.to_vector<int>();
  EXPECT_EQ(*std::min_element(qi.begin(), qi.end()), 0);
  EXPECT_EQ(*std::max_element(qi.begin(), qi.end()), 255);
  const auto w = a.read("tower/hidden1_weights").to_vector<float>();
  const auto space = q.read("tower/hidden1_weights_space").to_vector<float>();
  EXPECT_EQ(space.front(), *std::min_element(w.begin(), w.end()));
  EXPECT_EQ(space.back(), *std::max_element(w.begin(), w.end()));
}

TEST(TfBundle, ReadsShardedBundles) {
  const TfBundle b(kFixtures + "/dbof/model.ckpt-3");
  EXPECT_EQ(b.num_shards(), 2);
  EXPECT_EQ(b.find("global_step")->shard, 1);
  EXPECT_EQ(b.find("tower/hidden1_weights")->shard, 0);
  EXPECT_EQ(b.read("global_step").item<int64_t>(), 3);
  EXPECT_EQ(b.read("tower/video_DBOF/dim_red").shape(), (Shape{16, 1024}));
  EXPECT_EQ(tf_bundle_shard_path("p/m", 1, 2), "p/m.data-00001-of-00002");
}

TEST(TfBundle, TableKeysAndHeader) {
  const std::string bytes = read_file(kNetvlad + ".index");
  const auto table = read_leveldb_table(bytes, "x.index");
  ASSERT_EQ(table.size(), 108u);  // the header and 107 tensors
  EXPECT_EQ(table.front().first, "");
  EXPECT_EQ(table[1].first, "beta1_power");
  EXPECT_EQ(table.back().first, "tower/video_VLAD/cluster_weights2/ExponentialMovingAverage");
}

// A copy of the NetVLAD bundle at <dir>/m, and the offsets of its table's blocks.
struct Copy {
  TempDir dir;
  std::string prefix = dir.file("m");
  std::string index_bytes = read_file(kNetvlad + ".index");
  std::string data_bytes = read_file(kNetvlad + ".data-00000-of-00001");
  uint64_t index_block_offset = 0, index_block_size = 0;

  Copy() {
    // Footer: metaindex handle, index handle (varints), padding, magic.
    size_t p = index_bytes.size() - 48;
    auto varint = [&] {
      uint64_t v = 0;
      for (int shift = 0;; shift += 7) {
        const auto b = static_cast<uint8_t>(index_bytes[p++]);
        v |= static_cast<uint64_t>(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
      }
    };
    varint();
    varint();
    index_block_offset = varint();
    index_block_size = varint();
    write();
  }
  void write() const {
    write_index();
    write_file(prefix + ".data-00000-of-00001", data_bytes);
  }
  void write_index() const { write_file(prefix + ".index", index_bytes); }
};

TEST(TfBundle, RefusesTruncatedIndexes) {
  Copy c;
  const std::string full = c.index_bytes;
  c.index_bytes = full.substr(0, 30);
  c.write();
  expect_error([&] { TfBundle b(c.prefix); }, {c.prefix + ".index", "too short"});
  c.index_bytes = full.substr(0, full.size() - 1);
  c.write();
  expect_error([&] { TfBundle b(c.prefix); }, {c.prefix + ".index", "table magic"});
  c.index_bytes = full.substr(full.size() / 2);  // the footer survives, its handles point outside
  c.write();
  expect_error([&] { TfBundle b(c.prefix); }, {c.prefix + ".index", "lies outside the table"});
}

TEST(TfBundle, RefusesCorruptBlocks) {
  Copy c;
  c.index_bytes[20] ^= 0x40;  // inside the first data block
  c.write();
  expect_error([&] { TfBundle b(c.prefix); },
               {c.prefix + ".index", "CRC mismatch in the data block"});
  Copy d;
  d.index_bytes[d.index_block_offset + 1] ^= 0x01;
  d.write();
  expect_error([&] { TfBundle b(d.prefix); }, {"CRC mismatch in the index block"});
}

TEST(TfBundle, RefusesCompressedBlocks) {
  Copy c;
  c.index_bytes[c.index_block_offset + c.index_block_size] = 1;  // the block type: snappy
  c.write();
  expect_error([&] { TfBundle b(c.prefix); }, {c.prefix + ".index", "snappy-compressed"});
  c.index_bytes[c.index_block_offset + c.index_block_size] = 7;
  c.write();
  expect_error([&] { TfBundle b(c.prefix); }, {"unknown compression type 7"});
}

TEST(TfBundle, ChecksEachTensorsCrc) {
  Copy c;
  const TfBundleEntry e = *TfBundle(kNetvlad).find("tower/hidden1_weights");
  c.data_bytes[e.offset + e.size / 2] ^= 0x10;
  c.write();
  const TfBundle b(c.prefix);  // opening does not read tensor bytes
  expect_error(
      [&] { b.read("tower/hidden1_weights"); },
      {c.prefix + ".data-00000-of-00001", "CRC mismatch in tensor 'tower/hidden1_weights'"});
  EXPECT_EQ(b.read("tower/hidden1_biases").numel(), 4);  // the others still read
  expect_error([&] { b.read("tower/missing"); },
               {c.prefix + ".index", "no tensor 'tower/missing'"});
}

TEST(TfBundle, RefusesMissingOrTruncatedData) {
  Copy c;
  c.data_bytes.resize(c.data_bytes.size() - 4);
  c.write();
  expect_error([&] { TfBundle b(c.prefix); },
               {c.prefix + ".data-00000-of-00001", "lies outside the data file", "truncated?"});
  std::filesystem::remove(c.prefix + ".data-00000-of-00001");
  expect_error([&] { TfBundle b(c.prefix); }, {c.prefix + ".data-00000-of-00001"});
  expect_error([&] { TfBundle b(c.dir.file("none")); }, {c.dir.file("none.index")});
}

// Opens the bundle and reads every tensor; returns "" or the y8m::Error's message, and fails the
// test on any other exception.
std::string open_and_read(const std::string& prefix) {
  try {
    const TfBundle b(prefix);
    for (const auto& e : b.entries())
      if (e.dtype) b.read(e.name);
    return "";
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a y8m::Error: " << e.what();
    return e.what();
  }
}

TEST(TfBundle, EveryDamagedIndexByteIsAnErrorOrHarmless) {
  Copy c;
  const std::string original = c.index_bytes;
  // The first data block's handle: the index block's first entry (shared 0, key length, value
  // length, key, then the handle's varints).
  size_t p = c.index_block_offset;
  auto varint = [&] {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      const auto b = static_cast<uint8_t>(original[p++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  varint();
  const uint64_t key = varint();
  varint();
  p += key;
  const uint64_t data_offset = varint(), data_size = varint();
  // A flipped byte inside a block with the block's CRC recomputed reaches the entry and proto
  // parsers; elsewhere the CRCs, bounds or magic catch it (footer padding is harmless).
  auto fix_crc = [&](uint64_t offset, uint64_t size) {
    const uint32_t crc = crc32c_mask(crc32c_extend(crc32c(c.index_bytes.data() + offset, size),
                                                   c.index_bytes.data() + offset + size, 1));
    std::memcpy(&c.index_bytes[offset + size + 1], &crc, 4);
  };
  size_t errors = 0;
  for (size_t i = 0; i < original.size(); i += 2) {  // every other byte: keeps the test short
    for (const bool recrc : {false, true}) {
      c.index_bytes = original;
      c.index_bytes[i] = static_cast<char>(c.index_bytes[i] ^ 0x5a);
      if (recrc) {
        if (i >= data_offset && i < data_offset + data_size) {
          fix_crc(data_offset, data_size);
        } else if (i >= c.index_block_offset && i < c.index_block_offset + c.index_block_size) {
          fix_crc(c.index_block_offset, c.index_block_size);
        } else {
          continue;
        }
      }
      c.write_index();
      if (!open_and_read(c.prefix).empty()) ++errors;
    }
  }
  EXPECT_GT(errors, original.size() / 2);  // most flips are caught
  c.index_bytes = original;
  for (size_t n = 0; n < original.size(); n += 7) {  // truncations
    c.index_bytes = original.substr(0, n);
    c.write_index();
    EXPECT_NE(open_and_read(c.prefix), "") << n;
  }
}

}  // namespace
}  // namespace y8m::io
