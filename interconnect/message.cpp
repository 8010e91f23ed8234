#include "interconnect/message.h"

namespace disco {

namespace {

// Names indexed by enumerator; a value outside the table (only possible through a bug, since the
// decoder rejects unknown values) prints as "?" instead of reading past the end.
template <size_t N, typename E>
std::string_view lookup(const std::array<std::string_view, N>& names, E e) {
  const auto i = static_cast<size_t>(e);
  return i < N ? names[i] : std::string_view{"?"};
}

constexpr std::array<std::string_view, kMsgKinds> kMsgKindNames = {
    "GetS", "GetX", "PutS",   "PutE", "PutM", "FwdGetS", "FwdGetX", "Inv",
    "Grant", "InvAck", "FwdAck", "PutAck", "Nack", "Ping",  "Pong", "PageAlloc", "PageGrant", "PageFree",
    "TlbShootdown", "ShootdownDone", "VmExited",
};
constexpr std::array<std::string_view, 3> kGrantStateNames = {"Shared", "Exclusive", "Modified"};
constexpr std::array<std::string_view, 3> kNackReasonNames = {"BadLine", "HomeDown", "Stopping"};
constexpr std::array<std::string_view, kDropReasons> kDropReasonNames = {
    "Truncated", "Malformed", "UnknownKind", "BadNode",    "BadPcpu",
    "BadLine",   "BadSize",   "WrongPort",   "Stale",      "SendFailed", "BadRange", "BadRecord",
};

}  // namespace

std::string_view name(MsgKind k) { return lookup(kMsgKindNames, k); }
std::string_view name(GrantState g) { return lookup(kGrantStateNames, g); }
std::string_view name(NackReason r) { return lookup(kNackReasonNames, r); }
std::string_view name(DropReason r) { return lookup(kDropReasonNames, r); }

PortIndex port_of(MsgKind k, PcpuId pcpu) {
  switch (k) {
    case MsgKind::GetS:
    case MsgKind::GetX:
    case MsgKind::PutS:
    case MsgKind::PutE:
    case MsgKind::PutM:
    case MsgKind::Ping:  // the echo is served by the engine, like a request
    case MsgKind::PageAlloc:  // the monitor's requests are served by the engine too
    case MsgKind::PageFree:
    case MsgKind::TlbShootdown:
    case MsgKind::VmExited:
      return kRequestPort;
    case MsgKind::FwdGetS:
    case MsgKind::FwdGetX:
    case MsgKind::Inv:
      return kForwardPort;
    case MsgKind::InvAck:
    case MsgKind::FwdAck:
    case MsgKind::PutAck:
      return kResponsePort;
    case MsgKind::Grant:
    case MsgKind::Nack:
    case MsgKind::Pong:  // straight to the waiting pcpu, as a grant
    case MsgKind::PageGrant:
    case MsgKind::ShootdownDone:
      return static_cast<PortIndex>(kFirstPcpuPort + pcpu);
  }
  return kRequestPort;  // unreachable for a valid MsgKind; keeps -Wreturn-type quiet
}

}  // namespace disco
