// The guest flags of `disco run` (bare mode): which kernel and initramfs to boot, with what
// command line, memory and placement, and how the console reaches the terminal.
//
//   --bare --guest debian --init-cmd 'CMD'   Debian's stock kernel (scripts/fetch-guest) and a
//                                             busybox initramfs that runs CMD and powers off
//   --kernel K [--initrd I] [--append A]      any Malta kernel and initramfs; the initramfs's own
//                                             /init runs untouched when there is no --init-cmd
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "monitor/bare_guest.h"

namespace disco {

struct GuestOptions {
  bool bare = false;
  std::string guest;  // "debian" or empty
  std::string kernel, initrd, append, init_cmd;
  bool append_given = false;
  std::string mem = "256MiB";
  std::string placement = "local";
  bool host_unpack = false;
  bool interpret = false;
  bool perf_map = false;
  uint32_t isa_io_ns = BareConfig{}.isa_io_ns;
  uint64_t max_instructions = 0;
  int64_t rtc_epoch = -1;  // -1: the host's time at launch
  bool interactive = false;
  std::vector<std::string> extra;  // --extra HOST:GUEST for the generated initramfs

  bool wanted() const { return bare || !guest.empty() || !kernel.empty() || interactive; }
};

void add_guest_flags(CLI::App& cmd, GuestOptions& o);
// Fills `spec` (paths absolute, the initramfs built if needed, the console in `results_dir`);
// a one-line reason when the flags cannot boot. `source_dir` is the repository (scripts/).
std::optional<std::string> resolve_guest(GuestOptions& o, const std::string& results_dir, uint32_t cpu_mhz,
                                         BareGuestSpec& spec);

}  // namespace disco
