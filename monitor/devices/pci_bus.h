// PCI bus 0 of the Malta board and the configuration spaces of the functions on it, as the
// kernel enumerates them (MALTA.md): 00:00.0 the GT64120 host bridge, 00:0a.0-3 the PIIX4's
// ISA bridge, IDE, USB and power-management functions. Sources: PCI Local Bus Specification 2.2
// ch. 6; GT-64120 data sheet §17.16; PIIX4 data sheet (290562) §3 and the per-function register
// tables. Each space is a byte array with a write mask and a write-1-to-clear mask (STYLE
// habit 4); BARs size themselves through the mask (a BAR of size S has bits below S read-only).
//
// Call sequence: the GT64120 runs config cycles with config_read/config_write (nullopt/false:
// no function answered, a master abort); the board asks pm_io_base() where the PIIX4's PM block
// decodes.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>

namespace disco::malta {

class PciFunction {
 public:
  struct Identity {
    uint16_t vendor, device;
    uint8_t revision;
    uint32_t class_code;  // base class, subclass, programming interface
    bool multifunction = false;
    uint8_t interrupt_pin = 0;  // 1 = INTA#
  };
  explicit PciFunction(const Identity& id);
  // A BAR: number 0..5, size a power of two, io selects I/O space.
  void add_bar(unsigned bar, uint32_t size, bool io, uint32_t reset_base = 0, bool prefetchable = false);
  // A device-specific register of `bytes` bytes: reset value, bits software may write.
  void add_register(unsigned offset, unsigned bytes, uint32_t reset, uint32_t writable);

  uint32_t read(unsigned dword) const;  // dword index 0..63
  void write(unsigned dword, uint32_t value, uint32_t byte_lanes);  // lanes as a byte mask 0x0000ffff etc.
  uint32_t read_field(unsigned offset, unsigned bytes) const;

 private:
  void set(unsigned offset, unsigned bytes, uint32_t value, uint32_t writable);
  std::array<uint8_t, 256> config_{}, writable_{}, write_one_clears_{};
};

class PciBus {
 public:
  static constexpr unsigned kPiix4Slot = 10;
  PciBus();
  // Config cycles from the host bridge. reg is the dword index (CFGADDR bits 7:2).
  std::optional<uint32_t> config_read(unsigned bus, unsigned devfn, unsigned reg) const;
  bool config_write(unsigned bus, unsigned devfn, unsigned reg, uint32_t value, uint32_t byte_lanes);
  // The PIIX4 PM block's I/O base when function 3 decodes it (PMREGMISC bit 0), else nullopt.
  std::optional<uint16_t> pm_io_base() const { return pm_io_base_; }

 private:
  const PciFunction* function(unsigned bus, unsigned devfn) const;
  std::optional<uint16_t> decode_pm_io_base() const;
  std::array<std::unique_ptr<PciFunction>, 256> functions_;  // bus 0, indexed by devfn
  // The board asks on every I/O port access; it changes only with a config write.
  std::optional<uint16_t> pm_io_base_;
};

}  // namespace disco::malta
