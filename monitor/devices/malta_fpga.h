// The Malta board's FPGA registers (Malta User's Manual, "System FPGA"; the addresses Linux uses
// are in arch/mips/include/asm/mips-boards/{generic,malta}.h) and the CoreLV card's revision
// word in the boot area. The LED bar and the 8-character ASCII display take what is written;
// writing 0x42 (GORESET) to the soft-reset register resets the board.
//
// Call sequence: read/write(offset, value) with an offset inside the 1 MiB FPGA window at
// kBase (4-byte registers; the board passes the register's whole word); reset_requested().
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace disco::malta {

class MaltaFpga {
 public:
  static constexpr uint32_t kBase = 0x1f000000, kSize = 0x100000;
  static constexpr uint32_t kUartOffset = 0x900, kUartSize = 0x40;  // the CBUS UART, regshift 3
  static constexpr uint32_t kRevisionAddress = 0x1fc00010;
  static constexpr uint32_t kRevision = 0x00000420;  // CoreLV with a GT64120 system controller

  // nullopt: no register at this offset.
  std::optional<uint32_t> read(uint32_t offset) const;
  bool write(uint32_t offset, uint32_t value);
  bool reset_requested() const { return reset_; }
  std::string display() const;  // the ASCII display's 8 characters

 private:
  uint32_t led_bar_ = 0, ascii_word_ = 0;
  std::array<char, 8> ascii_{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  bool reset_ = false;
};

}  // namespace disco::malta
