// y8m-inspect: looks inside y8m archives and checkpoints (tensor table, config, size against the 1
// GB limit, CRCs) and inside YouTube-8M TFRecord files. For every file: the record count and, with
// --verify (default), every CRC checked; then one example's keys, types, shapes and labels.
//   y8m-inspect /data/frame/train0000.tfrecord
//   y8m-inspect --json --example=3 '/data/frame/validate*.tfrecord'
// Exit status 1 if a file is corrupt or unreadable (the message names the file, record and offset).
#include "apps/common/flags.h"
#include "io/container.h"
#include "io/proto/example.pb.h"
#include "io/reader.h"
#include "io/tfrecord.h"
#include "ops/graph/graph.h"
#include "pipeline/archive.h"
#include "pipeline/graph_proto.h"

#include <absl/flags/flag.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

ABSL_FLAG(bool, json, false, "print one JSON object instead of text");
ABSL_FLAG(bool, verify, true, "check every record's (or tensor's) CRC");
ABSL_FLAG(int64_t, example, 0, "index of the example to describe (in the first file)");

namespace {

std::string json_str(std::string_view s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      o += fmt::format("\\u{:04x}", c);
    } else {
      o += static_cast<char>(c);
    }
  }
  return o + "\"";
}

// One feature, described as {"type": ..., "values"/"count"/"bytes": ...}.
std::string describe(const tensorflow::Feature& f, bool show_values) {
  if (f.has_bytes_list()) {
    const auto& v = f.bytes_list().value();
    std::string s = fmt::format("{{\"type\": \"bytes_list\", \"count\": {}", v.size());
    if (v.size() > 0) s += fmt::format(", \"bytes\": {}", v.Get(0).size());
    if (show_values && v.size() > 0) s += fmt::format(", \"first\": {}", json_str(v.Get(0)));
    return s + "}";
  }
  if (f.has_float_list()) {
    const auto& v = f.float_list().value();
    std::string s = fmt::format("{{\"type\": \"float_list\", \"count\": {}", v.size());
    if (show_values && v.size() > 0)
      s += fmt::format(", \"first\": [{}]",
                       fmt::join(v.begin(), v.begin() + std::min(v.size(), 5), ", "));
    return s + "}";
  }
  if (f.has_int64_list()) {
    const auto& v = f.int64_list().value();
    return fmt::format("{{\"type\": \"int64_list\", \"count\": {}, \"values\": [{}]}}", v.size(),
                       fmt::join(v.begin(), v.end(), ", "));
  }
  return "{\"type\": \"empty\"}";
}

struct FileReport {
  std::string path;
  int64_t records = 0;
  uint64_t bytes = 0;
};

bool is_container(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char magic[8] = {};
  f.read(magic, 8);
  return f.gcount() == 8 && std::memcmp(magic, "Y8MCONT", 8) == 0;
}

// A .y8m name promises an archive or checkpoint: anything else is an error, not a TFRecord file
// of "0 records".
void check_y8m_name(const std::string& path) {
  if (path.size() < 4 || path.compare(path.size() - 4, 4, ".y8m") != 0 || is_container(path))
    return;
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  Y8M_CHECK(ec || size > 0, "{}: not a y8m archive or checkpoint (empty file)", path);
  Y8M_FAIL("{}: not a y8m archive or checkpoint (no Y8MCONT magic at its start{})", path,
           ec ? ": " + ec.message() : "");
}

// Archives and checkpoints: versions, kind, config, provenance, tensor table, size against the 1 GB
// competition limit (SPEC §10); --verify checks every tensor's CRC.
int inspect_container(const std::string& path, bool json, bool verify) {
  const y8m::io::Container c(path);
  std::string crc = "not checked";
  if (verify) {
    c.verify();
    crc = "ok";
  }
  constexpr uint64_t kLimit = 1000000000ull;  // "under 1 GB" (README_original)
  std::vector<std::string> rows, cfg, meta;
  uint64_t tensor_bytes = 0;
  for (const auto& t : c.tensors()) {
    tensor_bytes += t.tensor.nbytes();
    rows.push_back(fmt::format(
        "{{\"name\": {}, \"dtype\": \"{}\", \"shape\": [{}], \"bytes\": {}{}}}", json_str(t.name),
        y8m::engine::dtype_name(t.tensor.dtype()), fmt::join(t.tensor.shape(), ", "),
        t.tensor.nbytes(), t.codebook.empty() ? "" : ", \"codebook\": " + json_str(t.codebook)));
  }
  for (const auto& kv : c.model_config())
    cfg.push_back(fmt::format("{}: {}", json_str(kv.first), json_str(kv.second)));
  for (const auto& kv : c.metadata())
    meta.push_back(fmt::format("{}: {}", json_str(kv.first), json_str(kv.second)));
  // Graph summary: node count per op, inputs and outputs.
  std::string graph_summary;
  std::vector<std::string> op_counts;
  if (!c.graph().empty()) {
    const y8m::ops::graph::Graph g = y8m::pipeline::parse_graph(c.graph(), path);
    std::map<std::string, int> ops;
    for (const auto& n : g.nodes) ++ops[n.op];
    for (const auto& kv : ops)
      op_counts.push_back(fmt::format("{}: {}", json_str(kv.first), kv.second));
    std::vector<std::string> ins;
    for (const auto& in : g.inputs)
      ins.push_back(fmt::format("{} {}{}", in.name, y8m::engine::dtype_name(in.dtype),
                                y8m::ops::graph::shape_pattern_str(in.shape)));
    graph_summary = fmt::format("{} nodes; inputs {}; outputs {}", g.nodes.size(),
                                fmt::join(ins, ", "), fmt::join(g.outputs, ", "));
  }
  if (json) {
    fmt::print(
        "{{\"path\": {}, \"format_version\": \"{}.{}\", \"kind\": \"{}\", \"file_bytes\": {}, "
        "\"tensor_bytes\": {}, "
        "\"under_1gb_limit\": {}, \"crc\": \"{}\", \"graph_bytes\": {}, \"graph_ops\": {{{}}}, "
        "\"model_config\": {{{}}}, "
        "\"metadata\": {{{}}}, \"tensors\": [{}]}}\n",
        json_str(path), c.major_version(), c.minor_version(), c.kind(), c.file_size(), tensor_bytes,
        c.file_size() < kLimit ? "true" : "false", crc, c.graph().size(),
        fmt::join(op_counts, ", "), fmt::join(cfg, ", "), fmt::join(meta, ", "),
        fmt::join(rows, ", "));
    return 0;
  }
  fmt::print("{}: y8m {} (format {}.{}), {} bytes ({:.1f} MiB; {} the 1 GB limit), CRCs {}\n", path,
             c.kind(), c.major_version(), c.minor_version(), c.file_size(),
             c.file_size() / 1048576.0, c.file_size() < kLimit ? "under" : "OVER", crc);
  for (const auto& kv : c.model_config()) fmt::print("  config   {} = {}\n", kv.first, kv.second);
  for (const auto& kv : c.metadata()) fmt::print("  metadata {} = {}\n", kv.first, kv.second);
  if (!c.graph().empty()) {
    fmt::print("  graph    {} ({} bytes)\n", graph_summary, c.graph().size());
    fmt::print("  ops      {}\n", fmt::join(op_counts, ", "));
  }
  for (const auto& t : c.tensors())
    fmt::print("  tensor   {:<48} {:>4} {:<22} {:>12} bytes{}\n", t.name,
               y8m::engine::dtype_name(t.tensor.dtype()), y8m::engine::shape_str(t.tensor.shape()),
               t.tensor.nbytes(), t.codebook.empty() ? "" : "  codebook " + t.codebook);
  fmt::print("  {} tensors, {} bytes of tensor data\n", c.tensors().size(), tensor_bytes);
  return 0;
}

int run(const std::vector<std::string>& patterns) {
  Y8M_CHECK(!patterns.empty(),
            "y8m-inspect: give one or more TFRecord files, glob patterns, archives or checkpoints");
  const bool json = absl::GetFlag(FLAGS_json);
  if (patterns.size() == 1) check_y8m_name(patterns[0]);
  if (patterns.size() == 1 && is_container(patterns[0]))
    return inspect_container(patterns[0], json, absl::GetFlag(FLAGS_verify));
  std::string joined;
  for (const auto& p : patterns) joined += (joined.empty() ? "" : ",") + p;
  const std::vector<std::string> files = y8m::io::expand_patterns(joined, "y8m-inspect");
  for (const std::string& f : files) {
    check_y8m_name(f);
    Y8M_CHECK(!is_container(f), "{}: a y8m archive or checkpoint: inspect it alone", f);
  }
  y8m::io::RecordReaderOptions ro;
  ro.verify_crc = absl::GetFlag(FLAGS_verify);
  ro.fail_hint.clear();  // no --corrupt_records here: the first bad record is the answer
  const int64_t want = absl::GetFlag(FLAGS_example);
  std::string example_bytes;
  bool have_example = false;
  std::vector<FileReport> reports;
  int64_t total = 0;
  for (const std::string& f : files) {
    y8m::io::RecordReader rr(f, ro);
    std::string_view rec;
    FileReport r{f, 0, rr.file_size()};
    while (rr.next(&rec)) {
      if (!have_example && reports.empty() && r.records == want) {
        example_bytes.assign(rec.data(), rec.size());
        have_example = true;
      }
      ++r.records;
    }
    total += r.records;
    reports.push_back(r);
    if (!json)
      fmt::print("{}: {} records, {} bytes{}\n", f, r.records, r.bytes,
                 ro.verify_crc ? ", CRCs ok" : "");
  }
  std::string ex_json = "null";
  if (have_example) {
    tensorflow::SequenceExample ex;
    Y8M_CHECK(ex.ParseFromString(example_bytes),
              "{}: record {} is not a tf.Example or tf.SequenceExample", files[0], want);
    const bool sequence = ex.feature_lists().feature_list_size() > 0;
    // An Example's `features` has the same field number as a SequenceExample's `context`.
    std::vector<std::string> keys;
    for (const auto& kv : ex.context().feature()) keys.push_back(kv.first);
    std::sort(keys.begin(), keys.end());
    std::vector<std::string> ctx, lists;
    for (const auto& k : keys)
      ctx.push_back(fmt::format("{}: {}", json_str(k),
                                describe(ex.context().feature().at(k), k != "predictions")));
    std::vector<std::string> lkeys;
    for (const auto& kv : ex.feature_lists().feature_list()) lkeys.push_back(kv.first);
    std::sort(lkeys.begin(), lkeys.end());
    for (const auto& k : lkeys) {
      const auto& fl = ex.feature_lists().feature_list().at(k);
      const int64_t bytes = fl.feature_size() > 0 && fl.feature(0).has_bytes_list() &&
                                    fl.feature(0).bytes_list().value_size() > 0
                                ? static_cast<int64_t>(fl.feature(0).bytes_list().value(0).size())
                                : 0;
      lists.push_back(fmt::format("{}: {{\"frames\": {}, \"bytes_per_frame\": {}}}", json_str(k),
                                  fl.feature_size(), bytes));
    }
    ex_json = fmt::format(
        "{{\"index\": {}, \"kind\": \"{}\", \"record_bytes\": {}, \"context\": {{{}}}, "
        "\"feature_lists\": {{{}}}}}",
        want, sequence ? "SequenceExample" : "Example", example_bytes.size(), fmt::join(ctx, ", "),
        fmt::join(lists, ", "));
    if (!json) {
      fmt::print("example {} of {} ({}, {} bytes):\n", want, files[0],
                 sequence ? "SequenceExample" : "Example", example_bytes.size());
      for (const auto& c : ctx) fmt::print("  {} {}\n", sequence ? "context" : "feature", c);
      for (const auto& l : lists) fmt::print("  feature_list {}\n", l);
    }
  } else if (!json) {
    fmt::print("no example {} in {}\n", want, files[0]);
  }
  if (json) {
    std::vector<std::string> fj;
    for (const auto& r : reports)
      fj.push_back(fmt::format("{{\"path\": {}, \"records\": {}, \"bytes\": {}}}", json_str(r.path),
                               r.records, r.bytes));
    fmt::print(
        "{{\"files\": [{}], \"total_records\": {}, \"crc_verified\": {}, \"example\": {}}}\n",
        fmt::join(fj, ", "), total, ro.verify_crc ? "true" : "false", ex_json);
  } else {
    fmt::print("total: {} records in {} files\n", total, files.size());
  }
  return 0;
}

std::vector<std::string> g_args;
int run_with_args() { return run(g_args); }

}  // namespace

int main(int argc, char** argv) {
  g_args = y8m::apps::parse_flags(argc, argv,
                                  "Counts records, verifies CRCs and describes an example: "
                                  "y8m-inspect [--json] FILE_OR_GLOB...");
  return y8m::apps::run_app("y8m-inspect", run_with_args);
}
