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

struct GuestOptions {
  bool bare = false;
  std::string guest;  // "debian" or empty
  std::string kernel, initrd, append, init_cmd;
  bool append_given = false;
  std::string mem;  // per VM; empty: 256MiB bare, 64MiB under the monitor
  std::string placement = "local";
  uint32_t vms = 1;
  bool vms_given = false;
  std::string vm_placement = "spread";
  std::string tlb_switch = "flush";
  uint32_t quantum_us = SchedConfig{}.quantum_us;
  uint32_t l2tlb_entries = VmConfig{}.l2tlb_entries;
  int64_t console = -1;  // the VM whose console is streamed to the terminal (-1: bare's, or none)
  bool host_unpack = false;
  bool interpret = false;
  bool perf_map = false;
  uint32_t isa_io_ns = VmConfig{}.isa_io_ns;
  uint64_t max_instructions = 0;
  int64_t rtc_epoch = -1;  // -1: the host's time at launch
  bool interactive = false;
  std::vector<std::string> extra;  // --extra HOST:GUEST for the generated initramfs

  bool wanted() const { return bare || !guest.empty() || !kernel.empty() || interactive || vms_given; }
};

void add_guest_flags(CLI::App& cmd, GuestOptions& o);

// The VMs of the run, resolved from the flags: paths absolute, the initramfs built if needed, the
// consoles in `results_dir`.
struct ResolvedGuests {
  MonitorConfig monitor;
  int64_t streamed = -1;  // the VM whose console goes to the terminal, or -1
};
// A one-line reason when the flags cannot boot. `nodes` is the machine's.
std::optional<std::string> resolve_guest(GuestOptions& o, const std::string& results_dir, uint32_t cpu_mhz,
                                         uint32_t nodes, ResolvedGuests& out);
// The machine memory per node the VMs need when --mem-per-node is not given.
uint64_t guest_memory_per_node(const MonitorConfig& c, uint32_t nodes);

}  // namespace disco
