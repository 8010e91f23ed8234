#include "interconnect/drop_counters.h"

#include <chrono>

#include <spdlog/spdlog.h>

namespace disco {

namespace {

constexpr int64_t kLogIntervalNs = 1'000'000'000;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

DropCounters::DropCounters() {
  // drop() is often a process's first log line, from any of several threads (a node's engine and
  // pcpus). spdlog builds its registry on first use, inside Debian's libspdlog, which is not built
  // with TSan: TSan cannot see that construction guarded and reports it racing with the threads.
  // Built here, by the thread that makes the counters before those threads exist, it is not.
  spdlog::default_logger_raw();
}

void DropCounters::drop(DropReason reason, std::string_view detail) {
  const auto i = static_cast<size_t>(reason);
  if (i >= slots_.size()) return;  // not a DropReason of this build: a caller bug, nothing to count
  Slot& s = slots_[i];
  s.count.fetch_add(1, std::memory_order_relaxed);

  // Whoever moves next_log_ns forward owns this interval's log line; everyone else is counted
  // as suppressed and reported by the next line.
  const int64_t now = now_ns();
  int64_t next = s.next_log_ns.load(std::memory_order_relaxed);
  if (now < next || !s.next_log_ns.compare_exchange_strong(next, now + kLogIntervalNs,
                                                           std::memory_order_relaxed)) {
    s.suppressed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const uint64_t suppressed = s.suppressed.exchange(0, std::memory_order_relaxed);
  if (suppressed == 0)
    spdlog::warn("dropped {}: {}", name(reason), detail);
  else
    spdlog::warn("dropped {}: {} ({} more since the last line)", name(reason), detail,
                 suppressed);
}

uint64_t DropCounters::count(DropReason reason) const {
  const auto i = static_cast<size_t>(reason);
  return i < slots_.size() ? slots_[i].count.load(std::memory_order_relaxed) : 0;
}

uint64_t DropCounters::total() const {
  uint64_t sum = 0;
  for (const Slot& s : slots_) sum += s.count.load(std::memory_order_relaxed);
  return sum;
}

}  // namespace disco
