// The finite cache of a node: a set-associative tag store with LRU replacement, so capacity
// and conflict misses to remote memory exist (page migration only matters if they do). It
// holds tags and MESI states only; on one host the bytes stay in the home segment.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "node/coherence_types.h"

namespace disco {

struct CacheConfig {
  uint64_t size_bytes = 1 << 20;
  uint32_t ways = 8;
  // Per pcpu, a power of two: 8192 lines are the default cache's 1 MiB, so the filter seldom
  // forgets a line the cache holds (at 1024, cpuloop's ring and the guest's timer tick took
  // each other's entries, some 45 refills a tick). Evicting a line that filters hold costs a
  // membarrier(2) unless only the filter of the pcpu whose miss evicts it held the line
  // (CacheController::revoke's `quiet`), as is always so for a node of one pcpu.
  uint32_t filter_entries = 8192;
  std::string check(uint32_t line_bytes, uint32_t pcpus) const;  // empty if usable
};

class LineCacheModel {
 public:
  static constexpr LineAddr kNoLine = ~LineAddr{0};
  struct Way {
    LineAddr line = kNoLine;
    LineState state = LineState::I;
    uint64_t last_use = 0;
  };

  LineCacheModel(const CacheConfig& c, uint32_t line_bytes);

  Way* find(LineAddr line);
  // Starts loading the line's set into the host's cache (a hint; it reads nothing).
  void prefetch(LineAddr line) const {
    const Way* set = &ways_[set_start(line)];
    for (size_t b = 0; b < assoc_ * sizeof(Way); b += 64) __builtin_prefetch(reinterpret_cast<const char*>(set) + b, 1);
  }
  void touch(Way* w) { w->last_use = ++clock_; }
  // The way `line` should fill: an empty way of its set, else the least recently used way
  // for which `evictable(way)` holds; nullptr if every way is pinned.
  template <class Pred>
  Way* choose(LineAddr line, Pred evictable) {
    Way* set = &ways_[set_start(line)];
    Way* best = nullptr;
    for (uint32_t i = 0; i < assoc_; ++i) {
      Way* w = &set[i];
      if (w->line == kNoLine) return w;
      if (evictable(*w) && (best == nullptr || w->last_use < best->last_use)) best = w;
    }
    return best;
  }
  void clear(Way* w) { *w = Way{}; }

 private:
  // Where in ways_ the set `line` maps to begins.
  size_t set_start(LineAddr line) const { return (line % sets_) * assoc_; }
  uint64_t sets_;
  uint32_t assoc_;
  uint64_t clock_ = 0;
  std::vector<Way> ways_;
};

}  // namespace disco
