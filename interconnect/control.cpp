#include "interconnect/control.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <fmt/format.h>
#include <kj/exception.h>
#include <kj/io.h>

#include "interconnect/wire.capnp.h"

namespace disco {

namespace {

constexpr size_t kWordBytes = sizeof(capnp::word);

// The largest legal control message is a Stats with kMaxStatsJsonBytes of JSON, or a full peer
// table (kMaxNodes x kMaxPortsPerNode endpoints of kMaxEndpointChars, each a list pointer and
// padding more: about 18 MiB at 1024 nodes). The frame and traversal limits sit above both with a
// margin, so a hostile frame costs at most this much.
constexpr size_t kMaxPeerTableBytes = size_t{kMaxNodes} * (kMaxPortsPerNode * (kMaxEndpointChars + 16) + kMaxEndpointChars + 64);
constexpr size_t kMaxControlWords = (std::max(kMaxStatsJsonBytes, kMaxPeerTableBytes) + (size_t{2} << 20)) / kWordBytes;

// Control -> peerTable list -> NodeEndpoints -> ports list -> Text: depth 5.
const capnp::ReaderOptions kReaderOptions{.traversalLimitInWords = kMaxControlWords, .nestingLimit = 8};

struct Violation {
  DropReason reason;
  std::string detail;
};

std::optional<Violation> check_node(NodeId node, const char* what) {
  if (node < kMaxNodes) return std::nullopt;
  return Violation{DropReason::BadNode, fmt::format("{} node {} of at most {}", what, node, kMaxNodes)};
}

std::optional<Violation> check_text(const std::string& s, size_t max, const char* what) {
  if (s.size() <= max) return std::nullopt;
  return Violation{DropReason::BadSize, fmt::format("{} of {} bytes, over {}", what, s.size(), max)};
}

std::optional<Violation> check_count(size_t n, size_t max, const char* what) {
  if (n <= max) return std::nullopt;
  return Violation{DropReason::BadSize, fmt::format("{} {}, over {}", n, what, max)};
}

std::optional<Violation> check_endpoints(const NodeEndpoints& e) {
  if (auto v = check_node(e.node, "endpoints")) return v;
  if (auto v = check_text(e.host, kMaxEndpointChars, "host")) return v;
  if (auto v = check_count(e.ports.size(), kMaxPortsPerNode, "ports of a node")) return v;
  for (const std::string& p : e.ports)
    if (auto v = check_text(p, kMaxEndpointChars, "endpoint")) return v;
  return std::nullopt;
}

// The bounds of control.h, shared by the encoder (a violation is a bug) and the decoder (input).
std::optional<Violation> check(const ControlMsg& m) {
  using K = ControlMsg::Kind;
  switch (m.kind) {
    case K::Hello: return check_endpoints(m.endpoints);
    case K::PeerTable:
      if (auto v = check_count(m.peers.size(), kMaxNodes, "peer table nodes")) return v;
      for (const NodeEndpoints& e : m.peers)
        if (auto v = check_endpoints(e)) return v;
      return std::nullopt;
    case K::Ready:
    case K::Heartbeat: return check_node(m.node, "sender");
    case K::Start: return std::nullopt;
    case K::Stats:
      if (auto v = check_node(m.node, "sender")) return v;
      return check_text(m.json, kMaxStatsJsonBytes, "stats json");
    case K::Stop: return check_text(m.reason, kMaxReasonChars, "reason");
    case K::PeerDown:
      if (auto v = check_node(m.node, "down")) return v;
      return check_text(m.reason, kMaxReasonChars, "reason");
    case K::Collect: return std::nullopt;
    case K::Counters:
      if (auto v = check_node(m.node, "sender")) return v;
      return check_count(m.values.size(), kMaxCounterValues, "counters");
  }
  return Violation{DropReason::UnknownKind, fmt::format("control kind {}", static_cast<unsigned>(m.kind))};
}

capnp::Text::Reader text(const std::string& s) { return {s.data(), s.size()}; }  // keeps embedded NULs
std::string text(capnp::Text::Reader t) { return {t.cStr(), t.size()}; }

void fill(wire::NodeEndpoints::Builder b, const NodeEndpoints& e) {
  b.setNode(e.node);
  b.setPid(e.pid);
  b.setHost(text(e.host));
  auto ports = b.initPorts(static_cast<unsigned>(e.ports.size()));
  for (unsigned i = 0; i < ports.size(); ++i) ports.set(i, text(e.ports[i]));
}

// List lengths are checked before anything is copied, so a hostile list costs nothing.
std::optional<Violation> take(wire::NodeEndpoints::Reader r, NodeEndpoints& out) {
  auto ports = r.getPorts();
  if (auto v = check_count(ports.size(), kMaxPortsPerNode, "ports of a node")) return v;
  out.node = r.getNode();
  out.pid = r.getPid();
  out.host = text(r.getHost());
  out.ports.reserve(ports.size());
  for (auto p : ports) out.ports.push_back(text(p));
  return std::nullopt;
}

// Reads a Control into a ControlMsg; under runCatchingExceptions, as capnp getters may throw.
std::optional<Violation> take(wire::Control::Reader r, ControlMsg& m) {
  using K = ControlMsg::Kind;
  switch (r.which()) {
    case wire::Control::HELLO:
      m.kind = K::Hello;
      return take(r.getHello(), m.endpoints);
    case wire::Control::PEER_TABLE: {
      m.kind = K::PeerTable;
      auto peers = r.getPeerTable();
      if (auto v = check_count(peers.size(), kMaxNodes, "peer table nodes")) return v;
      m.peers.resize(peers.size());
      for (unsigned i = 0; i < peers.size(); ++i)
        if (auto v = take(peers[i], m.peers[i])) return v;
      return std::nullopt;
    }
    case wire::Control::READY:
      m.kind = K::Ready;
      m.node = r.getReady();
      return std::nullopt;
    case wire::Control::START:
      m.kind = K::Start;
      return std::nullopt;
    case wire::Control::HEARTBEAT: {
      m.kind = K::Heartbeat;
      auto h = r.getHeartbeat();
      m.node = h.getNode();
      m.ops_done = h.getOpsDone();
      m.virtual_ns = h.getVirtualNs();
      m.vms = h.getVms();
      m.vms_up = h.getVmsUp();
      m.vms_ended = h.getVmsEnded();
      m.guest_instructions = h.getGuestInstructions();
      if (m.vms_up > m.vms || m.vms_ended > m.vms)
        return Violation{DropReason::Malformed, fmt::format("heartbeat counts {} up, {} ended of {} VMs", m.vms_up, m.vms_ended, m.vms)};
      return std::nullopt;
    }
    case wire::Control::STATS: {
      m.kind = K::Stats;
      auto s = r.getStats();
      m.node = s.getNode();
      m.json = text(s.getJson());
      return std::nullopt;
    }
    case wire::Control::STOP:
      m.kind = K::Stop;
      m.reason = text(r.getStop().getReason());
      return std::nullopt;
    case wire::Control::PEER_DOWN: {
      m.kind = K::PeerDown;
      auto d = r.getPeerDown();
      m.node = d.getNode();
      m.reason = text(d.getReason());
      return std::nullopt;
    }
    case wire::Control::COLLECT:
      m.kind = K::Collect;
      return std::nullopt;
    case wire::Control::COUNTERS: {
      m.kind = K::Counters;
      auto c = r.getCounters();
      m.node = c.getNode();
      auto values = c.getValues();
      if (auto v = check_count(values.size(), kMaxCounterValues, "counters")) return v;
      for (uint64_t v : values) m.values.push_back(v);
      return std::nullopt;
    }
  }
  return Violation{DropReason::UnknownKind, fmt::format("control discriminant {}", static_cast<unsigned>(r.which()))};
}

}  // namespace

std::vector<uint8_t> encode_control(const ControlMsg& msg) {
  if (auto v = check(msg)) throw std::invalid_argument("encode_control: " + v->detail);
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<wire::Control>();
  using K = ControlMsg::Kind;
  switch (msg.kind) {
    case K::Hello: fill(root.initHello(), msg.endpoints); break;
    case K::PeerTable: {
      auto peers = root.initPeerTable(static_cast<unsigned>(msg.peers.size()));
      for (unsigned i = 0; i < peers.size(); ++i) fill(peers[i], msg.peers[i]);
      break;
    }
    case K::Ready: root.setReady(msg.node); break;
    case K::Start: root.setStart(); break;
    case K::Heartbeat: {
      auto h = root.initHeartbeat();
      h.setNode(msg.node);
      h.setOpsDone(msg.ops_done);
      h.setVirtualNs(msg.virtual_ns);
      h.setVms(msg.vms);
      h.setVmsUp(msg.vms_up);
      h.setVmsEnded(msg.vms_ended);
      h.setGuestInstructions(msg.guest_instructions);
      break;
    }
    case K::Stats: {
      auto s = root.initStats();
      s.setNode(msg.node);
      s.setJson(text(msg.json));
      break;
    }
    case K::Stop: root.initStop().setReason(text(msg.reason)); break;
    case K::PeerDown: {
      auto d = root.initPeerDown();
      d.setNode(msg.node);
      d.setReason(text(msg.reason));
      break;
    }
    case K::Collect: root.setCollect(); break;
    case K::Counters: {
      auto c = root.initCounters();
      c.setNode(msg.node);
      auto values = c.initValues(static_cast<unsigned>(msg.values.size()));
      for (unsigned i = 0; i < values.size(); ++i) values.set(i, msg.values[i]);
      break;
    }
  }
  std::vector<uint8_t> out(capnp::computeSerializedSizeInWords(builder) * kWordBytes);
  kj::ArrayOutputStream stream(kj::arrayPtr(out.data(), out.size()));
  capnp::writeMessage(stream, builder);
  return out;
}

std::optional<ControlMsg> decode_control(std::span<const uint8_t> bytes, DropCounters& drops) {
  if (bytes.empty() || bytes.size() % kWordBytes != 0) {
    drops.drop(DropReason::Truncated, fmt::format("control: {} bytes is not a whole number of words", bytes.size()));
    return std::nullopt;
  }
  if (bytes.size() > kMaxControlWords * kWordBytes) {
    drops.drop(DropReason::Malformed, fmt::format("control: {} bytes is over the limit of {}", bytes.size(),
                                                  kMaxControlWords * kWordBytes));
    return std::nullopt;
  }

  // Control frames are rare: an unaligned one is simply copied to the heap.
  std::vector<uint64_t> copy;
  const uint8_t* start = bytes.data();
  if (reinterpret_cast<uintptr_t>(start) % alignof(capnp::word) != 0) {
    copy.resize(bytes.size() / kWordBytes);
    std::memcpy(copy.data(), start, bytes.size());
    start = reinterpret_cast<const uint8_t*>(copy.data());
  }
  const kj::ArrayPtr<const capnp::word> words(reinterpret_cast<const capnp::word*>(start), bytes.size() / kWordBytes);

  const size_t expected = capnp::expectedSizeInWordsFromPrefix(words);
  if (expected != words.size()) {
    drops.drop(expected > words.size() ? DropReason::Truncated : DropReason::Malformed,
               fmt::format("control: {} words, segment table says {}", words.size(), expected));
    return std::nullopt;
  }

  ControlMsg m;
  std::optional<Violation> violation;
  kj::Maybe<kj::Exception> failure = kj::runCatchingExceptions([&] {
    capnp::FlatArrayMessageReader reader(words, kReaderOptions);
    violation = take(reader.getRoot<wire::Control>(), m);
  });
  KJ_IF_MAYBE(e, failure) {
    drops.drop(DropReason::Malformed, fmt::format("control: {}", e->getDescription().cStr()));
    return std::nullopt;
  }
  if (!violation) violation = check(m);
  if (violation) {
    drops.drop(violation->reason, "control: " + violation->detail);
    return std::nullopt;
  }
  return m;
}

}  // namespace disco
