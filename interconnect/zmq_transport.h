// ZmqTransport: the Transport of a node over ZeroMQ. Each port of the node is a PULL socket;
// each (destination node, port) it sends to gets a PUSH socket, made on first send.
//
// Call sequence (see transport.h): construct, bind() (once), hand the endpoints to the launcher,
// connect() (once) with every node's endpoints, then send from any thread and recv/poll each
// port from one thread. The context must outlive the transport; destroying the transport
// discards whatever it still queues (ZMQ_LINGER 0), so neither it nor the context's shutdown
// ever waits for a peer.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "interconnect/connection_guard.h"
#include "interconnect/transport.h"

namespace disco {

class ZmqTransport final : public Transport {
 public:
  ZmqTransport(zmq::context_t& context, NodeId self, uint32_t ports, ConnectionGuard* guard = nullptr);
  // `ports` is this node's port count: kFirstPcpuPort + its pcpus (at most
  // kFirstPcpuPort + kMaxPcpusPerNode, else std::invalid_argument). With a guard (which must
  // outlive the transport), every port is a CURVE server and every send a CURVE client with the
  // run's key: the guard of a TCP run. Without one, sockets are open to whoever can reach them
  // (ipc sockets sit in an owner-only folder).

  std::vector<std::string> bind(std::string_view scheme_and_place);
  // Binds every port and returns their endpoints in PortIndex order, as peers must connect to
  // them. "ipc://<dir>" binds ipc://<dir>/n<self>-p<port>; "tcp://<host>" binds a free TCP port
  // per port on <host> and reports it. Throws std::invalid_argument for another scheme and
  // std::runtime_error (naming the endpoint) if ZeroMQ cannot bind.

  void connect(const std::vector<std::vector<std::string>>& endpoints_by_node);
  // Remembers where every node's ports are (index = NodeId, then PortIndex). Nothing is
  // connected yet: a node this one never sends to costs no socket. Throws std::logic_error if
  // called twice.

  bool send(NodeId dst, PortIndex port, std::span<const uint8_t> bytes) override;
  // False for a destination missing from the table, an endpoint ZeroMQ rejects, or a full queue
  // (EAGAIN). A peer that is not listening yet or has died does not make this false: ZeroMQ
  // queues up to the high-water mark while it reconnects; noticing a dead node is the
  // launcher's heartbeat's job, not the send path's.

  bool recv(PortIndex port, Frame& out, int timeout_ms) override;
  int poll(std::span<const PortIndex> ports, int timeout_ms) override;
  // Both throw std::out_of_range for a port this node does not have (a caller bug). poll returns
  // the first ready port in the order given, so callers list ports by priority. An interrupted
  // wait (EINTR) or a terminated context returns false / -1.

 private:
  struct Outlet {  // the way to one (node, port): its own lock, so senders to different ports never contend
    std::string endpoint;
    std::mutex mutex;
    std::optional<zmq::socket_t> socket;  // made on first send, under mutex
  };

  zmq::socket_t& inlet(PortIndex port);

  zmq::context_t& context_;
  const NodeId self_;
  ConnectionGuard* const guard_;
  std::vector<zmq::socket_t> inlets_;                          // [port]: PULL, bound by bind()
  std::vector<std::vector<std::unique_ptr<Outlet>>> outlets_;  // [node][port], filled by connect()
  bool connected_ = false;
};

}  // namespace disco
