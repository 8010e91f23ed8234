// Where an incoming coherence message goes inside a node: the home directory, the cache
// controller, or a pcpu waiting for its reply. One function serves the node's engine, its
// pcpus (for messages to themselves) and the in-process protocol tests.
#pragma once

#include "node/cache_controller.h"
#include "node/directory.h"

namespace disco {

enum class Routed { Handled, ForPcpu };

inline Routed route_incoming(const Message& m, NodeId self, Directory& dir, CacheController& cache, Sends& out) {
  switch (m.kind) {
    case MsgKind::GetS:
    case MsgKind::GetX:
    case MsgKind::PutS:
    case MsgKind::PutE:
    case MsgKind::PutM:
    case MsgKind::InvAck:
    case MsgKind::FwdAck:
      dir.handle(m, out);
      return Routed::Handled;
    case MsgKind::Inv:
    case MsgKind::FwdGetS:
    case MsgKind::FwdGetX:
      cache.on_forward(m, out);
      return Routed::Handled;
    case MsgKind::PutAck:
      cache.on_put_ack(m);
      return Routed::Handled;
    case MsgKind::Ping: {
      Message pong = m;
      pong.kind = MsgKind::Pong;
      pong.src = self;
      out.push_back({m.src, port_of(MsgKind::Pong, m.pcpu), pong});
      return Routed::Handled;
    }
    case MsgKind::Grant:
    case MsgKind::Nack:
    case MsgKind::Pong:
    case MsgKind::PageGrant:
    case MsgKind::ShootdownDone:
      return Routed::ForPcpu;
    case MsgKind::PageAlloc:  // the monitor's, never routed here: the engine hands them over
    case MsgKind::PageFree:
    case MsgKind::TlbShootdown:
    case MsgKind::VmExited:
      return Routed::Handled;
  }
  return Routed::Handled;
}

}  // namespace disco
