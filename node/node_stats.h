// Counters of a node, declared once with a name and a one-line description (zsim's stats
// habit). Each pcpu writes only its own cache-line-aligned block, with plain relaxed adds;
// the report sums them.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstddef>
#include <string_view>

namespace disco {

// A counter its owner thread bumps and any thread may read for a progress report.
struct Counter {
  std::atomic<uint64_t> v{0};
  void add(uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

// Each counter is declared once below, in a table with its name and description; the reports
// (node<i>-stats.json, the summary) carry both.
struct alignas(64) PcpuStats {
  Counter hits, local_misses, remote_2hop, remote_3hop, sc_success, sc_failure, failed_accesses, miss_penalty_ps,
      miss_host_ns;

  uint64_t accesses() const { return hits.get() + local_misses.get() + remote_2hop.get() + remote_3hop.get(); }
  // Modelled time: every access costs access_ps, every miss its class's latency on top.
  uint64_t virtual_ps(uint64_t access_ps) const { return accesses() * access_ps + miss_penalty_ps.get(); }
};

// Counters of the node's cache controller and home directory (bumped under their locks).
struct alignas(64) NodeStats {
  Counter invalidations, forwards, writebacks, evictions, stalls, stale_evictions, deferred_forwards,
      protocol_errors, nacks, unheld_invalidations, lines_sent, revocation_barriers;
};

template <class Stats>
struct CounterInfo {
  std::string_view name;
  std::string_view description;
  Counter Stats::*member;
};

inline constexpr CounterInfo<PcpuStats> kPcpuCounters[] = {
    {"hits", "accesses served by the node's cache, no message", &PcpuStats::hits},
    {"local_misses", "misses to lines homed on this node, granted by it", &PcpuStats::local_misses},
    {"remote_2hop", "misses granted by a remote home (request, grant)", &PcpuStats::remote_2hop},
    {"remote_3hop", "misses granted by the line's owner on its home's forward", &PcpuStats::remote_3hop},
    {"sc_success", "store-conditionals that stored", &PcpuStats::sc_success},
    {"sc_failure", "store-conditionals that failed: link lost or word changed", &PcpuStats::sc_failure},
    {"failed_accesses", "accesses refused: nacked, home dead, or run stopping", &PcpuStats::failed_accesses},
    {"miss_penalty_ps", "modelled latency of the misses (virtual time), ps", &PcpuStats::miss_penalty_ps},
    {"miss_host_ns", "host time spent waiting for grants, ns", &PcpuStats::miss_host_ns},
};

inline constexpr CounterInfo<NodeStats> kNodeCounters[] = {
    {"invalidations", "Inv messages this home sent", &NodeStats::invalidations},
    {"forwards", "FwdGetS/FwdGetX this home sent to owners", &NodeStats::forwards},
    {"writebacks", "PutM this node's cache sent (dirty evictions)", &NodeStats::writebacks},
    {"evictions", "lines this node's cache evicted", &NodeStats::evictions},
    {"stalls", "requests parked behind a busy line at this home", &NodeStats::stalls},
    {"stale_evictions", "eviction notices that crossed a forward or an invalidation", &NodeStats::stale_evictions},
    {"deferred_forwards", "forwards that waited for this node's grant in flight", &NodeStats::deferred_forwards},
    {"protocol_errors", "messages no correct peer sends, dropped by the protocol", &NodeStats::protocol_errors},
    {"nacks", "requests this home refused", &NodeStats::nacks},
    {"unheld_invalidations", "Inv this node acked holding nothing: a coarse sharer vector's extra fan-out past 64 nodes, or a race",
     &NodeStats::unheld_invalidations},
    {"lines_sent", "grants, writebacks and acks this node sent with a line's bytes (to and from other hosts)",
     &NodeStats::lines_sent},
    {"revocation_barriers", "membarrier(2) calls: a line this node lost was in the filter of a pcpu that may be accessing it",
     &NodeStats::revocation_barriers},
};

// Visits every counter with its name, description and value, in table order.
template <class Stats, size_t N, class F>
void for_each_counter(const Stats& s, const CounterInfo<Stats> (&table)[N], F&& f) {
  for (const auto& c : table) f(c.name, c.description, (s.*c.member).get());
}

}  // namespace disco
