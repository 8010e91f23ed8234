// Conversions between the guest's virtual time (now_ns) and a device's own clock (the 8254's
// 1.193182 MHz, the RTC's 32.768 kHz, the PM timer's 3.579545 MHz). Split so the product never
// overflows 64 bits: the devices compute their state from the clock lazily (STYLE habit 5).
#pragma once

#include <cstdint>

namespace disco::malta {

inline constexpr uint64_t kNsPerSecond = 1'000'000'000;

// floor(ns * hz / 1e9): the device clock's ticks in ns nanoseconds.
constexpr uint64_t ticks_in(uint64_t ns, uint64_t hz) {
  return ns / kNsPerSecond * hz + ns % kNsPerSecond * hz / kNsPerSecond;
}

// The fewest nanoseconds that hold `ticks` ticks of an hz clock: ticks_in(ns_for(t, hz), hz) == t.
constexpr uint64_t ns_for(uint64_t ticks, uint64_t hz) {
  return ticks / hz * kNsPerSecond + (ticks % hz * kNsPerSecond + hz - 1) / hz;
}

}  // namespace disco::malta
