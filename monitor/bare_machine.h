// Bare mode (the paper's "IRIX on bare FLASH" baseline): one MIPS vcpu and a Malta board run a
// guest kernel directly on the machine, with no monitor between them. Guest physical memory is
// machine memory placed page by page (physical_placement.h) and reached through the node's
// MemoryPort, so every guest access is a real access of the coherence protocol; everything above
// RAM in the physical map is the board's.
//
// Call sequence: construct on the pcpu thread that will run it; boot() loads the kernel and
// initrd (one-line error on failure); run() executes until the guest powers off or resets, the
// instruction limit is reached, or `stop` is set.
//
// Time: the vcpu's cycle count is the guest's clock (one cycle per instruction at cpu_mhz);
// CP0 Count/Compare and every device run on it. `wait` with nothing pending skips the clock to
// the next timer or device event. Nothing reads host time, so a run with the same inputs
// executes the same guest instructions.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "monitor/cpu/interpreter.h"
#include "monitor/devices/malta_board.h"
#include "monitor/physical_placement.h"
#include "node/memory_port.h"

namespace disco {

struct BareConfig {
  std::string kernel;
  std::string initrd;  // empty: none
  std::string append;
  uint64_t ram_bytes = 256ull << 20;
  Placement placement = Placement::Local;
  bool host_unpack = false;
  uint32_t cpu_mhz = 100;
  int64_t rtc_epoch_seconds = 0;
  uint32_t isa_io_ns = malta::BoardConfig{}.isa_io_ns;  // guest time per ISA I/O port access
  uint64_t max_instructions = 0;  // 0: no limit
  // Compile hot guest blocks to host code (block_compiler.h); off: interpret every instruction.
  bool compile = true;
  // Name the compiled blocks in /tmp/perf-<pid>.map for `perf report`.
  bool perf_map = false;
  // An idle guest (`wait`) sleeps the host for the guest time it skips (at most 20 ms a time),
  // so an interactive guest's clock keeps pace with the user and an idle vcpu costs no host CPU.
  bool idle_in_real_time = false;
};

enum class BareExit : uint8_t { PowerOff, Reset, Stopped, InstructionLimit, MemoryFailure };
std::string_view name(BareExit e);

class BareMachine final : public mips::GuestMemory {
 public:
  // `host_base` maps machine address 0 (MachineMemory::base): the loader writes there directly,
  // like firmware or DMA before the first CPU access, when no cache holds a line yet.
  BareMachine(const BareConfig& config, MemoryPort& port, uint8_t* host_base, const MachineGeometry& g, NodeId self,
              std::function<void(uint8_t)> console_out);

  // Loads the kernel and initrd into guest memory and sets the boot state; a one-line error or "".
  std::string boot();
  BareExit run(const std::atomic<bool>& stop);

  void console_input(uint8_t byte) { board_.console_input(byte); }
  uint64_t instructions() const { return instructions_; }
  uint64_t exceptions() const { return exceptions_; }
  uint64_t guest_ns() const { return now_ns(); }
  uint64_t cp0_guest_errors() const { return interpreter_.guest_errors(); }
  uint64_t compiled_blocks() const { return interpreter_.compiled_blocks(); }
  uint64_t unclaimed_device_accesses() const { return board_.unclaimed_accesses(); }
  const PhysicalPlacement& placement() const { return placement_; }
  const mips::Vcpu& vcpu() const { return vcpu_; }

  // GuestMemory: physical addresses from the vcpu.
  // RAM inline (the compiled blocks' accesses fold `size` away), devices out of line.
  [[gnu::always_inline]] bool load(uint32_t addr, unsigned size, uint32_t& out) override {
    if (addr >= config_.ram_bytes) [[unlikely]] return device_load(addr, size, out);
    const MachineAddr a = ram(addr);
    bool ok;
    if (size == 4) {
      ok = port_.load(a, out);
    } else if (size == 2) {
      uint16_t h = 0;
      ok = port_.load(a, h);
      out = h;
    } else {
      uint8_t b = 0;
      ok = port_.load(a, b);
      out = b;
    }
    memory_failed_ |= !ok;
    return ok;
  }
  [[gnu::always_inline]] bool store(uint32_t addr, unsigned size, uint32_t value) override {
    if (addr >= config_.ram_bytes) [[unlikely]] return device_store(addr, size, value);
    const MachineAddr a = ram(addr);
    const bool ok = size == 4   ? port_.store(a, value)
                    : size == 2 ? port_.store(a, static_cast<uint16_t>(value))
                                : port_.store(a, static_cast<uint8_t>(value));
    memory_failed_ |= !ok;
    return ok;
  }
  bool load_linked(uint32_t addr, uint32_t& out) override;
  bool store_conditional(uint32_t addr, uint32_t value, bool& stored) override;
  bool fetch(uint32_t addr, uint32_t& word) override { return load(addr, 4, word); }

 private:
  uint64_t now_ns() const { return vcpu_.cycles * 1000 / config_.cpu_mhz; }
  uint64_t cycles_at_ns(uint64_t ns) const;
  MachineAddr ram(uint32_t pa) { return placement_.machine_address(pa, self_); }
  bool device_load(uint32_t pa, unsigned size, uint32_t& out);
  bool device_store(uint32_t pa, unsigned size, uint32_t value);
  void device_accessed(uint32_t pa);  // its bus time, then the interrupt lines it may have moved
  // After anything that can change the board's interrupt outputs.
  void sample_interrupts() { vcpu_.cp0.set_hw_interrupts(board_.hw_interrupts(now_ns())); }

  BareConfig config_;
  MemoryPort& port_;
  uint8_t* host_base_;
  NodeId self_;
  PhysicalPlacement placement_;
  malta::MaltaBoard board_;
  mips::Vcpu vcpu_;
  mips::Interpreter interpreter_;
  uint64_t instructions_ = 0;
  uint64_t exceptions_ = 0;
  bool memory_failed_ = false;  // a RAM access failed in the machine (a node went down)
};

}  // namespace disco
