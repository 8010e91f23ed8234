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

inline constexpr WireLimits kLimits{.nodes = 8,
                                    .pcpus_per_node = 4,
                                    .total_lines = uint64_t{1} << 34,
                                    .lines_per_node = uint64_t{1} << 31,
                                    .pages_per_node = uint64_t{1} << 26};  // 128-byte lines

inline bool carries_pcpu(MsgKind k) {
  switch (k) {
    case MsgKind::GetS: case MsgKind::GetX: case MsgKind::FwdGetS: case MsgKind::FwdGetX:
    case MsgKind::Grant: case MsgKind::Nack: case MsgKind::Ping: case MsgKind::Pong:
    case MsgKind::PageAlloc: case MsgKind::PageGrant: case MsgKind::TlbShootdown: case MsgKind::ShootdownDone:
      return true;
    default:
      return false;
  }
}

inline bool is_forward(MsgKind k) { return k == MsgKind::FwdGetS || k == MsgKind::FwdGetX; }
inline bool is_ping(MsgKind k) { return k == MsgKind::Ping || k == MsgKind::Pong; }
inline bool carries_line(MsgKind k) { return !is_ping(k) && !is_monitor_message(k); }

// The oracle's own reading of the monitor messages' ranges (interconnect/message.h).
inline bool monitor_fields_within(const Message& m, const WireLimits& l) {
  if (!is_monitor_message(m.kind)) return true;
  const uint64_t ppn = l.pages_per_node, all = ppn * l.nodes, first = m.machine / 4096;
  const bool guest_range = m.guest_page <= kMaxGuestPages && m.pages <= kMaxGuestPages - m.guest_page;
  if (m.vm >= kMaxVms) return false;
  switch (m.kind) {
    case MsgKind::PageAlloc: return m.pages >= 1 && m.pages <= ppn && guest_range;
    case MsgKind::PageGrant:
      return guest_range && (m.pages == 0 || (m.machine % 4096 == 0 && first >= m.src * ppn &&
                                              first + m.pages <= (m.src + uint64_t{1}) * ppn));
    case MsgKind::PageFree:
      return m.pages >= 1 && m.machine % 4096 == 0 && first < all && first / ppn == (first + m.pages - 1) / ppn;
    case MsgKind::TlbShootdown: case MsgKind::ShootdownDone: return m.machine % 4096 == 0 && first < all;
    case MsgKind::VmExited: return m.exit_code <= kMaxVmExitCode;
    default: return false;
  }
}

// A message of kind k with only the fields k carries set: all at their maximum if `high`, else
// all zero (the other boundary).
inline Message sample(MsgKind k, bool high) {
  Message m{.kind = k};
  m.src = high ? kLimits.nodes - 1 : 0;
  if (carries_line(k)) m.line = high ? kLimits.total_lines - 1 : 0;
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
  if (is_monitor_message(k)) {
    const uint64_t ppn = kLimits.pages_per_node;
    m.vm = high ? kMaxVms - 1 : 0;
    if (k != MsgKind::PageFree && k != MsgKind::VmExited) m.txn = max32;
    switch (k) {
      case MsgKind::PageAlloc:
        m.guest_page = high ? kMaxGuestPages - 1 : 0;
        m.pages = 1;
        break;
      case MsgKind::PageGrant:  // the last pages of the sender's memory, or none
        m.guest_page = high ? kMaxGuestPages / 2 : 0;
        m.pages = high ? kMaxGuestPages / 2 : 0;
        m.machine = high ? ((m.src + 1) * ppn - m.pages) * 4096 : 0;
        break;
      case MsgKind::PageFree:  // a whole node's memory: the last node's, or page 0
        m.pages = high ? ppn : 1;
        m.machine = high ? (kLimits.nodes - 1) * ppn * 4096 : 0;
        break;
      case MsgKind::TlbShootdown: case MsgKind::ShootdownDone:
        m.machine = high ? (kLimits.nodes * ppn - 1) * 4096 : 0;
        break;
      case MsgKind::VmExited: m.exit_code = high ? kMaxVmExitCode : 0; break;
      default: break;
    }
  }
  return m;
}

// A legal message of a random kind with random legal values in the fields that kind carries.
inline Message random_message(std::mt19937_64& rng) {
  const auto k = static_cast<MsgKind>(rng() % kMsgKinds);
  Message m = sample(k, rng() % 2 == 1);
  if (is_monitor_message(k)) return m;  // their fields depend on each other: the samples' values
  m.src = static_cast<NodeId>(rng() % kLimits.nodes);
  if (carries_line(k)) m.line = rng() % kLimits.total_lines;
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
                     "seq={} pad={} vm={} guest_page={:#x} machine={:#x} pages={} exit={}",
                     name(m.kind), m.src, m.line, m.pcpu, m.requester, m.txn, m.home_txn, name(m.grant), m.dirty,
                     name(m.reason), m.seq, m.pad_bytes, m.vm, m.guest_page, m.machine, m.pages, m.exit_code);
}

// The oracle: does a decoded message respect the machine and the port it arrived on?
inline bool within(const Message& m, PortIndex port, const WireLimits& l) {
  return static_cast<unsigned>(m.kind) < kMsgKinds && m.src < l.nodes && m.requester < l.nodes &&
         m.pcpu < l.pcpus_per_node && m.line < l.total_lines &&
         static_cast<unsigned>(m.grant) <= static_cast<unsigned>(GrantState::Modified) &&
         static_cast<unsigned>(m.reason) <= static_cast<unsigned>(NackReason::Stopping) &&
         m.pad_bytes <= kMaxPadBytes && port_of(m.kind, m.pcpu) == port && monitor_fields_within(m, l);
}

inline std::vector<uint8_t> encoded(const Message& m) {
  std::vector<uint8_t> out;
  encode(m, out);
  return out;
}

}  // namespace disco::test
