// An experiment in a file: `disco run --config experiment.toml` (TOML, read with toml++ from
// Debian). The file holds what the flags hold, grouped, and the VMs one by one; flags given on
// the command line override it, and the run's effective-config.json records what ran.
//
//   [machine]  nodes, cpus_per_node, mem_per_node, line_size, cache_size, cache_ways, pin,
//              transport, cpu_mhz, local_miss_ns, remote_miss_ns, remote_dirty_ns
//   [monitor]  tlb_switch, quantum_us, l2tlb_entries, machine_tlb_entries
//   [guest]    what every VM boots: bare, guest, kernel, initrd, append, init_cmd, extra (a list of
//              "HOST:GUEST"), mem, placement, host_unpack, interpret, perf_map, isa_io_ns,
//              max_instructions, rtc_epoch
//   [run]      vms, vm_placement, console, timeout, json, results, name, quiet, workload, ops,
//              lines, seed
//   [[vm]]     one per VM, in id order, each overriding [guest]: node, kernel, initrd, append,
//              init_cmd, mem (with [[vm]] entries, their number is the number of VMs)
//
// Keys are the flags' names with '_' for '-'; sizes are strings ("64MiB"), counts are integers.
// Relative paths are relative to the file's folder. A key nobody knows, a value of the wrong
// type, a negative or too large number: one line naming the key and the reason, and nothing runs.
#pragma once

#include <optional>
#include <string>

#include "launcher/run_command.h"

namespace disco {

// Fills `o` from the file at `path` (before the command line's flags are applied over it).
std::optional<std::string> read_experiment_file(const std::string& path, RunOptions& o);

}  // namespace disco
