#include "monitor/devices/malta_fpga.h"

namespace disco::malta {

namespace {
enum : uint32_t {
  kJumpers = 0x210,    // bits 4:2 = 000: 33 MHz PCI clock, so Linux adds no pci_clock= option
  kLedBar = 0x408,
  kAsciiWord = 0x410,  // the display as one hex word
  kAsciiPos0 = 0x418,  // eight character positions, 8 bytes apart
  kSoftReset = 0x500,
};
constexpr uint32_t kGoReset = 0x42;
}  // namespace

std::optional<uint32_t> MaltaFpga::read(uint32_t offset) const {
  if (offset == kJumpers) return 0;
  if (offset == kLedBar) return led_bar_;
  if (offset == kAsciiWord) return ascii_word_;
  if (offset >= kAsciiPos0 && offset < kAsciiPos0 + 8 * ascii_.size() && offset % 8 == 0) {
    return uint8_t(ascii_[(offset - kAsciiPos0) / 8]);
  }
  if (offset == kSoftReset) return 0;
  return std::nullopt;
}

bool MaltaFpga::write(uint32_t offset, uint32_t value) {
  if (offset == kLedBar) {
    led_bar_ = value & 0xff;
  } else if (offset == kAsciiWord) {
    ascii_word_ = value;
  } else if (offset >= kAsciiPos0 && offset < kAsciiPos0 + 8 * ascii_.size() && offset % 8 == 0) {
    ascii_[(offset - kAsciiPos0) / 8] = char(value & 0xff);
  } else if (offset == kSoftReset) {
    if (value == kGoReset) reset_ = true;
  } else {
    return false;
  }
  return true;
}

std::string MaltaFpga::display() const { return std::string(ascii_.begin(), ascii_.end()); }

}  // namespace disco::malta
