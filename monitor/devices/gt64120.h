// The Galileo GT-64120 system controller's CPU-side decode and PCI_0 host bridge (GT-64120 data
// sheet, "CPU Address Decode", "PCI Interface", "Interrupt Controller"): its internal registers
// (4 KiB at the ISD base, 0x14000000 at reset, moved by writing ISD), the three CPU-to-PCI
// windows (I/O, MEM0, MEM1) with their remap registers, PCI configuration cycles through
// 0xcf8/0xcfc with master abort reported in the interrupt cause register, and the PCI
// interrupt-acknowledge cycle (0xc34) that reads the i8259 vector.
//
// The board is little-endian and Linux leaves PCI0_CMD's byte-swap bits set (0x00010001), the
// combination in which neither register nor configuration data is swapped; the swapping modes of
// a big-endian board are not modelled.
//
// Call sequence: the board asks isd_base() and decode(pa) for each access outside RAM and calls
// read/write(offset, size, value) for the register window; master_abort() when a PCI memory
// cycle found no target. Config cycles and IACK go through the PciBus and the callback given.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>

#include "monitor/devices/guest_errors.h"
#include "monitor/devices/pci_bus.h"

namespace disco::malta {

class Gt64120 {
 public:
  static constexpr uint32_t kRegisterWindow = 0x1000;
  enum class Space : uint8_t { Io, Memory };
  struct PciAccess {
    Space space;
    uint32_t address;  // on the PCI bus
  };

  Gt64120(PciBus& bus, std::function<uint8_t()> interrupt_acknowledge);
  uint32_t isd_base() const;
  std::optional<PciAccess> decode(uint32_t pa) const {
    for (const DecodedWindow& w : windows_) {
      if (pa >= w.start && pa < w.end) return PciAccess{w.space, pa - w.start + w.pci_base};
    }
    return std::nullopt;
  }
  uint32_t read(uint32_t offset, unsigned size);
  void write(uint32_t offset, unsigned size, uint32_t value);
  void master_abort();
  // YAMON's hand-over (MALTA.md "Boot contract").
  void apply_yamon_state();
  uint64_t guest_errors() const { return errors_.count(); }

 private:
  // A CPU-to-PCI window as its registers decode it: CPU addresses [start, end) reach PCI
  // address pa - start + pci_base. decode() runs on every device access, so the windows are
  // worked out when their registers are written, not per access.
  struct DecodedWindow {
    uint32_t start = 0;
    uint64_t end = 0;  // start when the window decodes nothing
    uint32_t pci_base = 0;
    Space space = Space::Io;
  };
  uint32_t& reg(uint32_t offset) { return regs_[offset / 4]; }
  uint32_t reg(uint32_t offset) const { return regs_[offset / 4]; }
  uint32_t read_register(uint32_t offset);
  void write_register(uint32_t offset, uint32_t value, uint32_t byte_lanes);
  void decode_windows();

  PciBus& bus_;
  std::function<uint8_t()> interrupt_acknowledge_;
  std::array<uint32_t, kRegisterWindow / 4> regs_{};
  std::array<uint32_t, kRegisterWindow / 4> writable_{};
  std::array<bool, kRegisterWindow / 4> known_{};
  std::array<DecodedWindow, 3> windows_{};  // I/O, MEM0, MEM1, in decode priority
  GuestErrors errors_{"gt64120"};
};

}  // namespace disco::malta
