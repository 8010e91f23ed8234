// The PIIX4's power-management I/O block (function 3; PIIX4 data sheet §7.2), 64 bytes at the
// I/O base function 3's PMBA register names (Linux's Malta fixup puts it at 0x1000): PM1 status
// (write 1 to clear), PM1 enable, PM1 control and the 24-bit ACPI PM timer at 3.579545 MHz on the
// virtual clock. Writing PM1 control with SUS_EN and suspend type 000 (soft off) powers the board
// off, as drivers/power/reset/piix4-poweroff.c does. The other registers hold what is written.
//
// Call sequence: read/write(offset, byte, now_ns) per byte (the board splits wider accesses);
// power_off_requested() after a write.
#pragma once

#include <array>
#include <cstdint>

namespace disco::malta {

class Piix4Pm {
 public:
  static constexpr unsigned kSize = 64;
  static constexpr uint64_t kTimerHz = 3579545;
  uint8_t read(unsigned offset, uint64_t now_ns) const;
  void write(unsigned offset, uint8_t value);
  bool power_off_requested() const { return power_off_; }

 private:
  std::array<uint8_t, kSize> regs_{};
  bool power_off_ = false;
};

}  // namespace disco::malta
