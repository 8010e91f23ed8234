// The transport: moves encoded messages between the ports of nodes. One interface so that
// other transports can stand beside ZeroMQ (zmq_transport.h); the protocol never sees sockets.
//
// Call sequence: construct, bind() this node's ports (returns their endpoint strings), share
// the endpoints of every node (the launcher's peer table), connect(table), then send/recv.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "interconnect/message.h"

namespace disco {

// A received message's bytes, word-aligned so Cap'n Proto can read them in place.
struct Frame {
  std::vector<uint64_t> words;
  size_t bytes = 0;
  std::span<const uint8_t> data() const { return {reinterpret_cast<const uint8_t*>(words.data()), bytes}; }
  // Copies `message` in, with no stale bytes after one that is not a whole number of words.
  void assign(std::span<const uint8_t> message) {
    const size_t n = (message.size() + sizeof(uint64_t) - 1) / sizeof(uint64_t);
    words.resize(n);
    bytes = message.size();
    if (n > 0) {
      words.back() = 0;
      std::memcpy(words.data(), message.data(), message.size());
    }
  }
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Sends to port `port` of node `dst`. Thread-safe; never blocks: returns false when the
  // destination cannot take the message now (unknown, gone, or its queue is full).
  virtual bool send(NodeId dst, PortIndex port, std::span<const uint8_t> bytes) = 0;

  // Receives the next message of one of this node's ports, waiting at most timeout_ms (-1 =
  // forever). One thread reads a given port at a time.
  virtual bool recv(PortIndex port, Frame& out, int timeout_ms) = 0;

  // Waits until one of `ports` has a message; returns its index in `ports`, or -1 on timeout.
  virtual int poll(std::span<const PortIndex> ports, int timeout_ms) = 0;
};

}  // namespace disco
