#include "monitor/devices/mc146818_rtc.h"

#include <algorithm>
#include <limits>

#include "monitor/devices/virtual_clock.h"

namespace disco::malta {

namespace {
// Register indices and bits (MC146818A data sheet, "Register A".."Register D").
enum : unsigned {
  kSeconds = 0, kSecondsAlarm = 1, kMinutes = 2, kMinutesAlarm = 3, kHours = 4, kHoursAlarm = 5,
  kWeekday = 6, kDay = 7, kMonth = 8, kYear = 9, kRegA = 10, kRegB = 11, kRegC = 12, kRegD = 13,
};
constexpr uint8_t kAUip = 0x80, kADividerMask = 0x70, kADividerNormal = 0x20, kARateMask = 0x0f;
constexpr uint8_t kBSet = 0x80, kBPie = 0x40, kBAie = 0x20, kBUie = 0x10, kBBinary = 0x04, kB24Hour = 0x02;
constexpr uint8_t kCIrqf = 0x80, kCPf = 0x40, kCAf = 0x20, kCUf = 0x10, kDValidRam = 0x80;
constexpr uint8_t kHourPm = 0x80, kAlarmDontCare = 0xc0;
constexpr uint64_t kDividerHz = 32768;
constexpr int64_t kSecondsPerDay = 86400;

// Days since 1970-01-01 of a proleptic Gregorian date, and back (eras of 400 years).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}
}  // namespace

Mc146818Rtc::Mc146818Rtc(int64_t epoch_seconds_at_zero) : base_seconds_(epoch_seconds_at_zero) {
  // What a boot ROM leaves: divider on at 32.768 kHz with a 1024 Hz periodic rate, 24-hour BCD.
  cmos_[kRegA] = kADividerNormal | 0x06;
  cmos_[kRegB] = kB24Hour;
  plan_boundaries();
}

Mc146818Rtc::Time Mc146818Rtc::to_time(int64_t epoch_seconds) {
  int64_t days = epoch_seconds / kSecondsPerDay, rest = epoch_seconds % kSecondsPerDay;
  if (rest < 0) rest += kSecondsPerDay, --days;
  Time t{};
  t.hour = unsigned(rest / 3600);
  t.minute = unsigned(rest / 60 % 60);
  t.second = unsigned(rest % 60);
  t.weekday = unsigned(((days % 7 + 7) % 7 + 4) % 7) + 1;  // 1970-01-01 was a Thursday (5)
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  t.day = unsigned(doy - (153 * mp + 2) / 5 + 1);
  t.month = unsigned(mp < 10 ? mp + 3 : mp - 9);
  t.year = yoe + era * 400 + (t.month <= 2);
  return t;
}

int64_t Mc146818Rtc::to_epoch(const Time& t) {
  // Guest-written fields may be out of range; clamp so the arithmetic stays defined.
  const unsigned month = std::clamp(t.month, 1u, 12u), day = std::clamp(t.day, 1u, 31u);
  return days_from_civil(t.year, month, day) * kSecondsPerDay + int64_t(std::min(t.hour, 23u)) * 3600 +
         int64_t(std::min(t.minute, 59u)) * 60 + int64_t(std::min(t.second, 59u));
}

bool Mc146818Rtc::running() const {
  return !(cmos_[kRegB] & kBSet) && (cmos_[kRegA] & kADividerMask) == kADividerNormal;
}

int64_t Mc146818Rtc::seconds_now(uint64_t now_ns) const {
  return base_seconds_ + int64_t((now_ns - base_ns_) / kNsPerSecond);
}

uint8_t Mc146818Rtc::encode(unsigned value) const {
  return (cmos_[kRegB] & kBBinary) ? uint8_t(value) : uint8_t((value / 10 % 10) << 4 | value % 10);
}

unsigned Mc146818Rtc::decode(uint8_t value) const {
  return (cmos_[kRegB] & kBBinary) ? value : (value >> 4) * 10 + (value & 0xf);
}

uint8_t Mc146818Rtc::encode_hour(unsigned hour) const {
  if (cmos_[kRegB] & kB24Hour) return encode(hour);
  return uint8_t(encode(hour % 12 ? hour % 12 : 12) | (hour >= 12 ? kHourPm : 0));
}

uint8_t Mc146818Rtc::time_register(const Time& t, unsigned index) const {
  switch (index) {
    case kSeconds: return encode(t.second);
    case kMinutes: return encode(t.minute);
    case kHours: return encode_hour(t.hour);
    case kWeekday: return encode(t.weekday);
    case kDay: return encode(t.day);
    case kMonth: return encode(t.month);
    default: return encode(unsigned(((t.year % 100) + 100) % 100));
  }
}

void Mc146818Rtc::set_time_register(unsigned index, uint8_t value, uint64_t now_ns) {
  Time t = time_now(now_ns);
  switch (index) {
    case kSeconds: t.second = decode(value); break;
    case kMinutes: t.minute = decode(value); break;
    case kHours:
      if (cmos_[kRegB] & kB24Hour) {
        t.hour = decode(value);
      } else {
        t.hour = decode(value & ~kHourPm) % 12 + ((value & kHourPm) ? 12 : 0);
      }
      break;
    case kWeekday: t.weekday = decode(value); break;
    case kDay: t.day = decode(value); break;
    case kMonth: t.month = decode(value); break;
    default: {
      // Two digits: 70..99 are 19xx, 00..69 are 20xx, as Linux's mc146818 library reads them.
      const unsigned yy = decode(value) % 100;
      t.year = yy < 70 ? 2000 + yy : 1900 + yy;
      break;
    }
  }
  if (!running()) {
    held_ = t;
    return;
  }
  // Keep the update phase: the next update still comes when it would have.
  base_ns_ = now_ns - (now_ns - base_ns_) % kNsPerSecond;
  base_seconds_ = to_epoch(t);
  plan_boundaries();
}

void Mc146818Rtc::write_control(unsigned index, uint8_t value, uint64_t now_ns) {
  const bool was_running = running();
  const uint8_t old_divider = cmos_[kRegA] & kADividerMask;
  if (index == kRegA) {
    cmos_[kRegA] = value & ~kAUip;
  } else {
    // Setting SET stops updates and clears UIE (data sheet, register B bit 7).
    cmos_[kRegB] = (value & kBSet) ? uint8_t(value & ~kBUie) : value;
  }
  const uint8_t divider = cmos_[kRegA] & kADividerMask;
  if (divider == kADividerNormal && old_divider != kADividerNormal) divider_ns_ = now_ns;
  if (was_running && !running()) {
    held_ = to_time(seconds_now(now_ns));
  } else if (!was_running && running()) {
    base_seconds_ = to_epoch(held_);
    base_ns_ = now_ns;  // the first update comes a second after updates resume
  }
  plan_boundaries();
}

uint64_t Mc146818Rtc::periodic_ticks() const {
  const unsigned rate = cmos_[kRegA] & kARateMask;
  if (!rate || (cmos_[kRegA] & kADividerMask) != kADividerNormal) return 0;
  return rate <= 2 ? uint64_t(1) << (rate + 6) : uint64_t(1) << (rate - 1);
}

bool Mc146818Rtc::alarm_matches(int64_t epoch_seconds) const {
  const Time t = to_time(epoch_seconds);
  const auto match = [](uint8_t alarm, uint8_t now) { return (alarm & kAlarmDontCare) == kAlarmDontCare || alarm == now; };
  return match(cmos_[kSecondsAlarm], time_register(t, kSeconds)) &&
         match(cmos_[kMinutesAlarm], time_register(t, kMinutes)) &&
         match(cmos_[kHoursAlarm], time_register(t, kHours));
}

void Mc146818Rtc::plan_boundaries() {
  next_tick_ns_ = std::numeric_limits<uint64_t>::max();
  if (const uint64_t period = periodic_ticks()) {
    const uint64_t k = ticks_in(synced_ns_ - divider_ns_, kDividerHz) / period + 1;
    next_tick_ns_ = divider_ns_ + ns_for(k * period, kDividerHz);
  }
  next_update_ns_ = std::numeric_limits<uint64_t>::max();
  if (running()) {
    const uint64_t from = std::max(synced_ns_, base_ns_);
    next_update_ns_ = base_ns_ + ((from - base_ns_) / kNsPerSecond + 1) * kNsPerSecond;
  }
}

void Mc146818Rtc::advance(uint64_t now_ns) {
  if (now_ns <= synced_ns_) return;
  if (now_ns < std::min(next_tick_ns_, next_update_ns_)) {  // no flag can latch yet
    synced_ns_ = now_ns;
    return;
  }
  if (now_ns >= next_tick_ns_) pf_ = true;
  if (now_ns >= next_update_ns_) {
    uf_ = true;
    const int64_t before = seconds_now(std::max(synced_ns_, base_ns_)), after = seconds_now(now_ns);
    // One day of updates covers every alarm pattern; a longer skip need not look further.
    for (int64_t s = std::max(before + 1, after - kSecondsPerDay); s <= after && !af_; ++s) {
      af_ = alarm_matches(s);
    }
  }
  synced_ns_ = now_ns;
  plan_boundaries();
}

bool Mc146818Rtc::irqf() const {
  const uint8_t b = cmos_[kRegB];
  return (pf_ && (b & kBPie)) || (af_ && (b & kBAie)) || (uf_ && (b & kBUie));
}

bool Mc146818Rtc::irq(uint64_t now_ns) {
  advance(now_ns);
  return irqf();
}

uint64_t Mc146818Rtc::next_event_ns(uint64_t now_ns) {
  advance(now_ns);
  uint64_t next = std::numeric_limits<uint64_t>::max();
  if (irqf()) return next;  // the line is already up; only a register C read lowers it
  const uint8_t b = cmos_[kRegB];
  if (b & kBPie) next = next_tick_ns_;
  // Alarms are checked at updates, so the next update is the next time one can fire.
  if (b & (kBUie | kBAie)) next = std::min(next, next_update_ns_);
  return next;
}

uint8_t Mc146818Rtc::read(uint16_t port, uint64_t now_ns) {
  if (port == 0x70) return 0xff;  // the index register is write-only
  advance(now_ns);
  switch (index_) {
    case kSeconds: case kMinutes: case kHours: case kWeekday: case kDay: case kMonth: case kYear:
      return time_register(time_now(now_ns), index_);
    case kRegA: {
      const bool uip = running() && now_ns >= next_update_ns_ - kUipNs;
      return uint8_t(cmos_[kRegA] | (uip ? kAUip : 0));
    }
    case kRegC: {
      const uint8_t c = uint8_t((irqf() ? kCIrqf : 0) | (pf_ ? kCPf : 0) | (af_ ? kCAf : 0) | (uf_ ? kCUf : 0));
      pf_ = af_ = uf_ = false;  // reading C clears it and lowers IRQ8
      return c;
    }
    case kRegD: return kDValidRam;
    default: return cmos_[index_];
  }
}

void Mc146818Rtc::write(uint16_t port, uint8_t value, uint64_t now_ns) {
  if (port == 0x70) {
    index_ = value & 0x7f;  // bit 7 is the PC's NMI mask, which Malta does not wire
    return;
  }
  advance(now_ns);
  switch (index_) {
    case kSeconds: case kMinutes: case kHours: case kWeekday: case kDay: case kMonth: case kYear:
      set_time_register(index_, value, now_ns);
      break;
    case kRegA: case kRegB: write_control(index_, value, now_ns); break;
    case kRegC: case kRegD: errors_.report(index_, "write to a read-only register"); break;
    default: cmos_[index_] = value; break;
  }
}

}  // namespace disco::malta
