// splitmix64: a small, fast generator, good enough to pick addresses and operations, and
// reproducible from a seed (workloads and the protocol tester print theirs).
#pragma once

#include <cstdint>

namespace disco {

struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
};

}  // namespace disco
