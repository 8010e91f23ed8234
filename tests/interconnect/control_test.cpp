// The control-plane codec: every kind round-trips, the largest legal messages fit, and what
// breaks a bound is refused by the encoder and dropped by the decoder.
#include <cstring>
#include <random>

#include <capnp/any.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "interconnect/control.h"
#include "interconnect/wire.capnp.h"

namespace disco {
namespace {

using K = ControlMsg::Kind;

NodeEndpoints endpoints(NodeId node, size_t ports, size_t chars) {
  NodeEndpoints e{.node = node, .pid = 4000000000u, .host = std::string(chars, 'h'), .ports = {}};
  for (size_t p = 0; p < ports; ++p) e.ports.push_back(std::string(chars, static_cast<char>('a' + p % 26)));
  return e;
}

void expect_same(const NodeEndpoints& a, const NodeEndpoints& b) {
  EXPECT_EQ(a.node, b.node);
  EXPECT_EQ(a.pid, b.pid);
  EXPECT_EQ(a.host, b.host);
  EXPECT_EQ(a.ports, b.ports);
}

ControlMsg round_trip(const ControlMsg& m) {
  DropCounters drops;
  auto back = decode_control(encode_control(m), drops);
  EXPECT_EQ(drops.total(), 0u);
  return back.value_or(ControlMsg{.kind = K::Start});
}

std::vector<uint8_t> flat(capnp::MessageBuilder& b) {
  auto words = capnp::messageToFlatArray(b);
  auto bytes = words.asBytes();
  return {bytes.begin(), bytes.end()};
}

void expect_dropped(std::span<const uint8_t> bytes, DropReason reason, const std::string& what) {
  DropCounters drops;
  EXPECT_FALSE(decode_control(bytes, drops).has_value()) << what;
  EXPECT_EQ(drops.count(reason), 1u) << what << ": expected " << name(reason);
  EXPECT_EQ(drops.total(), 1u) << what;
}

TEST(Control, HelloWithTheLargestLegalEndpointsRoundTrips) {
  const ControlMsg m{.kind = K::Hello, .endpoints = endpoints(kMaxNodes - 1, kMaxPortsPerNode, kMaxEndpointChars)};
  const ControlMsg back = round_trip(m);
  EXPECT_EQ(back.kind, K::Hello);
  expect_same(back.endpoints, m.endpoints);
}

TEST(Control, FullPeerTableRoundTrips) {
  ControlMsg m{.kind = K::PeerTable};
  for (NodeId n = 0; n < kMaxNodes; ++n) m.peers.push_back(endpoints(n, kMaxPortsPerNode, kMaxEndpointChars));
  const ControlMsg back = round_trip(m);
  EXPECT_EQ(back.kind, K::PeerTable);
  ASSERT_EQ(back.peers.size(), m.peers.size());
  for (size_t i = 0; i < m.peers.size(); ++i) expect_same(back.peers[i], m.peers[i]);
}

TEST(Control, EveryOtherKindRoundTrips) {
  EXPECT_EQ(round_trip({.kind = K::Ready, .node = 63}).node, 63);
  EXPECT_EQ(round_trip({.kind = K::Start}).kind, K::Start);

  const ControlMsg hb = round_trip({.kind = K::Heartbeat, .node = 5, .ops_done = ~uint64_t{0}, .virtual_ns = 12345});
  EXPECT_EQ(hb.kind, K::Heartbeat);
  EXPECT_EQ(hb.node, 5);
  EXPECT_EQ(hb.ops_done, ~uint64_t{0});
  EXPECT_EQ(hb.virtual_ns, 12345u);

  ControlMsg stats{.kind = K::Stats, .node = 2, .json = std::string(kMaxStatsJsonBytes, '{')};
  const ControlMsg stats_back = round_trip(stats);
  EXPECT_EQ(stats_back.kind, K::Stats);
  EXPECT_EQ(stats_back.node, 2);
  EXPECT_EQ(stats_back.json, stats.json);

  const std::string with_nul("line\0cut", 8);  // strings are bytes: an embedded NUL survives
  const ControlMsg stop = round_trip({.kind = K::Stop, .reason = with_nul});
  EXPECT_EQ(stop.kind, K::Stop);
  EXPECT_EQ(stop.reason, with_nul);

  const ControlMsg down = round_trip({.kind = K::PeerDown, .node = 7, .reason = std::string(kMaxReasonChars, 'r')});
  EXPECT_EQ(down.kind, K::PeerDown);
  EXPECT_EQ(down.node, 7);
  EXPECT_EQ(down.reason.size(), kMaxReasonChars);

  EXPECT_EQ(round_trip({.kind = K::Collect}).kind, K::Collect);
  std::vector<uint64_t> values(kMaxCounterValues);
  for (size_t i = 0; i < values.size(); ++i) values[i] = ~uint64_t{0} - i;
  const ControlMsg counters = round_trip({.kind = K::Counters, .node = 9, .values = values});
  EXPECT_EQ(counters.kind, K::Counters);
  EXPECT_EQ(counters.node, 9);
  EXPECT_EQ(counters.values, values);
}

TEST(Control, EncoderRefusesWhatBreaksABound) {
  EXPECT_THROW(encode_control({.kind = K::Ready, .node = kMaxNodes}), std::invalid_argument);
  EXPECT_THROW(encode_control({.kind = K::Stats, .json = std::string(kMaxStatsJsonBytes + 1, ' ')}),
               std::invalid_argument);
  EXPECT_THROW(encode_control({.kind = K::Stop, .reason = std::string(kMaxReasonChars + 1, ' ')}),
               std::invalid_argument);
  EXPECT_THROW(encode_control({.kind = K::Hello, .endpoints = endpoints(0, 1, kMaxEndpointChars + 1)}),
               std::invalid_argument);
  EXPECT_THROW(encode_control({.kind = K::Hello, .endpoints = endpoints(0, kMaxPortsPerNode + 1, 8)}),
               std::invalid_argument);
  EXPECT_THROW(encode_control({.kind = K::Counters, .values = std::vector<uint64_t>(kMaxCounterValues + 1)}),
               std::invalid_argument);
  ControlMsg table{.kind = K::PeerTable};
  table.peers.resize(kMaxNodes + 1);
  EXPECT_THROW(encode_control(table), std::invalid_argument);
}

TEST(Control, DecoderDropsOversizeStringsAndLists) {
  const std::string long_reason(kMaxReasonChars + 1, 'r');
  {
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::Control>().initStop().setReason(long_reason);
    expect_dropped(flat(b), DropReason::BadSize, "stop reason");
  }
  {
    capnp::MallocMessageBuilder b;
    auto d = b.initRoot<wire::Control>().initPeerDown();
    d.setNode(1);
    d.setReason(long_reason);
    expect_dropped(flat(b), DropReason::BadSize, "peerDown reason");
  }
  {
    capnp::MallocMessageBuilder b;
    const std::string json(kMaxStatsJsonBytes + 1, ' ');
    b.initRoot<wire::Control>().initStats().setJson(json);
    expect_dropped(flat(b), DropReason::BadSize, "stats json");
  }
  {
    capnp::MallocMessageBuilder b;
    const std::string host(kMaxEndpointChars + 1, 'h');
    b.initRoot<wire::Control>().initHello().setHost(host);
    expect_dropped(flat(b), DropReason::BadSize, "hello host");
  }
  {
    capnp::MallocMessageBuilder b;
    auto ports = b.initRoot<wire::Control>().initHello().initPorts(1);
    const std::string endpoint(kMaxEndpointChars + 1, 'e');
    ports.set(0, endpoint);
    expect_dropped(flat(b), DropReason::BadSize, "hello endpoint");
  }
  {
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::Control>().initHello().initPorts(kMaxPortsPerNode + 1);
    expect_dropped(flat(b), DropReason::BadSize, "hello ports");
  }
  {
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::Control>().initPeerTable(kMaxNodes + 1);
    expect_dropped(flat(b), DropReason::BadSize, "peer table");
  }
  {
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::Control>().initPeerTable(2)[1].initPorts(kMaxPortsPerNode + 1);
    expect_dropped(flat(b), DropReason::BadSize, "peer table ports");
  }
}

TEST(Control, DecoderDropsBadNodes) {
  {
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::Control>().setReady(kMaxNodes);
    expect_dropped(flat(b), DropReason::BadNode, "ready");
  }
  {
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::Control>().initHeartbeat().setNode(0xffff);
    expect_dropped(flat(b), DropReason::BadNode, "heartbeat");
  }
  {
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::Control>().initPeerTable(3)[2].setNode(kMaxNodes);
    expect_dropped(flat(b), DropReason::BadNode, "peer table entry");
  }
  {
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::Control>().initCounters().initValues(kMaxCounterValues + 1);
    expect_dropped(flat(b), DropReason::BadSize, "counters list");
  }
}

TEST(Control, UnknownDiscriminantIsUnknownKind) {
  const uint32_t offset = capnp::Schema::from<wire::Control>().getProto().getStruct().getDiscriminantOffset();
  capnp::MallocMessageBuilder b;
  b.initRoot<wire::Control>().setStart();
  auto data = b.getRoot<capnp::AnyStruct>().getDataSection();
  const uint16_t raw = 10;  // one past the last member (counters)
  std::memcpy(data.begin() + offset * 2, &raw, sizeof raw);
  expect_dropped(flat(b), DropReason::UnknownKind, "discriminant 10");
}

TEST(Control, TruncationsAreDroppedAndGarbageNeverCrashes) {
  const auto bytes = encode_control({.kind = K::Hello, .endpoints = endpoints(3, 5, 20)});
  for (size_t len = 0; len < bytes.size(); ++len)
    expect_dropped(std::span(bytes).first(len), DropReason::Truncated, fmt::format("cut to {}", len));

  const uint64_t seed = std::random_device{}();
  std::cout << "control garbage seed " << seed << "\n";
  std::mt19937_64 rng(seed);
  DropCounters drops;
  std::vector<uint8_t> flipped;
  for (int i = 0; i < 20000; ++i) {
    flipped = bytes;
    for (int f = 0; f < 3; ++f) flipped[rng() % flipped.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    const uint64_t before = drops.total();
    if (!decode_control(flipped, drops)) {
      ASSERT_EQ(drops.total(), before + 1) << "seed " << seed << " i " << i;
    }
  }
}

}  // namespace
}  // namespace disco
