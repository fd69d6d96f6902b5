// y8m-demo: trains a small frame-level classifier with the engine on a built-in synthetic
// multi-label problem shaped like YouTube-8M in miniature (uint8 frames, padding, multi-hot
// labels), and prints the loss going down. It exercises the path every real model takes: fused
// frame preparation, pooling over valid frames, matmul layers, sigmoid probabilities, the
// cross-entropy of SPEC §6.2 and TF-form Adam with per-tensor clipping. Exit status 1 if the loss
// did not fall by half.
#include "apps/common/flags.h"
#include "autograd/module.h"
#include "autograd/optim.h"
#include "engine/rng.h"
#include "ops/ops.h"

#include <absl/flags/flag.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

ABSL_FLAG(int, steps, 300, "training steps");
ABSL_FLAG(int, batch_size, 64, "videos per batch");
ABSL_FLAG(int, num_classes, 32, "classes in the synthetic vocabulary");
ABSL_FLAG(int, feature_size, 64, "features per frame");
ABSL_FLAG(int, max_frames, 24, "frame slots per video");
ABSL_FLAG(int, hidden_size, 128, "hidden units");
ABSL_FLAG(double, base_learning_rate, 0.005, "Adam learning rate");
ABSL_FLAG(double, clip_gradient_norm, 1.0, "per-tensor gradient clipping (0 = off)");
ABSL_FLAG(uint64_t, seed, 1, "seed for data and initialization");
ABSL_FLAG(std::string, device, "", "cpu, cuda or cuda:N (default: cuda when present)");

namespace y8m {
namespace {

using autograd::Module;

// The synthetic task: each class has a prototype direction; a video's frames are the sum of its
// labels' prototypes plus noise, quantized like YouTube-8M features (clip to [-2, 2], 8 bits).
struct Task {
  int classes, features, frames;
  std::vector<float> prototypes;  // [classes, features]
};

struct Batch {
  Tensor frames;      // u8 [B, T, F]
  Tensor num_frames;  // i32 [B]
  Tensor labels;      // f32 [B, V] multi-hot
};

Batch make_batch(const Task& task, int batch, engine::Generator& gen) {
  const int B = batch, T = task.frames, F = task.features, V = task.classes;
  Tensor u = Tensor::empty({B, 4});
  engine::fill_uniform(u, gen);
  Tensor noise = Tensor::empty({B, T, F});
  engine::fill_normal(noise, gen, 0.0, 0.5);
  Batch b{Tensor::zeros({B, T, F}, DType::u8), Tensor::empty({B}, DType::i32),
          Tensor::zeros({B, V})};
  const float* up = u.data<float>();
  for (int i = 0; i < B; ++i) {
    // 1-2 labels, a long-tailed class choice (u^2 favours small class ids).
    const int n_labels = up[4 * i] < 0.6f ? 1 : 2;
    int labels[2];
    for (int l = 0; l < n_labels; ++l) {
      const float v = up[4 * i + 1 + l];
      labels[l] = std::min(V - 1, static_cast<int>(v * v * V));
      b.labels.data<float>()[i * V + labels[l]] = 1.f;
    }
    const int n = 1 + static_cast<int>(up[4 * i + 3] * T);  // 1..T valid frames
    b.num_frames.data<int32_t>()[i] = std::min(n, T);
    for (int t = 0; t < std::min(n, T); ++t) {
      for (int f = 0; f < F; ++f) {
        float x = noise.data<float>()[(static_cast<int64_t>(i) * T + t) * F + f];
        for (int l = 0; l < n_labels; ++l)
          x += task.prototypes[static_cast<size_t>(labels[l] * F + f)];
        const float q =
            std::nearbyint((std::clamp(x, -2.f, 2.f) - ops::kDequantBias) / ops::kDequantScale);
        b.frames.data<uint8_t>()[(static_cast<int64_t>(i) * T + t) * F + f] =
            static_cast<uint8_t>(std::clamp(q, 0.f, 255.f));
      }
    }
  }
  return b;
}

// Mean of the valid frames -> hidden ReLU layer -> logistic head.
class DemoModel : public Module {
 public:
  DemoModel(int F, int H, int V, engine::Generator& gen) {
    w1_ = register_parameter("hidden1_weights", xavier({F, H}, gen));
    b1_ = register_parameter("hidden1_biases", Tensor::zeros({H}));
    w2_ = register_parameter("logistic_weights", xavier({H, V}, gen));
    b2_ = register_parameter("logistic_biases", Tensor::zeros({V}));
  }
  Tensor forward(const Tensor& frames, const Tensor& num_frames) const {
    Tensor x = ops::prepare_frames(frames, num_frames);  // [B, T, F], padding = 0
    Tensor n = num_frames.to(Device::cpu()).to(DType::f32);
    n = Tensor::from_vector(clamp_min1(n.to_vector<float>()), {n.numel(), 1}).to(frames.device());
    Tensor pooled = ops::div(ops::sum(x, 1), n);  // mean over valid frames
    Tensor h = ops::relu(ops::add(ops::matmul(pooled, w1_), b1_));
    return ops::sigmoid(ops::add(ops::matmul(h, w2_), b2_));
  }

 private:
  static std::vector<float> clamp_min1(std::vector<float> v) {
    for (float& x : v) x = std::max(x, 1.f);
    return v;
  }
  static Tensor xavier(const Shape& s, engine::Generator& gen) {
    Tensor w = Tensor::empty(s);
    const double r = std::sqrt(6.0 / static_cast<double>(s[0] + s[1]));
    engine::fill_uniform(w, gen, -r, r);
    return w;
  }
  Tensor w1_, b1_, w2_, b2_;
};

double hit_at_one(const Tensor& probs, const Tensor& labels) {
  const std::vector<float> p = probs.to_vector<float>(), y = labels.to_vector<float>();
  const int64_t B = probs.size(0), V = probs.size(1);
  double hits = 0;
  for (int64_t i = 0; i < B; ++i) {
    const auto row = p.begin() + i * V;
    hits += y[static_cast<size_t>(i * V + (std::max_element(row, row + V) - row))];
  }
  return hits / static_cast<double>(B);
}

int run() {
  const std::string dev_name = absl::GetFlag(FLAGS_device);
  const Device device =
      dev_name.empty() ? engine::default_device() : engine::device_from_name(dev_name);
  const int steps = absl::GetFlag(FLAGS_steps), B = absl::GetFlag(FLAGS_batch_size);
  Y8M_CHECK(steps > 0 && B > 0, "--steps and --batch_size must be positive");
  engine::Generator gen(absl::GetFlag(FLAGS_seed));
  Task task{absl::GetFlag(FLAGS_num_classes),
            absl::GetFlag(FLAGS_feature_size),
            absl::GetFlag(FLAGS_max_frames),
            {}};
  Tensor protos = Tensor::empty({task.classes, task.features});
  engine::fill_normal(protos, gen, 0.0, 0.6);
  task.prototypes = protos.to_vector<float>();

  DemoModel model(task.features, absl::GetFlag(FLAGS_hidden_size), task.classes, gen);
  model.to(device);
  autograd::AdamOptions opt;
  opt.clip_norm = absl::GetFlag(FLAGS_clip_gradient_norm);
  autograd::Adam adam(model.named_parameters(), opt);
  fmt::print("y8m-demo: {} parameters on {}, {} classes, {} features x {} frames, batch {}\n",
             model.num_parameter_elements(), device.str(), task.classes, task.features, task.frames,
             B);

  double first_loss = -1, last_loss = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int step = 1; step <= steps; ++step) {
    Batch batch = make_batch(task, B, gen);
    Tensor labels = batch.labels.to(device);
    Tensor probs = model.forward(batch.frames.to(device), batch.num_frames.to(device));
    Tensor loss = ops::sigmoid_cross_entropy(probs, labels);
    model.zero_grad();
    autograd::backward(loss);
    adam.step(absl::GetFlag(FLAGS_base_learning_rate));
    last_loss = loss.item<float>();
    if (first_loss < 0) first_loss = last_loss;
    if (step == 1 || step % 25 == 0 || step == steps) {
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      fmt::print("step {:4d}  loss {:8.4f}  hit@1 {:.3f}  {:8.0f} examples/s\n", step, last_loss,
                 hit_at_one(probs, batch.labels), step * static_cast<double>(B) / secs);
      std::fflush(stdout);
    }
  }
  const bool ok = last_loss < 0.5 * first_loss;
  fmt::print("y8m-demo: loss {:.4f} -> {:.4f} ({})\n", first_loss, last_loss,
             ok ? "learned" : "did NOT fall by half");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace y8m

int main(int argc, char** argv) {
  y8m::apps::parse_flags(argc, argv,
                         "Trains a small classifier on synthetic YouTube-8M-like data.");
  return y8m::apps::run_app("y8m-demo", y8m::run);
}
