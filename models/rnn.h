// The recurrent models of the original (frame_level_models.py; SPEC §3.4, §3.5, §3.6, §16.10) on
// the ops of ops/rnn/rnn.h. They read all T frame slots with sequence_length = num_frames (no
// sampling); the lengths are clipped inside the ops, so a traced graph recomputes them.
//
// TF cells used by the original (SPEC §2.5, §3.4-3.5):
//   Lstmbidirect: BasicLSTMCell (forget_bias 1.0) in MultiRNNCell([cell]) for each of fw, bw and
//                 the second layer: lstm op, kernel [in+H, 4H] blocks (i, j, f, o), bias [4H] = 0.
//   GRUbidirect:  GRUCell in MultiRNNCell([cell]): gru op, gates kernel [in+H, 2H] (r, u) with bias
//                 1.0, candidate kernel [in+H, H] with bias 0.
//   LstmModel:    Google's MultiRNNCell of --lstm_layers BasicLSTMCell(C, forget_bias 1.0).
// Kernels are Glorot uniform (tf.get_variable's default).
//
// Lstmbidirect / GRUbidirect with C = --lstm_cells:
//   (Lstmbidirect with --frame_shuffle: X's valid frames permuted per video, sample_frames shuffle)
//   Y = concat(fw(X), bw(X)) [B, T, C]   fw, bw: C/2 wide; bw runs reversed within each length
//   feature = second(Y) [B, C]           Lstmbidirect: final cell state c; GRUbidirect: final h
//   (GRUbidirect with --gating: CG-bias context gating, SPEC §2.4)
//   p = head(feature)                    --video_level_classifier_model, LogisticModel or MoeModel
// Variables (SPEC §2.5, without "tower/"), creation order fw, bw, second, gating, head:
//   bidirectional_rnn/{fw,bw}/multi_rnn_cell/cell_0/basic_lstm_cell/{kernel,bias}
//   rnn/multi_rnn_cell/cell_0/basic_lstm_cell/{kernel,bias}
//   GRU: .../cell_0/gru_cell/{gates,candidate}/{kernel,bias}
// LstmModel: rnn/multi_rnn_cell/cell_<i>/basic_lstm_cell/{kernel,bias} for i < --lstm_layers,
// feature = the top layer's final h.
//
// The original's MoE head crashed on Lstmbidirect and LstmModel in training (is_training not
// forwarded, SPEC §16.10); here every head gets the same call, so MoeModel works on all three.
#pragma once
#include "models/models_layer.h"

#include "models/heads.h"
#include "models/layers.h"
#include "models/video_model.h"

#include <memory>
#include <optional>
#include <vector>

namespace y8m::models {

// One TF RNN cell's variables at the cell's scope: LSTM kernel/bias, or GRU gates and candidate.
struct RnnCellWeights {
  Tensor kernel, bias;                      // LSTM; GRU gates
  Tensor candidate_kernel, candidate_bias;  // GRU only
};

// Creates one cell's variables under root/<path...>/multi_rnn_cell/cell_<index>/<basic_lstm_cell or
// gru_cell>, reusing scopes that already exist along the path (fw and bw share bidirectional_rnn).
RnnCellWeights make_rnn_cell(Scope& root, Initializer& init, const std::vector<std::string>& path,
                             int64_t index, int64_t in, int64_t hidden, bool gru);

class RecurrentModel : public VideoModel {
 public:
  enum class Kind { lstm_bidirect, gru_bidirect, lstm_stack };
  RecurrentModel(const ModelConfig& config, Initializer& init, Kind kind);
  Tensor forward(const Tensor& inputs, const Tensor& num_frames_host,
                 engine::Generator& sampling) override;
  Tensor regularization_loss() override { return head_->regularization_loss(); }
  bool frame_level() const override { return true; }
  // Only Lstmbidirect with --frame_shuffle draws (one sample_frames shuffle call per forward).
  bool samples_frames() const override { return shuffle_; }

 private:
  Tensor run(const RnnCellWeights& w, const Tensor& x, const Tensor& n, bool reverse,
             const char* output) const;

  Kind kind_;
  bool shuffle_ = false;
  std::vector<RnnCellWeights> cells_;  // fw, bw, second (bidirect) or the stack's layers
  std::optional<ContextGating> gating_;
  std::unique_ptr<Head> head_;
};

// GRUbidirect_branchedBN (SPEC §3.6, runme "GRU_BN_dualpath"), per stream s (video = the first
// --feature_sizes entry, audio = the second, widths Fs = 1024 and 128):
//   z = relu6(BN_{s_cluster_bn}(BN_{s_input_bn}(X_s) · W_s))   3-D batch norms over B x T, padding
//                                                              included (SPEC §2.1); W_s [Fs, Fs]
//                                                              "s_fc/weights", Xavier, no bias
//   h_s = GRU(Fs) over concat(fw GRU(Fs/2), bw GRU(Fs/2)) of z, final h (scope "s/...", as
//         GRUbidirect's variables)
//   p = head(concat(h_video, h_audio))                         [B, 1152]
// The stream width is the recurrent width, as SPEC §3.6 gives it (C = 1024 and 128); --lstm_cells is
// not read. The FC's variable name is y8m's (SPEC does not record it). --gating is refused (the
// original crashed, SPEC §16); the original forwarded no is_training, so only LogisticModel ran
// there; MoeModel works here.
class BranchedGruModel : public VideoModel {
 public:
  BranchedGruModel(const ModelConfig& config, Initializer& init);
  Tensor forward(const Tensor& inputs, const Tensor& num_frames_host,
                 engine::Generator& sampling) override;
  Tensor regularization_loss() override { return head_->regularization_loss(); }
  bool frame_level() const override { return true; }

 private:
  struct Stream {
    std::shared_ptr<BatchNorm> input_bn, cluster_bn;
    Tensor fc;
    std::vector<RnnCellWeights> cells;  // fw, bw, second
  };
  std::vector<Stream> streams_;
  std::unique_ptr<Head> head_;
};

// attention_frames_v0 (SPEC §3.6; devel_models, not in the final configs), per stream s (video,
// audio; widths Fs = 1024, 128):
//   z = BN_{s_input_bn}(X_s)                         3-D batch norm over B x T, padding included
//   a = softmax over all T slots of z · w_s           w_s [Fs, 1] "s_attention/weights", no bias;
//                                                     padding slots are NOT masked (as the original)
//   f = relu6(BN_{s_cluster_bn}(z · W_s))            W_s [Fs, 2Fs] "s_fc/weights", no bias
//   d_s = sum_t a_t f_t                               [B, 2Fs]
//   p = head(concat(d_video, d_audio))               [B, 2304]
// The variable names are y8m's (SPEC does not record them). Not recurrent: it shares this file with
// the other frame models that read all T slots.
class AttentionFramesModel : public VideoModel {
 public:
  AttentionFramesModel(const ModelConfig& config, Initializer& init);
  Tensor forward(const Tensor& inputs, const Tensor& num_frames_host,
                 engine::Generator& sampling) override;
  Tensor regularization_loss() override { return head_->regularization_loss(); }
  bool frame_level() const override { return true; }

 private:
  struct Stream {
    std::shared_ptr<BatchNorm> input_bn, cluster_bn;
    Tensor attention, fc;
  };
  std::vector<Stream> streams_;
  std::unique_ptr<Head> head_;
};

}  // namespace y8m::models
