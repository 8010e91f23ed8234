// The coherence messages of the directory protocol, as the protocol code sees them once
// decoded and validated (interconnect/wire.capnp is their encoding on the wire).
//
// Three virtual networks keep the protocol deadlock-free: requests go to a home's Request
// port, forwards and invalidations to a cache's Forward port, and every reply (grants,
// acks, nacks) to a Response port or straight to the requesting pcpu's port, so a reply
// is never queued behind a request.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "shm/machine_types.h"

namespace disco {

enum class MsgKind : uint8_t {
  GetS,     // request: read permission (requester node -> home)
  GetX,     // request: write permission, also the upgrade from S
  PutS,     // request: a shared copy was evicted
  PutE,     // request: a clean exclusive copy was evicted
  PutM,     // request: a modified copy was evicted (a writeback)
  FwdGetS,  // forward: home -> owner, downgrade to S and grant the requester
  FwdGetX,  // forward: home -> owner, invalidate and grant the requester
  Inv,      // forward: home -> sharer, invalidate
  Grant,    // response: permission (home or former owner -> requesting pcpu)
  InvAck,   // response: sharer -> home
  FwdAck,   // response: former owner -> home, the forward was served
  PutAck,   // response: home -> evicting node
  Nack,     // response: the request cannot be served (bad line, home down, stopping)
  Ping,     // transport benchmark: echo me
  Pong,     // transport benchmark: the echo
  // The monitors' own messages (monitor/monitor.h): served by the receiving node's monitor.
  PageAlloc,      // request: machine pages of the receiver's memory for a VM
  PageGrant,      // response: a range of them (possibly empty), to the asking pcpu
  PageFree,       // request: pages a VM borrowed go back
  TlbShootdown,   // request: drop machine TLB entries mapping a machine page
  ShootdownDone,  // response: done, to the asking pcpu
  VmExited,       // request: a VM ended
};
inline constexpr unsigned kMsgKinds = 21;
inline bool is_monitor_message(MsgKind k) { return k >= MsgKind::PageAlloc; }
inline constexpr uint32_t kMaxVms = 4096;         // VM ids on the wire are below this
inline constexpr uint32_t kMaxGuestPages = 1u << 20;  // a VM's guest pages: 4 GiB of 4 KiB pages
inline constexpr uint8_t kMaxVmExitCode = 15;

enum class GrantState : uint8_t { Shared, Exclusive, Modified };
enum class NackReason : uint8_t { BadLine, HomeDown, Stopping };

std::string_view name(MsgKind k);
std::string_view name(GrantState g);
std::string_view name(NackReason r);

// Ports of a node: its protocol engine reads the first three, pcpu p reads kFirstPcpuPort + p.
using PortIndex = uint16_t;
inline constexpr PortIndex kRequestPort = 0;
inline constexpr PortIndex kForwardPort = 1;
inline constexpr PortIndex kResponsePort = 2;
inline constexpr PortIndex kFirstPcpuPort = 3;
PortIndex port_of(MsgKind k, PcpuId pcpu);  // where a message of this kind is delivered

// One decoded, validated coherence message. Which fields are meaningful depends on kind.
struct Message {
  MsgKind kind = MsgKind::GetS;
  NodeId src = 0;           // sending node
  LineAddr line = 0;
  PcpuId pcpu = 0;          // requesting pcpu (GetS/GetX/Fwd*/Grant/Nack/Ping/Pong)
  NodeId requester = 0;     // requesting node (Fwd*)
  uint32_t txn = 0;         // requester's transaction id, echoed by Grant/Nack
  uint32_t home_txn = 0;    // home's transaction id, echoed by InvAck/FwdAck
  GrantState grant = GrantState::Shared;  // Grant
  uint16_t invalidated = 0;  // Grant: sharers the home invalidated for it
  bool dirty = false;       // FwdAck/PutM: the line was modified
  NackReason reason = NackReason::BadLine;  // Nack
  uint64_t seq = 0;         // Ping/Pong sequence number
  uint32_t pad_bytes = 0;   // Ping/Pong: bytes of padding carried, to match a protocol message's size
  uint32_t vm = 0;          // monitor messages: the VM (< kMaxVms)
  uint64_t guest_page = 0;  // PageAlloc/PageGrant: the first guest page
  MachineAddr machine = 0;  // PageGrant/PageFree: the first machine page's address; shootdowns: the page's
  uint64_t pages = 0;       // PageAlloc/PageGrant/PageFree
  uint8_t exit_code = 0;    // VmExited (<= kMaxVmExitCode)
  // Grant, PutM, dirty FwdAck between nodes that keep the line in different memory (the cluster
  // data path, node/line_data.h): the line's bytes, else empty. A view: into the sender's copy of
  // the line until the message is encoded, into the received frame once decoded.
  std::span<const uint8_t> data;
};

// What the decoder checks a message against: the machine it belongs to.
struct WireLimits {
  uint32_t nodes = 0;
  uint32_t pcpus_per_node = 0;
  uint64_t total_lines = 0;
  uint64_t lines_per_node = 0;
  uint64_t pages_per_node = 0;  // 4 KiB machine pages of one node's memory
  uint32_t line_bytes = 0;      // what a message's line data must measure (0: no data is accepted)
};

// Why an incoming message was dropped; each has a counter and a rate-limited log line.
enum class DropReason : uint8_t {
  Truncated,      // not a whole number of words, or shorter than its segment table says
  Malformed,      // Cap'n Proto refused it (bad pointers, over the traversal/nesting limit)
  UnknownKind,    // a union discriminant or enum value this build does not know
  BadNode,        // a node id outside the machine
  BadPcpu,        // a pcpu id outside the node
  BadLine,        // a line outside the machine, or not homed where the message says
  BadSize,        // a data field of the wrong size
  WrongPort,      // a message kind that does not belong on the port it arrived on
  Stale,          // a reply that matches no outstanding transaction
  SendFailed,     // outgoing: the destination could not take it
  BadRange,       // a VM or page range outside the machine or not the sender's or receiver's to give
  BadRecord,      // a shared-memory ring record no producer wrote whole (a flipped bit, a producer killed mid-write)
};
inline constexpr unsigned kDropReasons = 12;
std::string_view name(DropReason r);

}  // namespace disco
