// A node's transport in a machine spread over several hosts: the shared-memory rings to the nodes
// of its own host, ZeroMQ over TCP (with the run's CURVE key) to the nodes of the others.
//
// Everything arrives through the rings: a forwarding thread moves each frame TCP brings into this
// node's own inbox, so the engine and the pcpus wait on one transport (a thread cannot sleep on a
// ring's futex and a socket at once), and a frame from another host costs one more copy and ring
// hop -- tens of nanoseconds beside the network's tens of microseconds.
#pragma once

#include <atomic>
#include <thread>

#include "interconnect/drop_counters.h"
#include "interconnect/shm_transport.h"
#include "interconnect/zmq_transport.h"
#include "shm/host_map.h"

namespace disco {

class HostRoutedTransport final : public Transport {
 public:
  // Both transports bound and connected: `local` to the nodes of this host, `remote` to the others
  // (each given no endpoints for the nodes the other reaches). Starts the forwarding thread.
  HostRoutedTransport(NodeId self, const HostMap& hosts, uint32_t ports, ShmTransport& local, ZmqTransport& remote,
                      DropCounters& drops);
  ~HostRoutedTransport() override;  // stops and joins the forwarding thread

  bool send(NodeId dst, PortIndex port, std::span<const uint8_t> bytes) override {
    return hosts_.same_host(self_, dst) ? local_.send(dst, port, bytes) : remote_.send(dst, port, bytes);
  }
  bool recv(PortIndex port, Frame& out, int timeout_ms) override { return local_.recv(port, out, timeout_ms); }
  int poll(std::span<const PortIndex> ports, int timeout_ms) override { return local_.poll(ports, timeout_ms); }

 private:
  void forward();

  const NodeId self_;
  const HostMap hosts_;
  const uint32_t ports_;
  ShmTransport& local_;
  ZmqTransport& remote_;
  DropCounters& drops_;
  std::atomic<bool> stop_{false};
  std::thread forwarder_;
};

}  // namespace disco
