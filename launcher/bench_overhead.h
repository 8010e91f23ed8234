// `disco bench overhead`: what the Disco monitor costs, the paper's Figure 5 and Table 2 on our
// machine. The same Debian kernel, initramfs and command line boot bare (the paper's "IRIX on
// bare FLASH") and as one VM under the monitor, alternating, round after round; each runs three
// workloads one after the other, which mark their begin and end on the console:
//   pmake  kernel-heavy (bench/workloads/pmake: short processes, fork/exec, pipes, tmpfs files)
//   cpu    CPU-bound (guest/programs/cpuloop)
//   tlb    memory/TLB-heavy (guest/programs/pagewalk: 4096 pages, one word each per step)
// For each: host and guest time of the workload alone (from the console marks, vm.h), medians
// over the rounds, their ratios, and the monitor's host time split by entry kind. Then the
// machine memory that 1, 2, 4 and 8 VMs booting the same guest use (Figure 6, before any
// sharing), and two VMs on one pcpu with --tlb-switch flush against asid.
//
// Each run is a `disco run` child process, what a user runs; its results stay in the bench's
// results folder.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace disco {

struct OverheadOptions {
  uint32_t rounds = 3;
  bool quick = false;  // tiny workloads, one round: checks that everything runs, measures little
  std::string json_path;
  std::string results_root = "results";
};

void add_overhead_flags(CLI::App& cmd, OverheadOptions& o);
std::optional<std::string> resolve_overhead(const OverheadOptions& o);
int bench_overhead(const OverheadOptions& o, const std::string& disco_exe);

}  // namespace disco
