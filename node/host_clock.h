// Host time on the hot paths: the time stamp counter. A miss timed with steady_clock read the
// clock twice, and in a VM (kvm-clock) each read costs tens of ns: 9 % of a TLB-heavy guest's
// host time. The TSC is constant and nonstop on the x86 hosts we run on (constant_tsc,
// nonstop_tsc); its rate is measured once per process against steady_clock.
#pragma once

#include <cstdint>

namespace disco {

inline uint64_t host_ticks() { return __builtin_ia32_rdtsc(); }

// Ticks per microsecond: measured over 5 ms at the first call (make it before timing starts).
uint64_t host_ticks_per_us();

inline uint64_t host_ticks_to_ns(uint64_t ticks) { return ticks * 1000 / host_ticks_per_us(); }

}  // namespace disco
