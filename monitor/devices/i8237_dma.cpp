#include "monitor/devices/i8237_dma.h"

namespace disco::malta {

uint8_t I8237Dma::read(uint16_t port) {
  if (port >= 0x80 && port <= 0x8f) return pages_[port - 0x80];
  Controller& c = controllers_[controller_index(port)];
  const unsigned reg = reg_of(port);
  if (reg < 8) {
    const uint16_t word = c.words[reg];
    const bool high = c.high_byte_next;
    c.high_byte_next = !high;
    return high ? uint8_t(word >> 8) : uint8_t(word);
  }
  if (reg == 8) return 0;                       // status: no terminal counts, no requests
  if (reg == 15) return uint8_t(0xf0 | c.mask);  // PIIX4's readable all-mask register
  return 0xff;
}

void I8237Dma::write(uint16_t port, uint8_t value) {
  if (port >= 0x80 && port <= 0x8f) {
    pages_[port - 0x80] = value;
    return;
  }
  Controller& c = controllers_[controller_index(port)];
  const unsigned reg = reg_of(port);
  if (reg < 8) {
    uint16_t& word = c.words[reg];
    word = c.high_byte_next ? uint16_t((word & 0x00ff) | value << 8) : uint16_t((word & 0xff00) | value);
    c.high_byte_next = !c.high_byte_next;
    return;
  }
  switch (reg) {
    case 8: case 9: break;  // command and software request: they only matter to transfers
    case 10: {      // single mask bit
      const uint8_t bit = uint8_t(1u << (value & 3));
      c.mask = (value & 4) ? (c.mask | bit) : (c.mask & ~bit);
      break;
    }
    case 11: c.modes[value & 3] = value; break;
    case 12: c.high_byte_next = false; break;  // clear the byte pointer
    case 13:                                   // master clear
      c = Controller{};
      break;
    case 14: c.mask = 0; break;  // clear all masks
    default: c.mask = value & 0x0f; break;  // write all masks
  }
}

}  // namespace disco::malta
