#include "interconnect/zmq_transport.h"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace disco {

namespace {

constexpr size_t kMaxPorts = kFirstPcpuPort + kMaxPcpusPerNode;

// Deep queues: a burst of invalidations to many sharers must not turn into send failures.
constexpr int kHighWaterMark = 100000;

// Far above any coherence message (a padded ping is under 5 KiB; a line under 4 KiB more). ZeroMQ
// disconnects a peer that sends a bigger frame, so a hostile peer cannot make us allocate more.
constexpr int64_t kMaxFrameBytes = int64_t{1} << 20;

bool interrupted(const zmq::error_t& e) { return e.num() == EINTR || e.num() == ETERM; }

}  // namespace

ZmqTransport::ZmqTransport(zmq::context_t& context, NodeId self, uint32_t ports, ConnectionGuard* guard)
    : context_(context), self_(self), guard_(guard) {
  if (ports == 0 || ports > kMaxPorts)
    throw std::invalid_argument(fmt::format("ZmqTransport: {} ports, must be 1..{}", ports, kMaxPorts));
  inlets_.reserve(ports);
  for (uint32_t p = 0; p < ports; ++p) {
    zmq::socket_t& s = inlets_.emplace_back(context_, zmq::socket_type::pull);
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::rcvhwm, kHighWaterMark);
    s.set(zmq::sockopt::maxmsgsize, kMaxFrameBytes);
    if (guard_) guard_->listen_with(s);
  }
}

std::vector<std::string> ZmqTransport::bind(std::string_view scheme_and_place) {
  constexpr std::string_view kIpc = "ipc://";
  constexpr std::string_view kTcp = "tcp://";
  const bool ipc = scheme_and_place.starts_with(kIpc);
  if (!ipc && !scheme_and_place.starts_with(kTcp))
    throw std::invalid_argument(fmt::format("ZmqTransport: cannot bind '{}': expected ipc://<dir> or tcp://<host>",
                                            scheme_and_place));

  std::vector<std::string> endpoints;
  endpoints.reserve(inlets_.size());
  for (size_t p = 0; p < inlets_.size(); ++p) {
    // A TCP port of 0 ('*') lets the kernel pick a free one; ZMQ_LAST_ENDPOINT then says which.
    const std::string wanted = ipc ? fmt::format("{}/n{}-p{}", scheme_and_place, self_, p)
                                   : fmt::format("{}:*", scheme_and_place);
    try {
      inlets_[p].bind(wanted);
    } catch (const zmq::error_t& e) {
      throw std::runtime_error(fmt::format("node {}: cannot bind {}: {}", self_, wanted, e.what()));
    }
    endpoints.push_back(inlets_[p].get(zmq::sockopt::last_endpoint));
  }
  return endpoints;
}

void ZmqTransport::connect(const std::vector<std::vector<std::string>>& endpoints_by_node) {
  if (connected_) throw std::logic_error("ZmqTransport::connect called twice");
  connected_ = true;
  outlets_.resize(endpoints_by_node.size());
  for (size_t n = 0; n < endpoints_by_node.size(); ++n) {
    for (const std::string& endpoint : endpoints_by_node[n]) {
      auto outlet = std::make_unique<Outlet>();
      outlet->endpoint = endpoint;
      outlets_[n].push_back(std::move(outlet));
    }
  }
}

bool ZmqTransport::send(NodeId dst, PortIndex port, std::span<const uint8_t> bytes) {
  if (dst >= outlets_.size() || port >= outlets_[dst].size()) return false;
  Outlet& o = *outlets_[dst][port];
  std::lock_guard lock(o.mutex);
  try {
    if (!o.socket) {
      zmq::socket_t s(context_, zmq::socket_type::push);
      s.set(zmq::sockopt::linger, 0);
      s.set(zmq::sockopt::sndhwm, kHighWaterMark);
      if (guard_) guard_->connect_with(s);
      s.connect(o.endpoint);  // asynchronous: returns before the peer is reached
      o.socket.emplace(std::move(s));
    }
    return o.socket->send(zmq::const_buffer(bytes.data(), bytes.size()), zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t&) {
    return false;  // a malformed endpoint in the table, or the context is shutting down
  }
}

zmq::socket_t& ZmqTransport::inlet(PortIndex port) {
  if (port >= inlets_.size())
    throw std::out_of_range(fmt::format("node {} has no port {} (it has {})", self_, port, inlets_.size()));
  return inlets_[port];
}

bool ZmqTransport::recv(PortIndex port, Frame& out, int timeout_ms) {
  zmq::socket_t& s = inlet(port);
  try {
    zmq::message_t msg;
    // Try first: a busy port is served without a poll system call.
    if (!s.recv(msg, zmq::recv_flags::dontwait)) {
      if (timeout_ms == 0) return false;
      zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms)) == 0) return false;
      if (!s.recv(msg, zmq::recv_flags::dontwait)) return false;
    }
    out.assign({static_cast<const uint8_t*>(msg.data()), msg.size()});
    return true;
  } catch (const zmq::error_t& e) {
    if (interrupted(e)) return false;
    throw;
  }
}

int ZmqTransport::poll(std::span<const PortIndex> ports, int timeout_ms) {
  if (ports.size() > kMaxPorts)
    throw std::out_of_range(fmt::format("poll of {} ports, a node has at most {}", ports.size(), kMaxPorts));
  std::array<zmq::pollitem_t, kMaxPorts> items;
  for (size_t i = 0; i < ports.size(); ++i) items[i] = {inlet(ports[i]).handle(), 0, ZMQ_POLLIN, 0};
  try {
    if (zmq::poll(items.data(), ports.size(), std::chrono::milliseconds(timeout_ms)) <= 0) return -1;
  } catch (const zmq::error_t& e) {
    if (interrupted(e)) return -1;
    throw;
  }
  for (size_t i = 0; i < ports.size(); ++i)
    if (items[i].revents & ZMQ_POLLIN) return static_cast<int>(i);
  return -1;
}

}  // namespace disco
