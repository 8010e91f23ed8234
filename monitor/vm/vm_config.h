// What one virtual machine is: its kernel, initramfs and command line, its memory and where its
// vcpu runs, how its vcpu executes, and where its console goes. The launcher fills one per VM
// (launcher/guest_options.h plans and checks them all before anything starts); the node processes
// receive them in effective-config.json and build the VMs from them as they are.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "monitor/cpu/machine_tlb.h"
#include "monitor/devices/malta_board.h"
#include "monitor/vm/pmap.h"

namespace disco {

// Bare mode: the guest kernel owns the machine (the paper's "IRIX on bare FLASH"). Monitored: it
// runs de-privileged on the Disco monitor.
enum class VmMode : uint8_t { Bare, Monitored };
std::string_view name(VmMode m);

struct VmConfig {
  uint32_t id = 0;
  NodeId node = 0;  // its vcpu's node, and where its memory is reserved first
  VmMode mode = VmMode::Monitored;
  std::string kernel;
  std::string initrd;  // empty: none
  std::string append;
  uint64_t ram_bytes = 64ull << 20;
  Placement placement = Placement::Local;  // bare mode's physical placement
  bool host_unpack = false;
  uint32_t cpu_mhz = 100;
  int64_t rtc_epoch_seconds = 0;
  uint32_t isa_io_ns = malta::BoardConfig{}.isa_io_ns;  // guest time per ISA I/O port access
  uint64_t max_instructions = 0;                        // 0: no limit
  // Compile hot guest blocks to host code (block_compiler.h); off: interpret every instruction.
  bool compile = true;
  // Name the compiled blocks in /tmp/perf-<pid>.map for `perf report`.
  bool perf_map = false;
  // An idle guest (`wait`) sleeps the host for the guest time it skips (at most 20 ms a time),
  // so an interactive guest's clock keeps pace with the user and an idle vcpu costs no host CPU.
  bool idle_in_real_time = false;
  uint32_t l2tlb_entries = 1024;  // the vcpu's second-level TLB (l2tlb.h; 0: none)
  std::string console_path;       // the guest's COM1 output, appended as it comes
  std::string input_fifo;         // keystrokes for COM1 (empty: none)
};

// The monitor's run-wide settings: how pcpus share their vcpus.
struct SchedConfig {
  mips::TlbSwitch tlb_switch = mips::TlbSwitch::Flush;
  uint32_t quantum_us = 10000;  // guest time a vcpu runs before the pcpu's next vcpu gets its turn
  uint32_t machine_tlb_entries = mips::MachineTlb::kDefaultEntries;  // each pcpu's (machine_tlb.h)
};

nlohmann::json to_json(const VmConfig& c);
VmConfig vm_config_from_json(const nlohmann::json& j);  // strict: one-line std::runtime_error
// Empty when the VM can be built, else a one-line reason naming the VM. check_shape() leaves
// out the files (kernel, initrd), which a launcher resolves later.
std::string check(const VmConfig& c);
std::string check_shape(const VmConfig& c);

}  // namespace disco
