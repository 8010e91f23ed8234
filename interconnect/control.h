// The control plane between the launcher and its nodes: rendezvous (Hello -> PeerTable ->
// Ready -> Start), liveness (Heartbeat, PeerDown) and shutdown (Stats, Stop). One ControlMsg per
// frame, encoded as wire.capnp's Control.
//
// Call sequence: a node sends Hello with its bound endpoints; once every node has, the launcher
// sends PeerTable to all; each node connects and answers Ready; the launcher sends Start. Nodes
// then send Heartbeat periodically; the launcher sends PeerDown when one goes silent or exits, and
// Stop at the end, to which each node answers Stats. A counter run has the launcher send Collect
// once every node has reported: each node reads its home's counters through the protocol (the
// current values may sit in another host's cache) and answers Counters.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "interconnect/drop_counters.h"
#include "shm/machine_types.h"

namespace disco {

// Bounds of a control message; decode_control drops what exceeds them, encode_control refuses it.
inline constexpr size_t kMaxPortsPerNode = 3 + kMaxPcpusPerNode;  // engine ports + one per pcpu
inline constexpr size_t kMaxEndpointChars = 256;                  // a host name or endpoint string
inline constexpr size_t kMaxStatsJsonBytes = size_t{4} << 20;
inline constexpr size_t kMaxReasonChars = 1024;
inline constexpr size_t kMaxCounterValues = 64;  // Counters: at least node/workloads.h's kCountersPerNode

struct NodeEndpoints {
  NodeId node = 0;
  uint32_t pid = 0;
  std::string host{};
  std::vector<std::string> ports{};  // one endpoint per PortIndex, as ZmqTransport::bind returns them
};

struct ControlMsg {
  enum class Kind : uint8_t { Hello, PeerTable, Ready, Start, Heartbeat, Stats, Stop, PeerDown, Collect, Counters };
  Kind kind = Kind::Start;
  NodeId node = 0;                     // Ready, Heartbeat, Stats, PeerDown
  NodeEndpoints endpoints{};           // Hello
  std::vector<NodeEndpoints> peers{};  // PeerTable
  uint64_t ops_done = 0;               // Heartbeat
  uint64_t virtual_ns = 0;             // Heartbeat
  uint32_t vms = 0, vms_up = 0, vms_ended = 0;  // Heartbeat: the node's guests (vms_up, vms_ended <= vms)
  uint64_t guest_instructions = 0;               // Heartbeat
  std::string json{};                  // Stats
  std::string reason{};                // Stop, PeerDown
  std::vector<uint64_t> values{};      // Counters: the counter workload's counters of the sender's home
};

std::vector<uint8_t> encode_control(const ControlMsg& msg);
// Writes only the fields msg.kind uses. Throws std::invalid_argument if msg breaks a bound above
// (the peer would drop it, so sending it is a bug).

std::optional<ControlMsg> decode_control(std::span<const uint8_t> bytes, DropCounters& drops);
// The validated message, or std::nullopt after one drops.drop(). Never throws on input.

}  // namespace disco
