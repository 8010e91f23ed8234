// The PIIX4's MC146818-compatible real-time clock (ISA ports 0x70 index / 0x71 data) with its
// 114 bytes of NVRAM. Source: Motorola MC146818A data sheet; PIIX4 data sheet §4.6. It runs on
// the guest's virtual clock: the time, the update-in-progress pulse (UIP high for the last 244 us
// before each once-a-second update) and the interrupt flags are computed from now_ns when looked
// at (QEMU's get_guest_rtc_ns), so nothing ticks. Linux's estimate_frequencies hangs without the
// UIP pulse and an advancing seconds register (MALTA.md).
//
// Call sequence: read/write(port, value, now_ns); irq(now_ns) is the IRQ8 line; next_event_ns()
// is when that line can next rise by itself.
#pragma once

#include <array>
#include <cstdint>

#include "monitor/devices/guest_errors.h"

namespace disco::malta {

class Mc146818Rtc {
 public:
  static constexpr uint64_t kUipNs = 244'000;  // the update cycle's length (data sheet t_BUC + t_UC)

  explicit Mc146818Rtc(int64_t epoch_seconds_at_zero);
  bool claims(uint16_t port) const { return port == 0x70 || port == 0x71; }
  uint8_t read(uint16_t port, uint64_t now_ns);
  void write(uint16_t port, uint8_t value, uint64_t now_ns);
  bool irq(uint64_t now_ns);
  uint64_t next_event_ns(uint64_t now_ns);
  uint64_t guest_errors() const { return errors_.count(); }

 private:
  struct Time {  // binary, whatever the data mode
    int64_t year;
    unsigned month, day, weekday, hour, minute, second;  // weekday 1 = Sunday
  };
  static Time to_time(int64_t epoch_seconds);
  static int64_t to_epoch(const Time& t);

  bool running() const;  // updates happen: SET clear and the divider in normal operation
  int64_t seconds_now(uint64_t now_ns) const;
  Time time_now(uint64_t now_ns) const { return running() ? to_time(seconds_now(now_ns)) : held_; }
  uint8_t encode(unsigned value) const;
  unsigned decode(uint8_t value) const;
  uint8_t encode_hour(unsigned hour) const;
  uint8_t time_register(const Time& t, unsigned index) const;
  void set_time_register(unsigned index, uint8_t value, uint64_t now_ns);
  void write_control(unsigned index, uint8_t value, uint64_t now_ns);
  void advance(uint64_t now_ns);  // latches PF/UF/AF for everything up to now_ns
  void plan_boundaries();  // the next periodic tick and update after synced_ns_
  bool alarm_matches(int64_t epoch_seconds) const;
  uint64_t periodic_ticks() const;  // period in 32.768 kHz ticks, 0 if off
  bool irqf() const;

  std::array<uint8_t, 128> cmos_{};  // alarm, control registers and NVRAM as stored
  uint8_t index_ = 0;
  int64_t base_seconds_;   // the time shown at base_ns_ while running
  uint64_t base_ns_ = 0;   // updates happen at base_ns_ + k seconds
  uint64_t divider_ns_ = 0;  // the divider chain's phase origin, for periodic interrupts
  uint64_t synced_ns_ = 0;   // flags are latched up to here
  // The first periodic tick and seconds update after synced_ns_ (UINT64_MAX when off), so that
  // advance() and the UIP bit cost a comparison (the guest polls register A in a loop). Guest
  // time never goes back, so after advance(now_ns) they are the next ones after now_ns.
  uint64_t next_tick_ns_ = 0, next_update_ns_ = 0;
  Time held_{};             // the time while updates are stopped
  bool pf_ = false, af_ = false, uf_ = false;
  GuestErrors errors_{"mc146818 rtc"};
};

}  // namespace disco::malta
