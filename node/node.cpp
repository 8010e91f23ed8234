#include "node/node.h"

#include <chrono>

#include <fmt/format.h>

#include "interconnect/codec.h"
#include "node/host_clock.h"
#include "node/route.h"

namespace disco {
namespace {
constexpr int kReplyPollMs = 20;   // how often a waiting pcpu looks at the stop and dead flags
constexpr int kEnginePollMs = 50;  // how often the engine looks at its stop flag
}  // namespace

Node::Node(NodeId self, const NodeShape& shape, uint8_t* host_base, Transport& transport, DropCounters& drops)
    : self_(self),
      shape_(shape),
      limits_(shape.limits()),
      transport_(transport),
      drops_(drops),
      line_data_(self, shape.geometry, shape.hosts, host_base),
      pcpu_stats_(std::make_unique<PcpuStats[]>(shape.pcpus)),
      directory_(self, shape.geometry, line_data_, stats_),
      cache_(self, shape.geometry, shape.cache, shape.pcpus, line_data_, stats_),
      ping_seq_(shape.pcpus, 0),
      call_txn_(shape.pcpus, 0) {
  host_ticks_per_us();  // measured now, not at the first miss
  for (PcpuId p = 0; p < shape.pcpus; ++p) latency_.push_back(std::make_unique<PcpuLatency>());
  for (PcpuId p = 0; p < shape.pcpus; ++p)
    ports_.push_back(std::make_unique<MemoryPort>(p, cache_.filter(p), host_base, shape.geometry, shape.timing,
                                                  pcpu_stats_[p], *this));
}

Node::~Node() { stop_engine(); }

void Node::start_engine() {
  engine_stop_ = false;
  engine_ = std::thread([this] { engine_loop(); });
}

void Node::stop_engine() {
  engine_stop_ = true;
  if (engine_.joinable()) engine_.join();
}

void Node::peer_down(NodeId n) {
  if (n >= kMaxNodes || dead_[n].exchange(true)) return;
  Sends out;
  directory_.node_down(n, out);
  deliver(out, -1, nullptr);
}

void Node::engine_loop() {
  static constexpr PortIndex kPorts[] = {kRequestPort, kForwardPort, kResponsePort};
  Frame frame;
  Sends out;
  while (!engine_stop_.load(std::memory_order_relaxed)) {
    const int ready = transport_.poll(kPorts, kEnginePollMs);
    if (ready < 0) continue;
    const PortIndex port = kPorts[ready];
    while (transport_.recv(port, frame, 0)) {
      std::optional<Message> m = decode(frame.data(), port, limits_, drops_);
      if (!m) continue;
      if (!is_monitor_message(m->kind))
        route_incoming(*m, self_, directory_, cache_, out);
      else if (MonitorService* service = monitor_.load())
        service->on_message(*m, out);
      else
        drops_.drop(DropReason::Stale, fmt::format("{}: no monitor on node {}", name(m->kind), self_));
      deliver(out, -1, nullptr);
    }
  }
}

void Node::deliver(Sends& out, int me, std::vector<Message>* mine) {
  thread_local std::vector<uint8_t> bytes;  // reused: no allocation per message on the miss path
  for (size_t i = 0; i < out.size(); ++i) {
    const Envelope e = out[i];  // a copy: local handlers append to `out`
    const bool to_me = me >= 0 && e.port == kFirstPcpuPort + me;
    if (e.dst == self_ && to_me && mine != nullptr) {
      mine->push_back(e.msg);
    } else if (e.dst == self_ && e.port < kFirstPcpuPort) {
      route_incoming(e.msg, self_, directory_, cache_, out);
    } else {
      encode(e.msg, bytes);
      if (!e.msg.data.empty()) stats_.lines_sent.add();
      if (!transport_.send(e.dst, e.port, bytes))
        drops_.drop(DropReason::SendFailed, name(e.msg.kind));
    }
  }
  out.clear();
}

MissClass Node::classify(const Message& grant, NodeId home) const {
  if (grant.src == home) return home == self_ ? MissClass::Local : MissClass::Remote2Hop;
  return home == self_ ? MissClass::Remote2Hop : MissClass::Remote3Hop;
}

bool Node::acquire(PcpuId p, LineAddr line, Access want, MissClass& how, bool& held) {
  const NodeId home = shape_.geometry.home_of_line(line);
  // The model's set and (for a local line) the directory entry are host cache misses: start both
  // now, so they overlap each other and the work before they are read.
  cache_.prefetch(line);
  if (home == self_) directory_.prefetch(line);
  // Reused: a miss allocates nothing (a pcpu thread has one miss at a time).
  thread_local Sends out;
  thread_local std::vector<Message> mine;
  thread_local Frame frame;
  out.clear();
  mine.clear();
  for (;;) {
    if (stopping() || dead_[home].load(std::memory_order_relaxed)) return false;
    uint64_t seen = 0;
    const CacheController::Begin b = cache_.begin_miss(p, line, want, out, &seen);
    if (b == CacheController::Begin::Hit) {
      how = MissClass::NodeHit;
      held = false;
      return true;
    }
    if (b == CacheController::Begin::Retry) {
      cache_.wait_change(seen, kReplyPollMs);
      continue;
    }
    break;
  }
  const uint64_t t0 = host_ticks();
  deliver(out, p, &mine);
  const PortIndex my_port = kFirstPcpuPort + p;
  for (;;) {
    for (const Message& m : mine) {
      const CacheController::Reply r = cache_.on_reply(p, m, out);
      deliver(out, p, nullptr);
      if (r == CacheController::Reply::NotMine) {
        drops_.drop(DropReason::Stale, name(m.kind));
        continue;
      }
      const uint64_t waited = host_ticks_to_ns(host_ticks() - t0);
      pcpu_stats_[p].miss_host_ns.add(waited);
      if (r == CacheController::Reply::Refused) return false;
      how = classify(m, home);
      PcpuLatency& lat = *latency_[p];
      (how == MissClass::Local ? lat.local : how == MissClass::Remote2Hop ? lat.remote_2hop : lat.remote_3hop).record(waited);
      if (m.invalidated) lat.by_fanout[PcpuLatency::fanout_index(m.invalidated)].record(waited);
      held = true;
      return true;
    }
    mine.clear();
    if (stopping() || dead_[home].load(std::memory_order_relaxed)) {
      cache_.abandon_miss(p, line, out);
      deliver(out, p, nullptr);
      return false;
    }
    if (!transport_.recv(my_port, frame, kReplyPollMs)) continue;
    if (std::optional<Message> m = decode(frame.data(), my_port, limits_, drops_)) mine.push_back(*m);
  }
}

void Node::release(PcpuId p, LineAddr line) {
  thread_local Sends out;  // reused, as in acquire()
  out.clear();
  cache_.finish_miss(p, line, out);
  deliver(out, p, nullptr);
}

}  // namespace disco

namespace disco {

bool Node::post(NodeId dst, Message m) {
  m.src = self_;
  std::vector<uint8_t> bytes;
  encode(m, bytes);
  if (dst < shape_.geometry.nodes && transport_.send(dst, port_of(m.kind, m.pcpu), bytes)) return true;
  drops_.drop(DropReason::SendFailed, name(m.kind));
  return false;
}

bool Node::call(PcpuId p, NodeId dst, Message request, MsgKind reply_kind, Message& reply, int timeout_ms) {
  if (dst >= shape_.geometry.nodes || p >= shape_.pcpus) return false;
  request.pcpu = p;
  request.txn = ++call_txn_[p];
  if (!post(dst, request)) return false;
  const PortIndex my_port = kFirstPcpuPort + p;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  Frame frame;
  while (!stopping() && !dead_[dst].load(std::memory_order_relaxed) && std::chrono::steady_clock::now() < deadline) {
    if (!transport_.recv(my_port, frame, kReplyPollMs)) continue;
    std::optional<Message> m = decode(frame.data(), my_port, limits_, drops_);
    if (!m) continue;
    if (m->kind != reply_kind || m->txn != request.txn || m->src != dst) {
      drops_.drop(DropReason::Stale, name(m->kind));
      continue;
    }
    reply = *m;
    return true;
  }
  return false;
}

bool Node::ping(PcpuId p, NodeId dst, uint64_t& rtt_ns) {
  if (dst >= shape_.geometry.nodes) return false;
  Message ping{.kind = MsgKind::Ping, .src = self_, .pcpu = p, .seq = ++ping_seq_[p]};
  std::vector<uint8_t> bytes;
  encode(ping, bytes);
  Frame frame;
  const PortIndex my_port = kFirstPcpuPort + p;
  const auto t0 = std::chrono::steady_clock::now();
  if (!transport_.send(dst, kRequestPort, bytes)) return false;
  while (!stopping() && !dead_[dst].load(std::memory_order_relaxed)) {
    if (!transport_.recv(my_port, frame, kReplyPollMs)) continue;
    std::optional<Message> m = decode(frame.data(), my_port, limits_, drops_);
    if (!m) continue;
    if (m->kind != MsgKind::Pong || m->seq != ping.seq) {
      drops_.drop(DropReason::Stale, name(m->kind));
      continue;
    }
    rtt_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
    latency_[p]->transport_rtt.record(rtt_ns);
    return true;
  }
  return false;
}

}  // namespace disco
