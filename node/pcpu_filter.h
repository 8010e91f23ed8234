// A pcpu's view of the permissions its node's cache holds: a small direct-mapped array of
// read and write tags (zsim's FilterCache). The hit check is one compare of a tag, no lock.
//
// Revocation is the asymmetric half: CacheController clears the tags under its lock, issues
// membarrier() so every pcpu thread has passed a full barrier, and then waits while a pcpu
// still announces (in `active`) an access to that line that began before the tag was cleared.
// Pcpus therefore pay two plain stores per access, not a fence.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "node/coherence_types.h"

namespace disco {

class PcpuFilter {
  // Entries of 16 bytes ahead of the tags, the first holding the announcement: 512 bytes, as its
  // stores slowed a loop's tag checks nearby (within 128 bytes) on an AMD EPYC.
  static constexpr unsigned kHead = 32;

 public:
  static constexpr LineAddr kNone = ~LineAddr{0};
  struct Entry {
    std::atomic<LineAddr> rd{kNone};
    std::atomic<LineAddr> wr{kNone};
  };

  explicit PcpuFilter(uint32_t entries_pow2)
      : mask_(entries_pow2 - 1),
        block_(std::make_unique<Entry[]>(kHead + entries_pow2)),
        active_(block_[0].rd),
        entries_(block_.get() + kHead) {}
  PcpuFilter(const PcpuFilter&) = delete;
  PcpuFilter& operator=(const PcpuFilter&) = delete;

  // The hit path: announce the access, then check the tag. On true the caller performs its
  // access and calls end(); on false nothing is announced any more.
  template <Access A>
  bool begin(LineAddr line) {
    active_.store(line, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    const Entry& e = entries_[line & mask_];
    if ((A == Access::Read ? e.rd : e.wr).load(std::memory_order_relaxed) == line) return true;
    active_.store(kNone, std::memory_order_relaxed);
    return false;
  }
  void end() { active_.store(kNone, std::memory_order_release); }

  // Under the cache controller's lock only.
  void fill(LineAddr line, bool writable) {
    Entry& e = entries_[line & mask_];
    if (e.rd.load(std::memory_order_relaxed) != line) e.wr.store(kNone, std::memory_order_relaxed);
    e.rd.store(line, std::memory_order_relaxed);
    if (writable) e.wr.store(line, std::memory_order_relaxed);
  }
  // Clears this line's tags (all, or the write tag only); true if the filter held any.
  // The LL link is broken separately, once no access of the line is in flight (break_link).
  bool revoke(LineAddr line, bool keep_read) {
    Entry& e = entries_[line & mask_];
    bool held = false;
    if (e.wr.load(std::memory_order_relaxed) == line) {
      e.wr.store(kNone, std::memory_order_relaxed);
      held = true;
    }
    if (!keep_read && e.rd.load(std::memory_order_relaxed) == line) {
      e.rd.store(kNone, std::memory_order_relaxed);
      held = true;
    }
    return held;
  }
  void break_link(LineAddr line) {
    if (link_.load(std::memory_order_relaxed) == line) link_.store(kNone, std::memory_order_relaxed);
  }
  bool in_access(LineAddr line) const { return active_.load(std::memory_order_acquire) == line; }

  // For code generated at run time that does begin()/end() itself (MemoryPort::HitPath). The
  // announcement lies just ahead of the entries, so such code reaches both from one register.
  std::atomic<LineAddr>* active() { return &active_; }
  const Entry* entries() const { return entries_; }
  LineAddr mask() const { return mask_; }

  // LL/SC: the link names the line of the last LL; losing the line clears it.
  void link(LineAddr line) { link_.store(line, std::memory_order_relaxed); }
  bool linked(LineAddr line) const { return link_.load(std::memory_order_relaxed) == line; }
  void unlink() { link_.store(kNone, std::memory_order_relaxed); }

 private:
  // The announcement and the entries in one allocation, the announcement kHead entries ahead.
  std::atomic<LineAddr> link_{kNone};
  const LineAddr mask_;
  std::unique_ptr<Entry[]> block_;
  std::atomic<LineAddr>& active_;  // the line being accessed, or kNone: block_[0].rd
  Entry* const entries_;           // block_ + kHead
};

}  // namespace disco
