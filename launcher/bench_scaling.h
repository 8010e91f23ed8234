// `disco bench scaling`: the stress test of how far the machine scales on this host. For each
// transport asked and each node count 1, 2, 4, ... up to --max-nodes (default twice the host's
// cores), one `disco run` of the chosen workload; per count, the aggregate and per-node misses per
// host second and the median and p99 of the remote (2- and 3-hop) miss latency. A table, the JSON
// (--json) and a plot (scaling.svg, by gnuplot from Debian) in the bench's results folder, so the
// knee shows at a glance. Exit status: 0 when every run succeeded, 1 when one failed.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace disco {

struct ScalingOptions {
  uint32_t max_nodes = 0;  // 0: twice the host's cores
  std::string transports = "shm,ipc";
  std::string workload = "shared-read";
  uint64_t ops = 20000;  // per pcpu
  std::string json_path;
  std::string results_root = "results";
  // Filled by resolve_scaling():
  std::vector<std::string> transport_list;
  std::vector<uint32_t> counts;
};

void add_scaling_flags(CLI::App& cmd, ScalingOptions& o);
std::optional<std::string> resolve_scaling(ScalingOptions& o);
int bench_scaling(const ScalingOptions& o, const std::string& disco_exe);

}  // namespace disco
