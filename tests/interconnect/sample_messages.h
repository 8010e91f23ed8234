// Messages and limits shared by the codec tests: a machine to validate against, a message of
// every kind with its fields at either end of their legal range, and an oracle that says
// whether a decoded message respects the machine (independently of the decoder's own checks).
#pragma once

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include <fmt/format.h>

#include "interconnect/codec.h"
#include "interconnect/message.h"

namespace disco::test {

inline constexpr WireLimits kLimits{
    .nodes = 8, .pcpus_per_node = 4, .total_lines = uint64_t{1} << 34, .lines_per_node = uint64_t{1} << 31};

inline bool carries_pcpu(MsgKind k) {
  switch (k) {
    case MsgKind::GetS: case MsgKind::GetX: case MsgKind::FwdGetS: case MsgKind::FwdGetX:
    case MsgKind::Grant: case MsgKind::Nack: case MsgKind::Ping: case MsgKind::Pong:
      return true;
    default:
      return false;
  }
}

inline bool is_forward(MsgKind k) { return k == MsgKind::FwdGetS || k == MsgKind::FwdGetX; }
inline bool is_ping(MsgKind k) { return k == MsgKind::Ping || k == MsgKind::Pong; }

// A message of kind k with only the fields k carries set: all at their maximum if `high`, else
// all zero (the other boundary).
inline Message sample(MsgKind k, bool high) {
  Message m{.kind = k};
  m.src = high ? kLimits.nodes - 1 : 0;
  if (!is_ping(k)) m.line = high ? kLimits.total_lines - 1 : 0;
  if (carries_pcpu(k)) m.pcpu = high ? kLimits.pcpus_per_node - 1 : 0;
  if (is_forward(k)) m.requester = high ? kLimits.nodes - 1 : 0;
  const uint32_t max32 = high ? std::numeric_limits<uint32_t>::max() : 0;
  switch (k) {
    case MsgKind::GetS: case MsgKind::GetX: m.txn = max32; break;
    case MsgKind::FwdGetS: case MsgKind::FwdGetX: m.txn = max32; m.home_txn = max32; break;
    case MsgKind::Inv: m.home_txn = max32; break;
    case MsgKind::Grant: m.txn = max32; m.grant = high ? GrantState::Modified : GrantState::Shared; break;
    case MsgKind::InvAck: case MsgKind::FwdAck: m.home_txn = max32; m.dirty = high; break;
    case MsgKind::PutM: m.dirty = true; break;  // a PutM always decodes dirty
    case MsgKind::Nack: m.txn = max32; m.reason = high ? NackReason::Stopping : NackReason::BadLine; break;
    case MsgKind::Ping: case MsgKind::Pong:
      m.seq = high ? std::numeric_limits<uint64_t>::max() : 0;
      m.pad_bytes = high ? kMaxPadBytes : 0;
      break;
    default: break;
  }
  return m;
}

// A legal message of a random kind with random legal values in the fields that kind carries.
inline Message random_message(std::mt19937_64& rng) {
  const auto k = static_cast<MsgKind>(rng() % kMsgKinds);
  Message m = sample(k, false);
  m.src = static_cast<NodeId>(rng() % kLimits.nodes);
  if (!is_ping(k)) m.line = rng() % kLimits.total_lines;
  if (carries_pcpu(k)) m.pcpu = static_cast<PcpuId>(rng() % kLimits.pcpus_per_node);
  if (is_forward(k)) m.requester = static_cast<NodeId>(rng() % kLimits.nodes);
  switch (k) {
    case MsgKind::GetS: case MsgKind::GetX: m.txn = static_cast<uint32_t>(rng()); break;
    case MsgKind::FwdGetS: case MsgKind::FwdGetX:
      m.txn = static_cast<uint32_t>(rng());
      m.home_txn = static_cast<uint32_t>(rng());
      break;
    case MsgKind::Inv: m.home_txn = static_cast<uint32_t>(rng()); break;
    case MsgKind::Grant:
      m.txn = static_cast<uint32_t>(rng());
      m.grant = static_cast<GrantState>(rng() % 3);
      break;
    case MsgKind::InvAck: case MsgKind::FwdAck:
      m.home_txn = static_cast<uint32_t>(rng());
      m.dirty = rng() % 2 == 1;
      break;
    case MsgKind::Nack:
      m.txn = static_cast<uint32_t>(rng());
      m.reason = static_cast<NackReason>(rng() % 3);
      break;
    case MsgKind::Ping: case MsgKind::Pong:
      m.seq = rng();
      m.pad_bytes = static_cast<uint32_t>(rng() % 200);
      break;
    default: break;
  }
  return m;
}

// Every field, for comparisons whose failure message shows what differs.
inline std::string describe(const Message& m) {
  return fmt::format("{} src={} line={:#x} pcpu={} requester={} txn={} home_txn={} grant={} dirty={} reason={} "
                     "seq={} pad={}",
                     name(m.kind), m.src, m.line, m.pcpu, m.requester, m.txn, m.home_txn, name(m.grant), m.dirty,
                     name(m.reason), m.seq, m.pad_bytes);
}

// The oracle: does a decoded message respect the machine and the port it arrived on?
inline bool within(const Message& m, PortIndex port, const WireLimits& l) {
  return static_cast<unsigned>(m.kind) < kMsgKinds && m.src < l.nodes && m.requester < l.nodes &&
         m.pcpu < l.pcpus_per_node && m.line < l.total_lines &&
         static_cast<unsigned>(m.grant) <= static_cast<unsigned>(GrantState::Modified) &&
         static_cast<unsigned>(m.reason) <= static_cast<unsigned>(NackReason::Stopping) &&
         m.pad_bytes <= kMaxPadBytes && port_of(m.kind, m.pcpu) == port;
}

inline std::vector<uint8_t> encoded(const Message& m) {
  std::vector<uint8_t> out;
  encode(m, out);
  return out;
}

}  // namespace disco::test
