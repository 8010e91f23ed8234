#include "monitor/devices/piix4_pm.h"

#include "monitor/devices/virtual_clock.h"

namespace disco::malta {

namespace {
constexpr unsigned kPmStatus = 0x00, kPmControl = 0x04, kPmTimer = 0x08;
constexpr uint8_t kControlHighSusEn = 0x20;     // PMCNTRL bit 13, write-only
constexpr uint8_t kControlHighSusTypMask = 0x1c;  // PMCNTRL bits 12:10; 000 = soft off
}  // namespace

uint8_t Piix4Pm::read(unsigned offset, uint64_t now_ns) const {
  if (offset >= kPmTimer && offset < kPmTimer + 4) {
    const uint32_t timer = uint32_t(ticks_in(now_ns, kTimerHz)) & 0x00ffffff;
    return uint8_t(timer >> (8 * (offset - kPmTimer)));
  }
  return regs_[offset % kSize];
}

void Piix4Pm::write(unsigned offset, uint8_t value) {
  offset %= kSize;
  if (offset < kPmStatus + 2) {
    regs_[offset] &= ~value;  // status bits clear when written with 1
  } else if (offset == kPmControl + 1) {
    if ((value & kControlHighSusEn) && !(value & kControlHighSusTypMask)) power_off_ = true;
    regs_[offset] = value & ~kControlHighSusEn;
  } else if (offset < kPmTimer || offset >= kPmTimer + 4) {
    regs_[offset] = value;  // the timer is read-only
  }
}

}  // namespace disco::malta
