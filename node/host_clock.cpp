#include "node/host_clock.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace disco {

uint64_t host_ticks_per_us() {
  static const uint64_t per_us = [] {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    const uint64_t c0 = host_ticks();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const uint64_t c1 = host_ticks();
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
    return us > 0 ? std::max<uint64_t>(1, (c1 - c0) / static_cast<uint64_t>(us)) : 1;
  }();
  return per_us;
}

}  // namespace disco
