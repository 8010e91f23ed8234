// One virtual machine: its vcpu (registers, virtual CP0, the guest's TLB, its interpreter and
// block compiler), its pmap, its own Malta board, the bus between them, its console, and under
// the monitor the vcpu's monitor half (vcpu_monitor.h). Bare mode is the one-VM case whose pmap
// is the machine itself and whose vcpu has no monitor: the same parts, nothing else.
//
// Call sequence: construct on the pcpu thread that will run it; boot() loads the kernel and
// initrd (a one-line error on failure); then run() it slice by slice (the pcpu's scheduler
// decides whose turn it is) until exit() says it has ended.
//
// Time: the vcpu's cycle count is the VM's guest clock (one cycle per instruction at cpu_mhz,
// plus what its cache misses, device accesses and monitor entries cost); CP0 Count/Compare and every device run on
// it. `wait` with nothing pending skips the clock to the next timer or device event (idle time).
// Nothing reads host time, so a VM with the same inputs executes the same guest instructions.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "monitor/cpu/interpreter.h"
#include "monitor/cpu/machine_tlb.h"
#include "monitor/devices/malta_board.h"
#include "monitor/vm/guest_bus.h"
#include "monitor/vm/pmap.h"
#include "monitor/vm/vcpu_monitor.h"
#include "monitor/vm/vm_config.h"
#include "monitor/vm/vm_console.h"
#include "node/memory_port.h"

namespace disco {

// How a VM ended. Running: it has not.
enum class VmExit : uint8_t { Running, PowerOff, Reset, Crash, Limit, Stopped, MemoryFailure, BootFailed };
std::string_view name(VmExit e);

// A VM's counters, as the run report gives them (VmStats::to_json is the `vms[]` contract).
struct VmCounters {
  uint64_t instructions = 0;
  uint64_t exceptions = 0;
  uint64_t idle_cycles = 0;
  uint64_t local_misses = 0, remote_misses = 0;  // of this VM's accesses, attributed by the scheduler
  uint64_t switches_in = 0;  // times a pcpu switched to this VM's vcpu
  bool reached_user = false;  // the guest has run a user process ("up")
};

class Vm final : public VmServices {
 public:
  // `machine_tlb` is the pcpu's (monitored VMs; nullptr in bare mode), `owner` this vcpu's number
  // on it. `host_base` maps machine address 0 (MachineMemory::base): the loader writes there
  // directly, like firmware or DMA before the first CPU access, when no cache holds a line yet.
  Vm(const VmConfig& config, Pmap pmap, MemoryPort& port, uint8_t* host_base, mips::MachineTlb* machine_tlb,
     uint16_t owner);

  // Loads the kernel and initrd into guest memory and sets the boot state; a one-line error or "".
  // through_port: the machine spans hosts, so the loader writes through the vcpu's port (its
  // pages' homes must see the bytes); on one host it writes machine memory directly, as no cache
  // holds the lines of a VM's fresh pages.
  std::string boot(bool through_port = false);
  // Runs until the guest clock reaches `until_cycles` or the VM ends (exit() says how).
  void run(uint64_t until_cycles, const std::atomic<bool>& stop);
  VmExit exit() const { return exit_; }

  void console_input(uint8_t byte) { board_.console_input(byte); }
  uint64_t cycles() const { return vcpu_.cycles; }
  uint64_t guest_ns() const { return bus_.now_ns(); }
  const VmConfig& config() const { return config_; }
  const VmCounters& counters() const { return counters_; }
  VmCounters& counters() { return counters_; }
  const VcpuMonitor* monitor() const { return monitor_.get(); }
  VcpuMonitor* monitor() { return monitor_.get(); }
  mips::Interpreter& interpreter() { return interpreter_; }
  const Pmap& pmap() const { return pmap_; }
  // What another thread may read while the VM runs (the node's progress reports), as of the end
  // of the VM's last slice.
  struct Published {
    std::atomic<uint64_t> instructions{0};
    std::atomic<bool> up{false}, ended{false};
  };
  const Published& published() const { return published_; }
  // The VM's report: one object of the run's `vms[]` (and bare mode's `guest`).
  nlohmann::json report(uint64_t tsc_per_us) const;

  // Machine pages of this VM that the host has memory behind: those the guest touched.
  uint64_t touched_pages() const;

  // VmServices (the monitor calls, hypercalls.h).
  uint32_t vm_id() const override { return config_.id; }
  bool zero_page(uint32_t gpa) override;
  bool release_page(uint32_t gpa) override;

 private:
  VmConfig config_;
  Pmap pmap_;
  uint8_t* host_base_;
  VmConsole console_;
  malta::MaltaBoard board_;
  mips::Vcpu vcpu_;
  mips::Interpreter interpreter_;
  GuestBus bus_;
  MissCharge miss_charge_;  // the VM's misses in its guest time (set on the pcpu's port while it runs)
  std::unique_ptr<VcpuMonitor> monitor_;  // monitored VMs only
  VmCounters counters_;
  // A marker line of the console (vm_console.h), stamped: the phases of a run.
  struct Mark {
    std::string line;
    uint64_t guest_ns = 0, host_ns = 0;  // the guest's clock; host time since the VM was built
    uint64_t instructions = 0;           // retired before the slice the line ended in
    MonitorEntryTable entries{};         // the monitor's counts so far
  };
  static constexpr size_t kMaxMarks = 64;
  std::vector<Mark> marks_;
  std::chrono::steady_clock::time_point built_ = std::chrono::steady_clock::now();
  Published published_;
  uint64_t timer_at_ = UINT64_MAX;  // the cycle of the next CP0 timer interrupt
  VmExit exit_ = VmExit::Running;
};

}  // namespace disco
