// A pcpu's access to machine memory: load/store of 1, 2, 4 and 8 bytes and LL/SC, the API the
// MIPS CPU uses. The way of one access (DESIGN §4): filter tag hit? -> host pointer into the
// home node's segment. On a miss the MissPath (the node) asks the home and blocks until the
// grant; the access is then done while the grant is still held, so it always completes.
//
// Callers pass naturally aligned addresses (the CPU raises address errors before this);
// addresses outside the machine fail the access.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include "node/coherence_types.h"
#include "node/node_stats.h"
#include "node/pcpu_filter.h"
#include "node/timing.h"
#include "shm/machine_types.h"

namespace disco {

// How a miss was served, for the counters and virtual time.
enum class MissClass : uint8_t { NodeHit, Local, Remote2Hop, Remote3Hop };
inline constexpr unsigned kMissClasses = 4;

// The modelled latency of a miss served this way (node/timing.h; a node hit costs none).
inline uint32_t miss_latency_ns(const TimingConfig& t, MissClass how) {
  switch (how) {
    case MissClass::NodeHit: return 0;
    case MissClass::Local: return t.local_miss_ns;
    case MissClass::Remote2Hop: return t.remote_miss_ns;
    case MissClass::Remote3Hop: return t.remote_dirty_ns;
  }
  return 0;
}

// Where a pcpu's misses are paid for in guest time: while a vcpu runs on the pcpu, each miss
// advances that vcpu's clock (its cycle count) by the miss's modelled latency, so guest time shows
// where memory is (DESIGN §5). Owned by whoever owns the clock (a VM); the port only adds to it.
struct MissCharge {
  uint64_t* clock = nullptr;
  std::array<uint64_t, kMissClasses> cycles{};   // what one miss of each class costs (NodeHit: 0)
  std::array<uint64_t, kMissClasses> charged{};  // the cycles charged so far, by class
};

class MissPath {
 public:
  virtual ~MissPath() = default;
  // Blocks until pcpu p holds `want` on `line`. Returns false if it cannot (nack, home down,
  // stopping). On true with held == true the caller must call release() after its access.
  virtual bool acquire(PcpuId p, LineAddr line, Access want, MissClass& how, bool& held) = 0;
  virtual void release(PcpuId p, LineAddr line) = 0;
  // The raw round trip of the interconnect from pcpu p to node dst's engine and back, on the
  // same sockets a miss uses (the benchmark's yardstick). False if no answer came.
  virtual bool ping(PcpuId p, NodeId dst, uint64_t& rtt_ns) = 0;
};

class MemoryPort {
 public:
  MemoryPort(PcpuId id, PcpuFilter& filter, uint8_t* host_base, const MachineGeometry& g,
             const TimingConfig& t, PcpuStats& stats, MissPath& miss)
      : id_(id), filter_(filter), base_(host_base), shift_(g.line_shift()), total_lines_(g.total_lines()),
        access_ps_(t.access_ps()), timing_(t), stats_(stats), miss_(miss) {}

  template <class T>
  bool load(MachineAddr a, T& out) {
    static_assert(std::is_unsigned_v<T> && sizeof(T) <= 8);
    const LineAddr l = a >> shift_;
    if (filter_.begin<Access::Read>(l)) [[likely]] {
      out = __atomic_load_n(reinterpret_cast<T*>(base_ + a), __ATOMIC_RELAXED);
      filter_.end();
      hit();
      return true;
    }
    return slow<Access::Read>(l, [&] { out = __atomic_load_n(reinterpret_cast<T*>(base_ + a), __ATOMIC_RELAXED); });
  }

  template <class T>
  bool store(MachineAddr a, T v) {
    static_assert(std::is_unsigned_v<T> && sizeof(T) <= 8);
    const LineAddr l = a >> shift_;
    if (filter_.begin<Access::Write>(l)) [[likely]] {
      __atomic_store_n(reinterpret_cast<T*>(base_ + a), v, __ATOMIC_RELAXED);
      filter_.end();
      hit();
      return true;
    }
    return slow<Access::Write>(l, [&] { __atomic_store_n(reinterpret_cast<T*>(base_ + a), v, __ATOMIC_RELAXED); });
  }

  // Writes `bytes` at `a` line by line, each with write permission: a loader's bulk write where
  // the lines' bytes travel (a cluster), so that they reach whoever reads them next. False if a
  // line could not be had (outside the machine, a peer down); the lines before it are written.
  bool write(MachineAddr a, std::span<const uint8_t> bytes) {
    const uint64_t line_bytes = uint64_t{1} << shift_;
    while (!bytes.empty()) {
      const size_t chunk = std::min<uint64_t>(bytes.size(), line_bytes - a % line_bytes);
      const auto body = [&] { std::memcpy(base_ + a, bytes.data(), chunk); };
      const LineAddr l = a >> shift_;
      if (filter_.begin<Access::Write>(l)) {
        body();
        filter_.end();
        hit();
      } else if (!slow<Access::Write>(l, body)) {
        return false;
      }
      a += chunk;
      bytes = bytes.subspan(chunk);
    }
    return true;
  }

  // Load-linked: a load that links this pcpu to the line until it loses the line.
  template <class T>
  bool load_linked(MachineAddr a, T& out) {
    static_assert(sizeof(T) == 4 || sizeof(T) == 8);
    const LineAddr l = a >> shift_;
    auto body = [&] {
      out = __atomic_load_n(reinterpret_cast<T*>(base_ + a), __ATOMIC_RELAXED);
      link_value_ = out;
      filter_.link(l);
    };
    if (filter_.begin<Access::Read>(l)) {
      body();
      filter_.end();
      hit();
      return true;
    }
    return slow<Access::Read>(l, body);
  }

  // Store-conditional: stores only if the line was not lost since the LL and the word still
  // holds what the LL read (the compare makes the store atomic against this node's other
  // pcpus, which share the node's permission). `stored` tells the outcome.
  template <class T>
  bool store_conditional(MachineAddr a, T v, bool& stored) {
    static_assert(sizeof(T) == 4 || sizeof(T) == 8);
    const LineAddr l = a >> shift_;
    stored = false;
    auto body = [&] {
      T expected = static_cast<T>(link_value_);
      stored = filter_.linked(l) && __atomic_compare_exchange_n(reinterpret_cast<T*>(base_ + a), &expected, v,
                                                                false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
    };
    bool ok = true;
    if (!filter_.linked(l)) {
      // fails without touching memory
    } else if (filter_.begin<Access::Write>(l)) {
      body();
      filter_.end();
      hit();
    } else {
      ok = slow<Access::Write>(l, body);
    }
    if (!ok) return false;  // not performed (its miss could not be served): nothing decided
    filter_.unlink();
    (stored ? stats_.sc_success : stats_.sc_failure).add();
    return true;
  }

  bool ping(NodeId dst, uint64_t& rtt_ns) { return miss_.ping(id_, dst, rtt_ns); }

  // What code generated at run time needs to do this port's hit path itself, exactly as load()
  // and store() do: store the line to `active`, compare entries[line & mask].rd (a load) or .wr
  // (a store) with the line, access host_base + address, store PcpuFilter::kNone (~0) to
  // `active` (which lies just ahead of `entries`), add 1 to `hits`
  // (this pcpu is its only writer). A tag that differs leaves it to load()/store().
  struct HitPath {
    uint8_t* host_base;
    uint32_t line_shift;
    std::atomic<LineAddr>* active;
    const PcpuFilter::Entry* entries;
    LineAddr mask;
    std::atomic<uint64_t>* hits;
  };
  HitPath hit_path() { return {base_, shift_, filter_.active(), filter_.entries(), filter_.mask(), &stats_.hits.v}; }

  PcpuId id() const { return id_; }
  uint64_t virtual_ps() const { return stats_.virtual_ps(access_ps_); }
  const TimingConfig& timing() const { return timing_; }
  // From now on this pcpu's misses are charged to `c` (null: to no one). The pcpu's thread only.
  void charge_misses_to(MissCharge* c) { charge_ = c; }

 private:
  // A hit bumps one counter: virtual time is derived from the counts (PcpuStats::virtual_ps).
  void hit() { stats_.hits.add(); }
  void account(MissClass how);

  template <Access A, class Body>
  bool slow(LineAddr l, Body&& body) {
    if (l >= total_lines_) {
      stats_.failed_accesses.add();
      return false;
    }
    for (;;) {
      MissClass how;
      bool held = false;
      if (!miss_.acquire(id_, l, A, how, held)) {
        stats_.failed_accesses.add();
        return false;
      }
      if (held) {
        body();
        miss_.release(id_, l);
        account(how);
        return true;
      }
      // The node's cache had it and the filter now does: take the hit path (it may have been
      // revoked again in between, then go round once more).
      if (filter_.begin<A>(l)) {
        body();
        filter_.end();
        hit();
        return true;
      }
    }
  }

  const PcpuId id_;
  PcpuFilter& filter_;
  uint8_t* const base_;
  const uint32_t shift_;
  const uint64_t total_lines_;
  const uint64_t access_ps_;
  const TimingConfig timing_;
  PcpuStats& stats_;
  MissPath& miss_;
  uint64_t link_value_ = 0;
  MissCharge* charge_ = nullptr;
};

}  // namespace disco
