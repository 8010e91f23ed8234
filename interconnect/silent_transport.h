// The transport of a machine of one node: it never sends (there is no other node) and nothing
// ever arrives. recv/poll wait out their timeout like an idle socket (a forever wait returns
// after a while, as a spurious timeout). The hit-path benchmarks run a Node over it.
#pragma once

#include <chrono>
#include <thread>

#include "interconnect/transport.h"

namespace disco {

class SilentTransport final : public Transport {
 public:
  bool send(NodeId, PortIndex, std::span<const uint8_t>) override { return false; }
  bool recv(PortIndex, Frame&, int timeout_ms) override {
    idle(timeout_ms);
    return false;
  }
  int poll(std::span<const PortIndex>, int timeout_ms) override {
    idle(timeout_ms);
    return -1;
  }

 private:
  static void idle(int timeout_ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms < 0 ? 50 : timeout_ms));
  }
};

}  // namespace disco
