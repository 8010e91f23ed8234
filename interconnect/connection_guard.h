// ConnectionGuard: who may talk to a process's ZeroMQ sockets. Every socket it is given to listen
// with becomes a CURVE server holding the run's key (run_key.h), and every socket it is given to
// connect with proves it holds the same key. The guard answers ZeroMQ's authentication requests
// (ZAP, RFC 27) in the process: a client that does not present the run's public key is refused.
// A client that cannot do CURVE with the run's key fails the handshake before ZAP is asked. Both
// kinds of refusal are counted, from the listening sockets' monitors.
//
// One guard per ZeroMQ context (ZAP's endpoint is per context), made before any socket it
// guards, and destroyed after them: a monitored socket that outlives its monitor's reader would
// block ZeroMQ's I/O thread on its next event.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "interconnect/run_key.h"

namespace disco {

class ConnectionGuard {
 public:
  ConnectionGuard(zmq::context_t& context, const RunKey& key);
  // Binds the context's ZAP handler and starts the thread that serves it. Throws
  // std::runtime_error if the key is malformed or the context already has a ZAP handler.
  ~ConnectionGuard();
  ConnectionGuard(const ConnectionGuard&) = delete;
  ConnectionGuard& operator=(const ConnectionGuard&) = delete;

  void listen_with(zmq::socket_t& socket);
  // Before the socket binds: makes it a CURVE server with the run's key and counts its refused
  // handshakes. Call from the thread that owns the socket.

  void connect_with(zmq::socket_t& socket) const;
  // Before the socket connects: makes it a CURVE client with the run's key pair.

  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  // Connections refused so far: failed handshakes (no CURVE, another key, garbage) and clients
  // whose key is not the run's.

 private:
  void serve();
  void answer_zap();
  void read_events(zmq::socket_t& reader);

  zmq::context_t& context_;
  const RunKey key_;
  std::array<uint8_t, 32> public_raw_{};
  zmq::socket_t zap_;  // REP on inproc://zeromq.zap.01, used by the thread only once it runs
  std::mutex mutex_;
  std::vector<zmq::socket_t> new_readers_;  // monitor readers not yet taken by the thread
  unsigned monitors_ = 0;
  std::atomic<uint64_t> refused_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace disco
