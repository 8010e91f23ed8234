// A VM's physical bus: where its vcpu's guest physical accesses go. RAM (below the VM's memory
// size) through the pmap to machine memory, reached through the pcpu's MemoryPort so that every
// access is a real access of the coherence protocol; the rest of the Malta's 256 MiB RAM window
// is unbacked (a bus error, counted: a guest never reaches a page that is not its own); above it,
// the VM's own board.
//
// The memory class the interpreter's run loop is instantiated for (a final class: its RAM path
// inlines). Time: the vcpu's cycles are the VM's guest clock; a device access adds its bus time
// and re-samples the board's interrupt lines into the vcpu's Cause.
#pragma once

#include <cstdint>

#include "monitor/cpu/guest_memory.h"
#include "monitor/cpu/vcpu.h"
#include "monitor/devices/malta_board.h"
#include "monitor/vm/pmap.h"
#include "node/memory_port.h"

namespace disco {

class GuestBus final : public mips::GuestMemory {
 public:
  static constexpr uint32_t kRamWindow = 0x10000000;  // the Malta's low RAM window (256 MiB)

  GuestBus(Pmap& pmap, MemoryPort& port, malta::MaltaBoard& board, mips::Vcpu& vcpu, uint32_t cpu_mhz, NodeId node)
      : pmap_(pmap), ram_bytes_(pmap.bytes()), port_(port), board_(board), vcpu_(vcpu), cpu_mhz_(cpu_mhz), node_(node) {}

  // RAM inline (the compiled blocks' accesses fold `size` away), everything else out of line.
  [[gnu::always_inline]] bool load(uint32_t addr, unsigned size, uint32_t& out) override {
    if (addr >= ram_bytes_) [[unlikely]] return device_load(addr, size, out);
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
    if (addr >= ram_bytes_) [[unlikely]] return device_store(addr, size, value);
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

  uint64_t now_ns() const { return vcpu_.cycles * 1000 / cpu_mhz_; }
  // The first cycle whose time is at or after ns (UINT64_MAX stays).
  uint64_t cycles_at_ns(uint64_t ns) const;
  // After anything that can change the board's interrupt outputs.
  void sample_interrupts() { vcpu_.cp0.set_hw_interrupts(board_.hw_interrupts(now_ns())); }
  // A RAM access failed in the machine (a node went down).
  bool memory_failed() const { return memory_failed_; }
  // Accesses to the unbacked part of the RAM window (bus errors).
  uint64_t unbacked_accesses() const { return unbacked_; }
  MemoryPort& port() { return port_; }

 private:
  MachineAddr ram(uint32_t pa) { return pmap_.machine_address(pa, node_); }
  bool device_load(uint32_t pa, unsigned size, uint32_t& out);
  bool device_store(uint32_t pa, unsigned size, uint32_t value);
  void device_accessed(uint32_t pa);  // its bus time, then the interrupt lines it may have moved

  Pmap& pmap_;
  const uint64_t ram_bytes_;
  MemoryPort& port_;
  malta::MaltaBoard& board_;
  mips::Vcpu& vcpu_;
  const uint32_t cpu_mhz_;
  const NodeId node_;
  bool memory_failed_ = false;
  uint64_t unbacked_ = 0;
};

}  // namespace disco
