// Counters of a node, declared once with a name and a one-line description (zsim's stats
// habit). Each pcpu writes only its own cache-line-aligned block, with plain relaxed adds;
// the report sums them.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

namespace disco {

// A counter its owner thread bumps and any thread may read for a progress report.
struct Counter {
  std::atomic<uint64_t> v{0};
  void add(uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

struct alignas(64) PcpuStats {
  Counter hits;            // accesses served by the node's cache with no message
  Counter local_misses;    // misses served by this node as home, no other node involved
  Counter remote_2hop;     // misses served by a remote home (request, grant)
  Counter remote_3hop;     // misses served by the line's owner on the home's forward
  Counter sc_success;      // store-conditionals that stored
  Counter sc_failure;      // store-conditionals that failed (link lost or value changed)
  Counter failed_accesses; // accesses refused: nacked, or the home died
  Counter miss_penalty_ps; // modelled latency of this pcpu's misses, picoseconds
  Counter miss_host_ns;    // host time spent waiting in misses

  uint64_t accesses() const { return hits.get() + local_misses.get() + remote_2hop.get() + remote_3hop.get(); }
  // Modelled time: every access costs access_ps, every miss its class's latency on top.
  uint64_t virtual_ps(uint64_t access_ps) const { return accesses() * access_ps + miss_penalty_ps.get(); }
};

// Visits each counter of a PcpuStats with its name, in declaration order.
template <class F>
void for_each_counter(const PcpuStats& s, F&& f) {
  f("hits", s.hits.get());
  f("local_misses", s.local_misses.get());
  f("remote_2hop", s.remote_2hop.get());
  f("remote_3hop", s.remote_3hop.get());
  f("sc_success", s.sc_success.get());
  f("sc_failure", s.sc_failure.get());
  f("failed_accesses", s.failed_accesses.get());
  f("miss_penalty_ps", s.miss_penalty_ps.get());
  f("miss_host_ns", s.miss_host_ns.get());
}

// Counters of the node's cache controller and home directory (bumped under their locks).
struct alignas(64) NodeStats {
  Counter invalidations;     // Inv messages this home sent
  Counter forwards;          // FwdGetS/FwdGetX this home sent
  Counter writebacks;        // PutM this node's cache sent (dirty evictions)
  Counter evictions;         // all evictions of this node's cache
  Counter stalls;            // requests parked behind a busy line at this home
  Counter stale_evictions;   // eviction notices that crossed a forward or an invalidation
  Counter deferred_forwards; // forwards that waited for this node's grant in flight
  Counter protocol_errors;   // messages no correct peer sends (dropped)
  Counter nacks;             // requests this home refused
};

template <class F>
void for_each_counter(const NodeStats& s, F&& f) {
  f("invalidations", s.invalidations.get());
  f("forwards", s.forwards.get());
  f("writebacks", s.writebacks.get());
  f("evictions", s.evictions.get());
  f("stalls", s.stalls.get());
  f("stale_evictions", s.stale_evictions.get());
  f("deferred_forwards", s.deferred_forwards.get());
  f("protocol_errors", s.protocol_errors.get());
  f("nacks", s.nacks.get());
}

}  // namespace disco
