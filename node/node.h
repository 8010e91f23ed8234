// One emulated NUMA node's coherence machinery, wired: its home directory, its cache
// controller, its pcpus' memory ports and the engine thread that serves the messages other
// nodes send it. The process around it (node_process.h) owns the memory and the transport.
//
// Call sequence: construct, start_engine(), run pcpu threads on port(p), stop_engine().
// peer_down() and stop() make waiting pcpus give up at once instead of hanging.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "interconnect/drop_counters.h"
#include "interconnect/transport.h"
#include "node/cache_controller.h"
#include "node/directory.h"
#include "node/latency_histogram.h"
#include "node/line_data.h"
#include "node/memory_port.h"
#include "node/monitor_service.h"
#include "node/node_stats.h"
#include "node/timing.h"

namespace disco {

struct NodeShape {
  MachineGeometry geometry;
  CacheConfig cache;
  TimingConfig timing;
  uint32_t pcpus = 1;
  HostMap hosts;  // which nodes share a host (one host: the default)
  WireLimits limits() const {
    return {geometry.nodes, pcpus, geometry.total_lines(), geometry.lines_per_node(), geometry.mem_per_node / kPageBytes,
            hosts.one_host() ? 0 : geometry.line_bytes};
  }
};

// The real cost of one pcpu's misses, by how they were served (written by the pcpu only).
struct PcpuLatency {
  LatencyHistogram local, remote_2hop, remote_3hop, transport_rtt;
  // Write misses by sharers invalidated: 1..kFanouts-2 each, then all that invalidated more.
  static constexpr unsigned kFanouts = 64;
  std::array<LatencyHistogram, kFanouts> by_fanout;
  static unsigned fanout_index(unsigned invalidated) { return std::min(invalidated, kFanouts - 1); }
};

class Node final : public MissPath {
 public:
  Node(NodeId self, const NodeShape& shape, uint8_t* host_base, Transport& transport, DropCounters& drops);
  ~Node() override;

  MemoryPort& port(PcpuId p) { return *ports_[p]; }
  PcpuStats& pcpu_stats(PcpuId p) { return pcpu_stats_[p]; }
  PcpuLatency& pcpu_latency(PcpuId p) { return *latency_[p]; }
  NodeStats& stats() { return stats_; }
  DropCounters& drops() { return drops_; }
  Directory& directory() { return directory_; }
  CacheController& cache() { return cache_; }
  NodeId id() const { return self_; }

  void start_engine();
  void stop_engine();
  void peer_down(NodeId n);
  void stop() { stopping_.store(true); }
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }

  // Where the engine delivers monitor messages (nullptr: they are dropped as Stale). The service
  // must outlive the engine, or be unset first.
  void set_monitor_service(MonitorService* service) { monitor_.store(service); }
  // From pcpu p: sends `request` (src, pcpu and txn filled in here) to node dst and waits for its
  // answer of kind `reply_kind` with the same txn, at most timeout_ms. False if none came (dst
  // down, stopping, timed out).
  bool call(PcpuId p, NodeId dst, Message request, MsgKind reply_kind, Message& reply, int timeout_ms);
  // From any thread: sends `m` (src filled in here) to node dst, without waiting. False if the
  // transport would not take it (counted as SendFailed).
  bool post(NodeId dst, Message m);

  bool acquire(PcpuId p, LineAddr line, Access want, MissClass& how, bool& held) override;
  void release(PcpuId p, LineAddr line) override;
  bool ping(PcpuId p, NodeId dst, uint64_t& rtt_ns) override;

 private:
  void engine_loop();
  // Delivers `out` (which grows while local handlers run): remote ones through the transport,
  // local ones in this thread; replies for pcpu `me` are appended to `mine`.
  void deliver(Sends& out, int me, std::vector<Message>* mine);
  MissClass classify(const Message& grant, NodeId home) const;

  const NodeId self_;
  const NodeShape shape_;
  const WireLimits limits_;
  Transport& transport_;
  DropCounters& drops_;
  NodeStats stats_;
  LineData line_data_;
  std::unique_ptr<PcpuStats[]> pcpu_stats_;
  std::vector<std::unique_ptr<PcpuLatency>> latency_;
  Directory directory_;
  CacheController cache_;
  std::vector<std::unique_ptr<MemoryPort>> ports_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> engine_stop_{false};
  std::array<std::atomic<bool>, kMaxNodes> dead_{};
  std::vector<uint64_t> ping_seq_;  // per pcpu
  std::vector<uint32_t> call_txn_;  // per pcpu
  std::atomic<MonitorService*> monitor_{nullptr};
  std::thread engine_;
};

}  // namespace disco
