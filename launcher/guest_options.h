// The guest flags of `disco run`: which kernel and initramfs the VMs boot, with what command
// line, how many VMs, their memory and nodes, how the monitor runs them, and how a console
// reaches the terminal.
//
//   --guest debian --init-cmd 'CMD' [--vms N]   Debian's stock kernel (scripts/fetch-guest) and a
//                                               busybox initramfs that runs CMD and powers off,
//                                               in N VMs under the Disco monitor
//   --bare ...                                  the same guest alone on the machine, no monitor
//   --kernel K [--initrd I] [--append A]        any Malta kernel and initramfs; the initramfs's own
//                                               /init runs untouched when there is no --init-cmd
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "monitor/monitor.h"

namespace disco {

// What a VM boots: for every VM (the flags, an experiment file's [guest]) or for one ([[vm]]).
struct BootSpec {
  std::string kernel, initrd, append, init_cmd;
  std::string mem;  // per VM; empty: 256MiB bare, 64MiB under the monitor
  bool append_given = false;
};

// One [[vm]] of an experiment file: what this VM does differently from the others.
struct VmSpec {
  std::optional<NodeId> node;
  BootSpec boot;
};

struct GuestOptions {
  bool bare = false;
  std::string guest;  // "debian" or empty
  BootSpec boot;
  std::string placement = "local";
  uint32_t vms = 1;
  bool vms_given = false;
  std::string vm_placement = "spread";
  std::string tlb_switch = "flush";
  uint32_t quantum_us = SchedConfig{}.quantum_us;
  uint32_t l2tlb_entries = VmConfig{}.l2tlb_entries;
  uint32_t machine_tlb_entries = SchedConfig{}.machine_tlb_entries;
  uint32_t console = 0;  // the VM whose console is streamed to the terminal (when given; else bare's)
  bool console_given = false;
  bool host_unpack = false;
  bool interpret = false;
  bool perf_map = false;
  uint32_t isa_io_ns = VmConfig{}.isa_io_ns;
  uint64_t max_instructions = 0;
  uint64_t rtc_epoch = 0;  // Unix time; when not given, the host's time at launch
  bool rtc_epoch_given = false;
  bool interactive = false;
  std::vector<std::string> extra;  // --extra HOST:GUEST for the generated initramfs
  std::vector<VmSpec> vm_specs;    // an experiment file's [[vm]] list: one per VM

  bool wanted() const { return bare || !guest.empty() || !boot.kernel.empty() || interactive || vms_given || !vm_specs.empty(); }
};

void add_guest_flags(CLI::App& cmd, GuestOptions& o);

// The VMs of the run, resolved from the flags in two steps: plan_guests() checks everything
// that needs no files (nothing exists yet when it fails); prepare_guests() then fetches the
// Debian guest, builds the initramfs of each distinct --init-cmd and names the consoles in the
// results folder.
struct PlannedVm {
  std::string kernel, initrd, init_cmd, append;  // as given (empty kernel: Debian's, once fetched)
  bool append_given = false;
};
struct ResolvedGuests {
  MonitorConfig monitor;
  std::vector<PlannedVm> planned;  // by VM
  int64_t streamed = -1;  // the VM whose console goes to the terminal, or -1
};
inline constexpr uint32_t kMaxVmsPerRun = 256;
std::optional<std::string> plan_guests(const GuestOptions& o, uint32_t cpu_mhz, uint32_t nodes, ResolvedGuests& out);
std::optional<std::string> prepare_guests(const GuestOptions& o, const std::string& results_dir, ResolvedGuests& g);
// The machine memory per node the VMs need when --mem-per-node is not given.
uint64_t guest_memory_per_node(const MonitorConfig& c, uint32_t nodes);

}  // namespace disco
