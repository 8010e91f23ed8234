// A Transport between nodes living in one test process: one locked queue per (node, port).
// It lets the real Node (engine thread, blocking pcpus, filter revocation) run threaded under
// the sanitizers without processes or sockets.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

#include "interconnect/transport.h"

namespace disco {

class InprocNetwork {
 public:
  InprocNetwork(uint32_t nodes, uint32_t ports) : ports_(ports), queues_(nodes * ports) {}

  bool push(NodeId dst, PortIndex port, std::span<const uint8_t> bytes) {
    if (dst * ports_ + port >= queues_.size() || port >= ports_) return false;
    {
      std::lock_guard lock(mu_);
      queues_[dst * ports_ + port].emplace_back(bytes.begin(), bytes.end());
    }
    cv_.notify_all();
    return true;
  }

  // Waits for a message on any of `ports` of `node`; returns the index in `ports` or -1.
  int wait(NodeId node, std::span<const PortIndex> ports, int timeout_ms) {
    std::unique_lock lock(mu_);
    int ready = -1;
    auto any = [&] {
      for (size_t i = 0; i < ports.size(); ++i)
        if (!queues_[node * ports_ + ports[i]].empty()) return ready = static_cast<int>(i), true;
      return false;
    };
    if (timeout_ms < 0)
      cv_.wait(lock, any);
    else
      cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), any);
    return ready;
  }

  bool pop(NodeId node, PortIndex port, Frame& out) {
    std::lock_guard lock(mu_);
    auto& q = queues_[node * ports_ + port];
    if (q.empty()) return false;
    const std::vector<uint8_t>& m = q.front();
    out.words.resize((m.size() + 7) / 8);
    std::copy(m.begin(), m.end(), reinterpret_cast<uint8_t*>(out.words.data()));
    out.bytes = m.size();
    q.pop_front();
    return true;
  }

 private:
  const uint32_t ports_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::deque<std::vector<uint8_t>>> queues_;
};

class InprocTransport final : public Transport {
 public:
  InprocTransport(InprocNetwork& net, NodeId self) : net_(net), self_(self) {}
  bool send(NodeId dst, PortIndex port, std::span<const uint8_t> bytes) override { return net_.push(dst, port, bytes); }
  bool recv(PortIndex port, Frame& out, int timeout_ms) override {
    const PortIndex one[] = {port};
    if (net_.pop(self_, port, out)) return true;
    if (timeout_ms == 0 || net_.wait(self_, one, timeout_ms) < 0) return false;
    return net_.pop(self_, port, out);
  }
  int poll(std::span<const PortIndex> ports, int timeout_ms) override { return net_.wait(self_, ports, timeout_ms); }

 private:
  InprocNetwork& net_;
  const NodeId self_;
};

}  // namespace disco
