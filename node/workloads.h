// The machine's programs until a CPU runs guests, kept afterwards as a test and benchmark tool.
// Each runs on one pcpu through its MemoryPort. Their data sits at fixed places of every
// node's memory (below), so the launcher can check the results in the segments afterwards.
//
//   private        each pcpu reads and writes lines of its own node only: local misses
//   shared-read    all pcpus read lines interleaved over all homes: 2-hop misses, then hits
//   migratory      read-modify-write of lines that move from cache to cache: 3-hop misses
//   false-sharing  each pcpu writes its own word of a few shared lines: invalidation storms
//   counter        LL/SC increments of counters homed on every node; finals must be exact
//   random         mixed 1/2/4/8-byte reads and writes on contended lines, with a checker
//   shared-write   reads of a few lines every node shares, one write in eight: invalidation fan-out
//   latency        alternates a streaming read miss to the next node's memory with a raw
//                  interconnect round trip to that node: the benchmark's pair of yardsticks
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/memory_port.h"

namespace disco {

enum class WorkloadKind { Private, SharedRead, Migratory, FalseSharing, Counter, Random, SharedWrite, Latency };
std::optional<WorkloadKind> parse_workload(std::string_view s);
std::string_view name(WorkloadKind w);
inline constexpr std::string_view kWorkloadNames =
    "private, shared-read, migratory, false-sharing, counter, random, shared-write, latency";

struct WorkloadSpec {
  WorkloadKind kind = WorkloadKind::Random;
  uint64_t ops = 100000;  // per pcpu
  uint32_t lines = 4096;  // working set, in lines (per pcpu for private, shared otherwise)
  uint64_t seed = 1;
};

// Where a pcpu sits in the machine.
struct PcpuPlace {
  NodeId node;
  PcpuId pcpu;
  uint32_t pcpus_per_node;
  uint32_t global() const { return uint32_t{node} * pcpus_per_node + pcpu; }
};

struct WorkloadResult {
  uint64_t ops = 0;
  uint64_t checker_errors = 0;
  uint64_t failed_accesses = 0;
  std::vector<std::string> first_errors;  // at most a few, for the report
  nlohmann::json report;                  // what a pcpu program other than a workload reports (a guest)
};

// Layout: every node's memory begins with the counter area; the workload area follows.
inline constexpr uint32_t kCountersPerNode = 4;
inline constexpr uint64_t kWorkloadAreaOffset = 64 * 1024;
MachineAddr counter_addr(const MachineGeometry& g, NodeId home, uint32_t i);
// Bytes of each node's memory the workload needs beyond kWorkloadAreaOffset (for config checks).
uint64_t workload_bytes_per_node(const WorkloadSpec& w, const MachineGeometry& g, uint32_t pcpus_per_node);
// The exact final value of every counter (node-major), given each pcpu's completed increments.
std::vector<uint64_t> expected_counters(const MachineGeometry& g, uint32_t pcpus_per_node,
                                        const std::vector<uint64_t>& ops_by_global_pcpu);

// Runs until spec.ops operations are done, an access fails, or `stop` is set.
WorkloadResult run_workload(const WorkloadSpec& spec, const MachineGeometry& g, PcpuPlace where, MemoryPort& port,
                            const std::atomic<bool>& stop);

}  // namespace disco
