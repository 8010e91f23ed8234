// Virtual time (DESIGN §5): what each pcpu charges per access and per memory event. The
// defaults are the paper's FLASH figures: local miss 300 ns, remote miss 900 ns. A miss served
// by a third node's cache crosses the network once more: remote + (remote - local) by default.
#pragma once

#include <cstdint>
#include <string>

#include <fmt/format.h>

namespace disco {

struct TimingConfig {
  uint32_t cpu_mhz = 1000;
  uint32_t cycles_per_access = 1;
  uint32_t local_miss_ns = 300;
  uint32_t remote_miss_ns = 900;
  uint32_t remote_dirty_ns = 1500;

  uint64_t access_ps() const { return uint64_t{cycles_per_access} * 1'000'000 / cpu_mhz; }
  std::string check() const {
    if (cpu_mhz == 0 || cpu_mhz > 100000) return fmt::format("--cpu-mhz {}: must be 1..100000 MHz", cpu_mhz);
    return {};
  }
};

}  // namespace disco
