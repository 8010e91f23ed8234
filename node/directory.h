// The home side of the protocol: the directory of the lines this node's memory holds.
//
// Call sequence: the node's engine (remote messages) and its own pcpus (local misses) call
// handle() with validated messages of the request and response kinds; handle() appends what
// must be sent to `out`, and the caller delivers it after handle() returns (no lock is held
// then). The transitions are the table of directory_protocol.h; this file classifies each
// message into an event and runs the table's actions.
#pragma once

#include <deque>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "node/coherence_types.h"
#include "node/directory_protocol.h"
#include "node/line_data.h"
#include "node/node_set.h"
#include "node/node_stats.h"
#include "shm/machine_types.h"

namespace disco {

class Directory {
 public:
  // `data` moves line bytes in and out of this home's memory on the cluster data path; it must
  // outlive the directory.
  Directory(NodeId self, const MachineGeometry& g, const LineData& data, NodeStats& stats);

  // A request (GetS/GetX/Put*) or a response to this home (InvAck/FwdAck). Thread-safe.
  void handle(const Message& m, Sends& out);

  // Starts loading the line's entry into the host's cache ahead of a request for it (the
  // entries are 16 bytes per machine line: a miss's entry is rarely cached). No lock: a hint.
  void prefetch(LineAddr line) const {
    if (line - first_line_ < entries_.size()) __builtin_prefetch(&entries_[line - first_line_], 1);
  }

  // A node died: it holds nothing any more and its missing acks are taken as given, so no
  // transaction of this home waits for it.
  void node_down(NodeId dead, Sends& out);

  // The sharer vector is a full map (bit n: node n) up to 64 nodes. Past 64 it is a coarse vector
  // (bit g: nodes g*k .. g*k+k-1, k the power of two that makes 64 bits cover the nodes), as in
  // the directory literature: an
  // invalidation goes to every node of a marked group, and a group's bit is cleared only when
  // the node leaving is its only member. The owner of an Exclusive line is always exact.
  struct View {
    DirState state;
    uint64_t sharers;        // Shared: the vector; Exclusive/Busy*: the owner's bit
    NodeId owner;            // Exclusive, BusyFwd
    uint32_t nodes_per_bit;  // 1: a full map
  };
  View view(LineAddr line) const;  // for tests and reports

  // Misses per machine page of this home per requesting node (FLASH's MAGIC counters), the
  // input of the hot-page policy. Index: local page * nodes + requester.
  std::vector<uint32_t> page_miss_counts() const;

 private:
  struct Entry {            // 16 bytes, as with the full map alone
    uint64_t sharers = 0;  // Shared: sharer vector; Exclusive/BusyFwd: the owner's bit
    NodeId owner = 0;      // Exclusive/BusyFwd
    DirState state = DirState::Uncached;
  };
  struct Parked {  // a message that arrived while its line was busy
    Message msg;
    std::vector<uint8_t> bytes;  // the line msg carried (its frame is gone by the time it is served)
  };
  struct Pending {         // the busy transaction of a line
    Message request;       // the GetS/GetX being served
    uint32_t home_txn = 0;
    NodeSet awaiting;      // nodes whose ack is still expected
    NodeId old_owner = 0;  // BusyFwd: the owner that was forwarded to
    uint16_t invalidated = 0;  // BusyInv: how many sharers were sent an Inv
    std::deque<Parked> waiting;  // messages that arrived while busy, in arrival order
  };

  void dispatch(const Message& m, Sends& out);  // under mu_
  DirEvent classify(const Message& m, const Entry& e) const;
  void run(const DirTransition& t, const Message& m, Entry& e, Sends& out);
  // from_memory: the home's memory is the line's current value, and the grant carries it to a
  // requester that keeps the line elsewhere (false: the requester already owns it).
  void grant(const Message& req, GrantState g, bool from_memory, Sends& out);
  Entry& entry(LineAddr line) { return entries_[line - first_line_]; }
  uint64_t bit_of(NodeId n) const { return uint64_t{1} << (n >> group_shift_); }
  bool group_alone(NodeId n) const;       // n is the only node its bit stands for
  static bool owned(DirState s) { return s == DirState::Exclusive || s == DirState::BusyFwd; }  // the owner field holds
  bool holds(const Entry& e, NodeId n) const;   // n may hold the line (exact for an owner, and in a full map)
  bool others(const Entry& e, NodeId n) const;  // a node other than n may hold a shared copy
  void set_owner(Entry& e, NodeId n) const { e.sharers = bit_of(n), e.owner = n; }

  const NodeId self_;
  const MachineGeometry geometry_;
  const LineAddr first_line_;
  const uint32_t lines_per_page_;
  const uint32_t group_shift_;    // a bit stands for 2^group_shift_ nodes: 0 (a full map) up to 64 nodes
  const LineData& data_;
  NodeStats& stats_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
  std::unordered_map<LineAddr, Pending> busy_;
  std::vector<uint32_t> page_misses_;
  uint32_t next_txn_ = 1;
};

}  // namespace disco
