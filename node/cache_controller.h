// The cache side of the protocol for one node: its finite cache (LineCacheModel), the misses
// in flight (one MSHR per line, shared by the node's pcpus), the eviction buffer, and the
// per-pcpu filters it keeps a subset of.
//
// Call sequence of a miss, on the pcpu's thread:
//   begin_miss() -> Issued: deliver `out`, wait for the reply on the pcpu's port, then
//   on_reply() -> the grant is installed; do the access; finish_miss() (runs the forwards that
//   arrived while the grant was in flight, after the access: forward progress).
//   begin_miss() -> Retry: another pcpu's miss or an eviction of the line is in flight;
//   wait_change() and begin again. -> Hit: the node already had it; the filter now has it.
// The node's engine calls on_forward() (Inv/FwdGetS/FwdGetX) and on_put_ack().
// Nothing here sends: every handler appends to `out` for its caller to deliver unlocked.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "node/coherence_types.h"
#include "node/line_cache_model.h"
#include "node/line_data.h"
#include "node/node_stats.h"
#include "node/pcpu_filter.h"
#include "shm/machine_types.h"

namespace disco {

class CacheController {
 public:
  // `data` moves line bytes in and out of this node's copies on the cluster data path; it must
  // outlive the controller.
  CacheController(NodeId self, const MachineGeometry& g, const CacheConfig& c, uint32_t pcpus,
                  const LineData& data, NodeStats& stats);

  PcpuFilter& filter(PcpuId p) { return *filters_[p]; }

  enum class Begin { Hit, Issued, Retry };
  // On Retry, `seen` receives the change count to hand to wait_change.
  Begin begin_miss(PcpuId p, LineAddr line, Access want, Sends& out, uint64_t* seen = nullptr);
  // A hint before begin_miss: starts loading the line's set of the cache model (no lock needed).
  void prefetch(LineAddr line) const { tags_.prefetch(line); }

  enum class Reply { Granted, Refused, NotMine };
  // A Grant or Nack that arrived on pcpu p's port. Granted: p may now perform its access.
  Reply on_reply(PcpuId p, const Message& m, Sends& out);
  void finish_miss(PcpuId p, LineAddr line, Sends& out);
  // The pcpu gives up its miss (home died, run stopping); a late reply is then dropped.
  void abandon_miss(PcpuId p, LineAddr line, Sends& out);
  // Blocks until a miss or eviction completed in this node since begin_miss saw `seen`, or timeout.
  void wait_change(uint64_t seen, int timeout_ms);

  void on_forward(const Message& m, Sends& out);
  void on_put_ack(const Message& m);

  LineState state_of(LineAddr line);  // for tests and the random checker
  bool idle();                         // no miss or eviction in flight (tests)

 private:
  struct Mshr {
    PcpuId issuer;
    uint32_t txn;
    MsgKind kind;                  // GetS or GetX
    bool granted = false;
    bool invalidated = false;      // an Inv was acked while this GetS waited: a Shared grant is used once
    std::vector<Message> deferred; // forwards for the grant in flight, run after the access
  };

  void serve_forward(const Message& m, Sends& out);  // under mu_, no MSHR for the line
  // Under mu_: ends a miss and runs the forwards that waited for it.
  void close_miss(std::unordered_map<LineAddr, Mshr>::iterator it, Sends& out);
  // Under mu_: clears the line's tags in every filter, then waits for the accesses that may have
  // read one before. `quiet`: a pcpu in no access (it waits for its miss, which this serves), so
  // that its filter alone needs no barrier (a lone pcpu's own evictions cost no membarrier(2)).
  void revoke(LineAddr line, bool keep_read, std::optional<PcpuId> quiet = std::nullopt);
  void install(PcpuId p, LineAddr line, LineState s, bool want_write, Sends& out);
  void evict(LineCacheModel::Way& w, Sends& out, std::optional<PcpuId> quiet = std::nullopt);
  void reply_to_forward(const Message& f, LineState held, Sends& out);

  const NodeId self_;
  const MachineGeometry geometry_;
  const LineData& data_;
  NodeStats& stats_;
  std::mutex mu_;
  std::condition_variable changed_;
  uint64_t changes_ = 0;  // completed misses and evictions, under mu_
  LineCacheModel tags_;
  std::vector<std::unique_ptr<PcpuFilter>> filters_;
  std::vector<uint32_t> next_txn_;                 // per pcpu
  std::unordered_map<LineAddr, Mshr> mshrs_;
  std::unordered_map<LineAddr, LineState> evicting_;  // Put sent, PutAck not yet back
};

}  // namespace disco
