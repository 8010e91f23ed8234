// `disco bench coherence`: what memory accesses of the emulated machine cost on this host, with
// the yardsticks measured in the same run (the raw ZeroMQ round trip on the same sockets and
// the shared-memory spin mailbox between two processes), printed as a table and as JSON.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "launcher/run_command.h"

namespace disco {

struct BenchOptions {
  RunOptions machine;          // pin, transport, cache and timing flags of the runs
  uint64_t samples = 4000;     // misses measured per latency figure
  std::string json_path;
  std::string node_counts = "1,2,4,8";  // for the throughput sweep
};

void add_bench_flags(CLI::App& cmd, BenchOptions& o);
std::optional<std::string> resolve_bench(BenchOptions& o);
int bench_coherence(BenchOptions& o, const std::string& disco_exe);

}  // namespace disco
