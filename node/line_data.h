// The cluster data path (DESIGN §4): which coherence messages carry a line's bytes, and moving
// the bytes between a message and this node's copy of the line.
//
// A node on the home's host keeps a line's bytes in the home's segment, which every node of that
// host maps; any other node keeps its own copy (MachineMemory's local copy of the home's slice).
// Bytes travel in a Grant, a PutM or a dirty FwdAck exactly when sender and receiver keep the line
// in different memory. On one host they never do, and nothing here costs more than a test.
#pragma once

#include <cstring>
#include <span>

#include "interconnect/message.h"
#include "shm/host_map.h"
#include "shm/machine_types.h"

namespace disco {

class LineData {
 public:
  // host_base: machine address 0 in this process (MachineMemory::base), or null where no message
  // can carry bytes (a machine on one host).
  LineData(NodeId self, const MachineGeometry& g, const HostMap& hosts, uint8_t* host_base)
      : self_(self), geometry_(g), hosts_(hosts), base_(host_base) {}

  // Whether a message about `line` from this node to node `to` must carry the line's bytes.
  bool must_carry(NodeId to, LineAddr line) const {
    if (hosts_.one_host()) return false;
    const NodeId home = geometry_.home_of_line(line);
    return !(hosts_.same_host(self_, home) && hosts_.same_host(to, home));
  }

  // Attaches this node's copy of m.line to m when its receiver `to` needs it. The message is a
  // view of the copy: it must be encoded while this node still answers for the line's bytes
  // (before the receiver can have been granted anything on the strength of it).
  void attach(Message& m, NodeId to) const {
    if (must_carry(to, m.line)) m.data = {base_ + geometry_.addr_of(m.line), geometry_.line_bytes};
  }

  // Writes the bytes a decoded message carries (the codec checked their length) into this node's
  // copy of the line. Word by word and atomic: a node of this host that holds the line shared may
  // be reading it (it reads the same bytes: a copy is written only where it is stale or equal).
  // superseded: a shared grant that an invalidation overtook, for the one access it serves. The
  // home has ordered a write after it, which a node of the home's host may already have made in
  // the home's segment: there the bytes are left (the access reads that newer value, as it does
  // on one host); a private copy takes them, as the old value the access may return.
  void take(const Message& m, bool superseded = false) const {
    if (m.data.size() != geometry_.line_bytes || base_ == nullptr) return;
    if (superseded && hosts_.same_host(self_, geometry_.home_of_line(m.line))) return;
    auto* to = reinterpret_cast<uint64_t*>(base_ + geometry_.addr_of(m.line));
    for (size_t i = 0; i < m.data.size() / 8; ++i) {
      uint64_t w;
      std::memcpy(&w, m.data.data() + i * 8, 8);
      __atomic_store_n(to + i, w, __ATOMIC_RELAXED);
    }
  }

 private:
  const NodeId self_;
  const MachineGeometry geometry_;
  const HostMap hosts_;
  uint8_t* const base_;
};

}  // namespace disco
