#include "models/rnn.h"

#include "ops/elementwise/elementwise.h"
#include "ops/matmul/matmul.h"
#include "ops/reduce/reduce.h"
#include "ops/rnn/rnn.h"
#include "ops/sampling/frame_sampling.h"
#include "ops/shape/shape.h"

namespace y8m::models {

namespace {

const char* kind_name(RecurrentModel::Kind k) {
  switch (k) {
    case RecurrentModel::Kind::lstm_bidirect:
      return "Lstmbidirect";
    case RecurrentModel::Kind::gru_bidirect:
      return "GRUbidirect";
    case RecurrentModel::Kind::lstm_stack:
      return "LstmModel";
  }
  return "?";
}

const ModelConfig& checked(const ModelConfig& c, RecurrentModel::Kind kind) {
  validate(c);
  const char* m = kind_name(kind);
  Y8M_CHECK(c.frame_features, "{}: needs frame-level features (--frame_features)", m);
  Y8M_CHECK(c.lstm_cells > 0, "--lstm_cells: must be positive, got {}", c.lstm_cells);
  if (kind != RecurrentModel::Kind::lstm_stack) {
    Y8M_CHECK(c.lstm_cells % 2 == 0,
              "--lstm_cells: {} needs an even width (C/2 per direction), got {}", m, c.lstm_cells);
  } else {
    Y8M_CHECK(c.lstm_layers >= 1, "--lstm_layers: must be >= 1, got {}", c.lstm_layers);
  }
  Y8M_CHECK(!c.frame_shuffle || kind == RecurrentModel::Kind::lstm_bidirect,
            "--frame_shuffle: only Lstmbidirect shuffles frames (the original's other models "
            "ignore it), got --model={}",
            m);
  Y8M_CHECK(!c.gating || kind == RecurrentModel::Kind::gru_bidirect,
            "--gating: {} has no context gating (GRUbidirect has)", m);
  return c;
}

}  // namespace

RnnCellWeights make_rnn_cell(Scope& root, Initializer& init, const std::vector<std::string>& path,
                             int64_t index, int64_t in, int64_t hidden, bool gru) {
  // Scopes are created fresh along the path except where the previous call made the same prefix
  // (bidirectional_rnn is shared by fw and bw; rnn/multi_rnn_cell by the stack's cells).
  Scope* s = &root;
  std::vector<std::string> full = path;
  full.push_back("multi_rnn_cell");
  full.push_back("cell_" + std::to_string(index));
  full.push_back(gru ? "gru_cell" : "basic_lstm_cell");
  for (const std::string& name : full) {
    Scope* next = nullptr;
    for (const auto& [child_name, child] : s->named_children())
      if (child_name == name) next = dynamic_cast<Scope*>(child.get());
    if (next == nullptr) {
      next = s->add_module(name, std::make_shared<Scope>()).get();
    }
    s = next;
  }
  RnnCellWeights w;
  if (gru) {
    auto gates = s->add_module("gates", std::make_shared<Scope>());
    w.kernel = gates->add_parameter("kernel", init.xavier_uniform(in + hidden, 2 * hidden));
    w.bias = gates->add_parameter("bias", init.constant({2 * hidden}, 1.0));
    auto cand = s->add_module("candidate", std::make_shared<Scope>());
    w.candidate_kernel = cand->add_parameter("kernel", init.xavier_uniform(in + hidden, hidden));
    w.candidate_bias = cand->add_parameter("bias", init.constant({hidden}, 0.0));
  } else {
    w.kernel = s->add_parameter("kernel", init.xavier_uniform(in + hidden, 4 * hidden));
    w.bias = s->add_parameter("bias", init.constant({4 * hidden}, 0.0));
  }
  return w;
}

RecurrentModel::RecurrentModel(const ModelConfig& config, Initializer& init, Kind kind)
    : VideoModel(checked(config, kind)), kind_(kind) {
  const ModelConfig& c = this->config();
  const int64_t f = c.total_feature_size(), cells = c.lstm_cells;
  shuffle_ = c.frame_shuffle;
  const bool gru = kind == Kind::gru_bidirect;
  if (kind == Kind::lstm_stack) {
    for (int64_t i = 0; i < c.lstm_layers; ++i)
      cells_.push_back(make_rnn_cell(*this, init, {"rnn"}, i, i == 0 ? f : cells, cells, false));
  } else {
    cells_.push_back(make_rnn_cell(*this, init, {"bidirectional_rnn", "fw"}, 0, f, cells / 2, gru));
    cells_.push_back(make_rnn_cell(*this, init, {"bidirectional_rnn", "bw"}, 0, f, cells / 2, gru));
    cells_.push_back(make_rnn_cell(*this, init, {"rnn"}, 0, cells, cells, gru));
  }
  if (kind == Kind::gru_bidirect && c.gating)
    gating_.emplace(*this, init, cells, ContextGating::Variant::bias, c.gating_remove_diag,
                    "gating_weights_2", "gating_biases");
  head_ =
      make_head(c.video_level_classifier_model, *this, init, cells, c.num_classes, moe_options(c));
}

Tensor RecurrentModel::run(const RnnCellWeights& w, const Tensor& x, const Tensor& n, bool reverse,
                           const char* output) const {
  if (kind_ == Kind::gru_bidirect)
    return ops::gru(x, n, w.kernel, w.bias, w.candidate_kernel, w.candidate_bias, reverse, output);
  return ops::lstm(x, n, w.kernel, w.bias, reverse, output);
}

Tensor RecurrentModel::forward(const Tensor& inputs, const Tensor& num_frames_host,
                               engine::Generator& sampling) {
  const int64_t b = check_inputs(inputs, num_frames_host);
  Tensor x = inputs;
  const int64_t t = x.size(1), f = x.size(2);
  if (shuffle_) {
    const Tensor idx =
        ops::sample_frames(num_frames_host, t, t, ops::SampleMode::shuffle, sampling, x.device());
    x = ops::reshape(ops::gather_rows(ops::reshape(x, {b * t, f}), idx), {b, t, f});
  }
  Tensor feature;
  if (kind_ == Kind::lstm_stack) {
    for (size_t i = 0; i + 1 < cells_.size(); ++i)
      x = run(cells_[i], x, num_frames_host, false, "sequence");
    feature = run(cells_.back(), x, num_frames_host, false, "final_h");
  } else {
    const Tensor fw = run(cells_[0], x, num_frames_host, false, "sequence");
    const Tensor bw = run(cells_[1], x, num_frames_host, true, "sequence");
    const Tensor y = ops::concat({fw, bw}, 2);
    feature = run(cells_[2], y, num_frames_host, false,
                  kind_ == Kind::lstm_bidirect ? "final_c" : "final_h");
  }
  if (gating_) feature = gating_->forward(feature);
  return head_->forward(feature);
}

namespace {

// The checks of the two-stream models (video, audio frames).
void check_two_streams(const ModelConfig& c, const char* m) {
  validate(c);
  Y8M_CHECK(c.frame_features, "{}: needs frame-level features (--frame_features)", m);
  Y8M_CHECK(c.feature_sizes.size() == 2,
            "--feature_sizes: {} needs two streams (video, audio), got {} sizes", m,
            c.feature_sizes.size());
}

const ModelConfig& checked_branched(const ModelConfig& c) {
  const char* m = "GRUbidirect_branchedBN";
  check_two_streams(c, m);
  for (int64_t w : c.feature_sizes)
    Y8M_CHECK(w % 2 == 0,
              "--feature_sizes: {} needs even stream widths (half per direction), got {}", m, w);
  Y8M_CHECK(!c.gating, "--gating: {} with gating crashed in the original (SPEC §16); not supported",
            m);
  Y8M_CHECK(!c.frame_shuffle, "--frame_shuffle: only Lstmbidirect shuffles frames, got --model={}",
            m);
  return c;
}

}  // namespace

BranchedGruModel::BranchedGruModel(const ModelConfig& config, Initializer& init)
    : VideoModel(checked_branched(config)) {
  const ModelConfig& c = this->config();
  int64_t total = 0;
  for (size_t i = 0; i < 2; ++i) {
    const std::string s = i == 0 ? "video" : "audio";
    const int64_t w = c.feature_sizes[i];
    Stream st;
    st.input_bn = add_module(s + "_input_bn", std::make_shared<BatchNorm>(init, w));
    auto fc = add_module(s + "_fc", std::make_shared<Scope>());
    st.fc = fc->add_parameter("weights", init.xavier_uniform(w, w));
    st.cluster_bn = add_module(s + "_cluster_bn", std::make_shared<BatchNorm>(init, w));
    st.cells.push_back(
        make_rnn_cell(*this, init, {s, "bidirectional_rnn", "fw"}, 0, w, w / 2, true));
    st.cells.push_back(
        make_rnn_cell(*this, init, {s, "bidirectional_rnn", "bw"}, 0, w, w / 2, true));
    st.cells.push_back(make_rnn_cell(*this, init, {s, "rnn"}, 0, w, w, true));
    streams_.push_back(std::move(st));
    total += w;
  }
  head_ =
      make_head(c.video_level_classifier_model, *this, init, total, c.num_classes, moe_options(c));
}

Tensor BranchedGruModel::forward(const Tensor& inputs, const Tensor& num_frames_host,
                                 engine::Generator&) {
  check_inputs(inputs, num_frames_host);
  const Tensor& n = num_frames_host;
  std::vector<Tensor> finals;
  int64_t begin = 0;
  for (Stream& st : streams_) {
    const int64_t w = st.fc.size(0);
    Tensor z = ops::slice(inputs, 2, begin, begin + w);
    begin += w;
    z = ops::relu6(st.cluster_bn->forward(ops::matmul(st.input_bn->forward(z), st.fc)));
    auto gru = [&](const RnnCellWeights& cw, const Tensor& x, bool rev, const char* out) {
      return ops::gru(x, n, cw.kernel, cw.bias, cw.candidate_kernel, cw.candidate_bias, rev, out);
    };
    const Tensor y = ops::concat(
        {gru(st.cells[0], z, false, "sequence"), gru(st.cells[1], z, true, "sequence")}, 2);
    finals.push_back(gru(st.cells[2], y, false, "final_h"));
  }
  return head_->forward(ops::concat(finals, 1));
}

AttentionFramesModel::AttentionFramesModel(const ModelConfig& config, Initializer& init)
    : VideoModel(config) {
  const ModelConfig& c = this->config();
  check_two_streams(c, "attention_frames_v0");
  int64_t total = 0;
  for (size_t i = 0; i < 2; ++i) {
    const std::string s = i == 0 ? "video" : "audio";
    const int64_t w = c.feature_sizes[i];
    Stream st;
    st.input_bn = add_module(s + "_input_bn", std::make_shared<BatchNorm>(init, w));
    auto att = add_module(s + "_attention", std::make_shared<Scope>());
    st.attention = att->add_parameter("weights", init.xavier_uniform(w, 1));
    auto fc = add_module(s + "_fc", std::make_shared<Scope>());
    st.fc = fc->add_parameter("weights", init.xavier_uniform(w, 2 * w));
    st.cluster_bn = add_module(s + "_cluster_bn", std::make_shared<BatchNorm>(init, 2 * w));
    streams_.push_back(std::move(st));
    total += 2 * w;
  }
  head_ =
      make_head(c.video_level_classifier_model, *this, init, total, c.num_classes, moe_options(c));
}

Tensor AttentionFramesModel::forward(const Tensor& inputs, const Tensor& num_frames_host,
                                     engine::Generator&) {
  const int64_t b = check_inputs(inputs, num_frames_host);
  const int64_t t = inputs.size(1);
  std::vector<Tensor> pooled;
  int64_t begin = 0;
  for (Stream& st : streams_) {
    const int64_t w = st.fc.size(0);
    const Tensor z = st.input_bn->forward(ops::slice(inputs, 2, begin, begin + w));
    begin += w;
    const Tensor a = ops::softmax(ops::reshape(ops::matmul(z, st.attention), {b, t}));
    const Tensor f = ops::relu6(st.cluster_bn->forward(ops::matmul(z, st.fc)));
    pooled.push_back(ops::sum(ops::mul(f, ops::reshape(a, {b, t, 1})), 1));
  }
  return head_->forward(ops::concat(pooled, 1));
}

}  // namespace y8m::models
