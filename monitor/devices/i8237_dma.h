// The PIIX4's two 8237 DMA controllers and their page registers (ISA 0x00-0x0f, 0x80-0x8f,
// 0xc0-0xdf; Intel 8237A data sheet, PIIX4 data sheet §4.2). Nothing on Malta does ISA DMA, so
// no transfer ever runs; the registers take what Linux writes (the channel masks, e.g. DMA-2's
// single-mask write to 0xd4 at boot) and read back as the chip would with every channel idle.
//
// Call sequence: read/write(port, value).
#pragma once

#include <array>
#include <cstdint>

namespace disco::malta {

class I8237Dma {
 public:
  bool claims(uint16_t port) const {
    return port <= 0x0f || (port >= 0x80 && port <= 0x8f) || (port >= 0xc0 && port <= 0xdf);
  }
  uint8_t read(uint16_t port);
  void write(uint16_t port, uint8_t value);

 private:
  struct Controller {
    std::array<uint16_t, 8> words{};  // per channel: base address, count
    std::array<uint8_t, 4> modes{};
    uint8_t mask = 0x0f;  // all channels masked at reset
    bool high_byte_next = false;  // the byte-pointer flip-flop
  };
  // Controller 0 is 8-bit (ports 0x00-0x0f, stride 1); controller 1 is 16-bit (0xc0-0xdf, stride 2).
  static unsigned controller_index(uint16_t port) { return port >= 0xc0; }
  static unsigned reg_of(uint16_t port) { return port >= 0xc0 ? (port - 0xc0) >> 1 : port; }

  std::array<Controller, 2> controllers_;
  std::array<uint8_t, 16> pages_{};
};

}  // namespace disco::malta
