// What a node's engine hands the monitor messages to (interconnect/message.h's PageAlloc..
// VmExited): the layer above the node (monitor/monitor.h) implements it. The node knows nothing
// of VMs; it only delivers validated messages and carries the answers.
#pragma once

#include "interconnect/message.h"
#include "node/coherence_types.h"

namespace disco {

class MonitorService {
 public:
  virtual ~MonitorService() = default;
  // A validated monitor message from another node, on the node's engine thread; answers and
  // anything to send go in `out` (Envelope: destination node, port, message).
  virtual void on_message(const Message& m, Sends& out) = 0;
};

}  // namespace disco
