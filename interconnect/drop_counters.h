// DropCounters: how many incoming (or undeliverable outgoing) messages a node dropped, per
// DropReason, with a rate-limited log line for each. Every decoder takes one by reference and
// calls drop() instead of asserting (STYLE habit 10): hostile input costs a counter, not a crash.
//
// Each node (and each test) owns its own; there is no global instance. Thread-safe and
// lock-free: pcpus and the protocol engine drop concurrently.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "interconnect/message.h"

namespace disco {

class DropCounters {
 public:
  // Sets spdlog up (see drop_counters.cpp).
  DropCounters();
  DropCounters(const DropCounters&) = delete;
  DropCounters& operator=(const DropCounters&) = delete;

  void drop(DropReason reason, std::string_view detail);
  // Counts one drop and logs "dropped <reason>: <detail>" at warn level, at most about once per
  // second per reason; the next line that gets through says how many were suppressed meanwhile,
  // so a flood of garbage cannot drown the log or slow the receiver down.

  uint64_t count(DropReason reason) const;
  uint64_t total() const;

 private:
  struct alignas(64) Slot {  // one cache line per reason: receivers on many threads bump these
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> suppressed{0};  // drops not logged since the last line
    std::atomic<int64_t> next_log_ns{0};  // steady-clock time before which lines are suppressed
  };
  std::array<Slot, kDropReasons> slots_;
};

}  // namespace disco
