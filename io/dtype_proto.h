// The engine's DType <-> the DType enum of io/proto/container.proto (graph.proto uses it too), both
// directions in one place: container tensor tables (io/container.cpp) and archive graph inputs
// (pipeline/) use it.
#pragma once
#include "io/io_layer.h"

#include "engine/tensor.h"
#include "io/proto/container.pb.h"

#include <optional>

namespace y8m::io {

// DTYPE_UNSPECIFIED for a value outside the enum.
proto::DType dtype_to_proto(DType t);
// nullopt for an unknown or unspecified value (`t` as read from the wire: any int).
std::optional<DType> dtype_from_proto(int t);

}  // namespace y8m::io
