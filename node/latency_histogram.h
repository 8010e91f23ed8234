// A log-linear histogram of host nanoseconds (HDR-style: 16 sub-buckets per power of two, so
// a percentile is within ~6 %). Fixed size, mergeable, no sampling: what the node reports of
// the real cost of its misses and what `disco bench` computes medians and p99s from.
#pragma once

#include <array>
#include <cstdint>

#include <nlohmann/json.hpp>

namespace disco {

class LatencyHistogram {
 public:
  static constexpr unsigned kBuckets = 640;  // up to 2^40 ns

  void record(uint64_t ns) {
    ++buckets_[index(ns)];
    ++count_;
  }
  void merge(const LatencyHistogram& o);
  uint64_t count() const { return count_; }
  double percentile(double q) const;  // q in [0,1]; 0 when empty

  nlohmann::json to_json() const;  // {"count", "buckets": [[index, n], ...]} (sparse)
  static LatencyHistogram from_json(const nlohmann::json& j);  // ignores malformed rows

  static unsigned index(uint64_t ns) {
    if (ns < 32) return static_cast<unsigned>(ns);
    const unsigned msb = 63u - static_cast<unsigned>(__builtin_clzll(ns));
    const unsigned shift = msb - 4;
    const unsigned i = 32 + (shift - 1) * 16 + static_cast<unsigned>((ns >> shift) - 16);
    return i < kBuckets ? i : kBuckets - 1;
  }
  static double midpoint(unsigned i);

 private:
  std::array<uint32_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
};

}  // namespace disco
