// `disco bench coherence`: what memory accesses of the emulated machine cost on this host, with
// the yardsticks measured in the same run (the raw ZeroMQ round trip on the same sockets and
// the shared-memory spin mailbox between two processes), printed as a table and as JSON.
//
// The machine flags (pin, transport, cache, line size, timing) apply to every sub-run; each
// sub-run sets its own node count, workload, lines and ops (and raises the memory per node when
// its working set needs more). Exit status: 0 when every sub-run succeeded (a missed target is
// reported, not a failure), 1 when one failed, 130 when interrupted.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "launcher/run_command.h"

namespace disco {

struct BenchOptions {
  RunOptions machine;          // pin, transport, cache and timing flags of the runs
  uint64_t samples = 4000;     // misses measured per latency figure
  std::string json_path;
  std::string node_counts = "1,2,4,8";  // for the throughput sweep
  // Filled by resolve_bench():
  std::vector<uint32_t> node_count_list;  // node_counts, parsed
  bool nodes_flag_given = false;          // --nodes was passed (sub-runs ignore it)
  ClusterLaunch cluster;                  // --hostfile/--slurm: only the cluster row's runs span the hosts
};

void add_bench_flags(CLI::App& cmd, BenchOptions& o);
std::optional<std::string> resolve_bench(BenchOptions& o);
int bench_coherence(BenchOptions& o, const std::string& disco_exe);

}  // namespace disco
