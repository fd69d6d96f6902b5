// The executor (DESIGN.md §4): runs a graph's nodes in order on one device (CPU or CUDA) by calling
// the public op functions, so a graph computes exactly what the traced eager code computed (bit for
// bit on the CPU, given the same generator state). It needs no model code.
//
// Before anything runs, the graph is validated (validate()): every op is known, every node reads
// values that exist at that point (graph inputs, initializers, earlier outputs), no value is
// written twice, every attribute an op needs is present with the right type and no unknown one is,
// and the graph's outputs exist. Errors are y8m::Error naming the node, op, value or attribute.
//
// Running: graph inputs may be on the host or the device (they are copied to the device; ops that
// read num_frames on the host get the host tensor); every -1 dimension is the batch and must agree
// across inputs. Each intermediate value is released right after its last use. sample_frames nodes
// draw from the generator in node order, as the eager forward did.
#pragma once
#include "ops/ops_layer.h"

#include "engine/rng.h"
#include "engine/tensor.h"
#include "ops/graph/graph.h"

#include <map>
#include <string>
#include <vector>

namespace y8m::ops::graph {

// Throws naming the first problem (see above).
void validate(const Graph& graph);

// The ops the executor knows: every op of ops/op_list.h (tests/graph checks it).
std::vector<std::string> executable_ops();

struct RunStats {
  int64_t nodes = 0;
  int64_t peak_live_values = 0;  // intermediates alive at once (after frees)
};

class Executor {
 public:
  // Validates the graph, checks that every initializer it names is given (extra tensors are
  // ignored) and places them on `device` (a CPU view is used as is: no copy). An f16 initializer
  // is widened to f32 here, once (f16 is only a storage format of archives: SPEC §11 float16, which
  // the original cast back to f32 in the graph); the graph's nodes always see f32.
  Executor(Graph graph, const NamedTensors& initializers, Device device = Device::cpu());

  // Runs the graph. `inputs` must hold exactly the graph inputs, with their dtypes and shapes.
  // Returns the graph outputs by name, on the executor's device.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs,
                                    engine::Generator& gen, RunStats* stats = nullptr) const;

  const Graph& graph() const { return graph_; }
  Device device() const { return device_; }

 private:
  struct Step {
    size_t op;                            // index into the op table
    std::vector<int64_t> inputs;          // value ids (-1: absent optional input)
    std::vector<int64_t> outputs;         // value ids
    std::vector<int64_t> release;         // intermediates whose last use is this step
    std::vector<int64_t> release_inputs;  // graph inputs (device copies) last used here
  };

  Graph graph_;
  Device device_;
  std::vector<std::string> value_names_;  // id -> name
  std::vector<Tensor> constants_;         // id -> initializer on the device (undefined otherwise)
  std::vector<Tensor> host_constants_;    // id -> integer initializer given on the host (indices)
  std::vector<int64_t> input_ids_;        // graph inputs, in graph order
  std::vector<int64_t> output_ids_;
  std::vector<Step> steps_;
};

}  // namespace y8m::ops::graph
