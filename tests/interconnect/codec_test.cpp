// The coherence codec through its wire interface: every kind round-trips at its boundaries, and
// each way a message can be wrong is dropped under the right DropReason. Hostile encodings that
// our encoder cannot produce are written with the raw Cap'n Proto builder.
#include <cstring>
#include <iostream>

#include <capnp/any.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include "interconnect/codec.h"
#include "interconnect/wire.capnp.h"
#include "sample_messages.h"

namespace disco {
namespace {

using test::describe;
using test::encoded;
using test::kLimits;
using test::sample;

std::vector<uint8_t> flat(capnp::MessageBuilder& b) {
  auto words = capnp::messageToFlatArray(b);
  auto bytes = words.asBytes();
  return {bytes.begin(), bytes.end()};
}

// Decodes `bytes` arriving on `port` and expects exactly one drop, for `reason`.
void expect_dropped(std::span<const uint8_t> bytes, PortIndex port, DropReason reason, const std::string& what) {
  DropCounters drops;
  const auto m = decode(bytes, port, kLimits, drops);
  EXPECT_FALSE(m.has_value()) << what << " decoded as " << describe(*m);
  EXPECT_EQ(drops.count(reason), 1u) << what << ": expected " << name(reason);
  EXPECT_EQ(drops.total(), 1u) << what;
}

TEST(Codec, EveryKindRoundTripsAtBothBoundaries) {
  for (unsigned k = 0; k < kMsgKinds; ++k) {
    for (bool high : {false, true}) {
      const Message m = sample(static_cast<MsgKind>(k), high);
      DropCounters drops;
      const auto bytes = encoded(m);
      const auto back = decode(bytes, port_of(m.kind, m.pcpu), kLimits, drops);
      ASSERT_TRUE(back.has_value()) << describe(m);
      EXPECT_EQ(describe(*back), describe(m));
      EXPECT_EQ(drops.total(), 0u);
    }
  }
}

TEST(Codec, EveryGrantStateAndNackReasonRoundTrips) {
  for (auto g : {GrantState::Shared, GrantState::Exclusive, GrantState::Modified}) {
    Message m = sample(MsgKind::Grant, true);
    m.grant = g;
    DropCounters drops;
    const auto back = decode(encoded(m), port_of(m.kind, m.pcpu), kLimits, drops);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->grant, g);
  }
  for (auto r : {NackReason::BadLine, NackReason::HomeDown, NackReason::Stopping}) {
    Message m = sample(MsgKind::Nack, true);
    m.reason = r;
    DropCounters drops;
    const auto back = decode(encoded(m), port_of(m.kind, m.pcpu), kLimits, drops);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->reason, r);
  }
}

TEST(Codec, PutMDecodesDirtyWhateverTheSenderSet) {
  Message m = sample(MsgKind::PutM, true);
  m.dirty = false;  // not on the wire: the kind says it
  DropCounters drops;
  const auto back = decode(encoded(m), kRequestPort, kLimits, drops);
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->dirty);
}

TEST(Codec, PingPaddingSetsTheSizeAndStaysOneSegment) {
  size_t previous = 0;
  for (uint32_t pad : {0u, 1u, 8u, 9u, 80u, 81u, 200u, 1000u, kMaxPadBytes}) {
    Message m = sample(MsgKind::Ping, true);
    m.pad_bytes = pad;
    const auto bytes = encoded(m);
    EXPECT_GE(bytes.size(), pad);
    EXPECT_GE(bytes.size(), previous);
    previous = bytes.size();
    uint32_t segments_minus_one = 0;
    std::memcpy(&segments_minus_one, bytes.data(), sizeof segments_minus_one);
    EXPECT_EQ(segments_minus_one, 0u) << "pad " << pad;
    DropCounters drops;
    const auto back = decode(bytes, kRequestPort, kLimits, drops);
    ASSERT_TRUE(back.has_value()) << "pad " << pad;
    EXPECT_EQ(back->pad_bytes, pad);
  }
}

TEST(Codec, ReportsMessageSizes) {
  const size_t gets = encoded(sample(MsgKind::GetS, true)).size();
  const size_t grant = encoded(sample(MsgKind::Grant, true)).size();
  std::cout << "encoded GetS: " << gets << " bytes, Grant: " << grant << " bytes\n";
  RecordProperty("gets_bytes", static_cast<int>(gets));
  RecordProperty("grant_bytes", static_cast<int>(grant));
  // Single segment, no padding: table + root pointer + Message (2 words) + the kind's struct
  // (a Grant's: 3 data words and its data pointer).
  EXPECT_EQ(gets, 48u);
  EXPECT_EQ(grant, 64u);
  // The benchmark's round trip moves as many bytes as a 2-hop miss: Ping + Pong = GetS + Grant.
  Message ping = sample(MsgKind::Ping, true);
  ping.pad_bytes = 0;
  EXPECT_EQ(2 * encoded(ping).size(), gets + grant);
}

TEST(Codec, EncodeReusesTheOutputBuffer) {
  std::vector<uint8_t> out(1000, 0xff);
  encode(sample(MsgKind::GetS, true), out);
  EXPECT_EQ(out.size(), 48u);
  DropCounters drops;
  EXPECT_TRUE(decode(out, kRequestPort, kLimits, drops).has_value());
}

TEST(Codec, EncodeRefusesWhatNoDecoderWouldAccept) {
  std::vector<uint8_t> out;
  Message ping = sample(MsgKind::Ping, true);
  ping.pad_bytes = kMaxPadBytes + 1;
  EXPECT_THROW(encode(ping, out), std::invalid_argument);
  Message bogus;
  bogus.kind = static_cast<MsgKind>(kMsgKinds);
  EXPECT_THROW(encode(bogus, out), std::invalid_argument);
}

TEST(Codec, UnalignedBytesDecode) {
  const Message m = sample(MsgKind::FwdGetX, true);
  const auto bytes = encoded(m);
  std::vector<uint8_t> shifted(bytes.size() + 1);
  std::memcpy(shifted.data() + 1, bytes.data(), bytes.size());
  DropCounters drops;
  const auto back = decode(std::span(shifted).subspan(1), kForwardPort, kLimits, drops);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(describe(*back), describe(m));
}

TEST(Codec, EveryTruncationOfEveryKindIsDroppedAsTruncated) {
  for (unsigned k = 0; k < kMsgKinds; ++k) {
    const Message m = sample(static_cast<MsgKind>(k), true);
    const auto bytes = encoded(m);
    for (size_t len = 0; len < bytes.size(); ++len)
      expect_dropped(std::span(bytes).first(len), port_of(m.kind, m.pcpu), DropReason::Truncated,
                     fmt::format("{} cut to {} of {} bytes", name(m.kind), len, bytes.size()));
  }
}

TEST(Codec, TrailingWordsAndOversizeFramesAreMalformed) {
  auto bytes = encoded(sample(MsgKind::GetS, true));
  bytes.resize(bytes.size() + 8);
  expect_dropped(bytes, kRequestPort, DropReason::Malformed, "GetS + one word");

  // A valid segment table announcing one huge segment, the whole frame present.
  std::vector<uint8_t> huge(64 * 1024, 0);
  const uint32_t table[2] = {0, static_cast<uint32_t>(huge.size() / 8 - 1)};
  std::memcpy(huge.data(), table, sizeof table);
  expect_dropped(huge, kRequestPort, DropReason::Malformed, "64 KiB frame");
}

TEST(Codec, OutOfRangeEnumsAreUnknownKind) {
  for (uint16_t raw : {uint16_t{3}, uint16_t{4}, uint16_t{0xffff}}) {
    {
      capnp::MallocMessageBuilder b;
      auto root = b.initRoot<wire::Message>();
      auto g = root.initGrant();
      g.setState(static_cast<wire::GrantState>(raw));
      expect_dropped(flat(b), kFirstPcpuPort, DropReason::UnknownKind, fmt::format("grant state {}", raw));
    }
    {
      capnp::MallocMessageBuilder b;
      auto root = b.initRoot<wire::Message>();
      root.initNack().setReason(static_cast<wire::NackReason>(raw));
      expect_dropped(flat(b), kFirstPcpuPort, DropReason::UnknownKind, fmt::format("nack reason {}", raw));
    }
  }
}

TEST(Codec, UnknownUnionDiscriminantIsUnknownKind) {
  // The discriminant's place in Message's data section comes from the schema, not a guess.
  const uint32_t offset = capnp::Schema::from<wire::Message>().getProto().getStruct().getDiscriminantOffset();
  for (uint16_t raw : {uint16_t{kMsgKinds}, uint16_t{kMsgKinds + 1}, uint16_t{0xffff}}) {
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::Message>().initGetS();
    auto data = b.getRoot<capnp::AnyStruct>().getDataSection();
    ASSERT_GE(data.size(), (offset + 1) * 2);
    std::memcpy(data.begin() + offset * 2, &raw, sizeof raw);  // little-endian host, as the wire
    EXPECT_EQ(static_cast<uint16_t>(b.getRoot<wire::Message>().which()), raw);
    expect_dropped(flat(b), kRequestPort, DropReason::UnknownKind, fmt::format("discriminant {}", raw));
  }
}

TEST(Codec, OutOfRangeFieldsAreDroppedWithTheirReason) {
  for (unsigned k = 0; k < kMsgKinds; ++k) {
    const Message good = sample(static_cast<MsgKind>(k), true);
    const PortIndex port = port_of(good.kind, good.pcpu);
    const std::string kind(name(good.kind));

    Message m = good;
    m.src = static_cast<NodeId>(kLimits.nodes);
    expect_dropped(encoded(m), port, DropReason::BadNode, kind + " src");
    m.src = 0xffff;
    expect_dropped(encoded(m), port, DropReason::BadNode, kind + " src 0xffff");

    if (test::is_forward(good.kind)) {
      m = good;
      m.requester = static_cast<NodeId>(kLimits.nodes);
      expect_dropped(encoded(m), port, DropReason::BadNode, kind + " requester");
    }
    if (test::carries_pcpu(good.kind)) {
      m = good;
      m.pcpu = static_cast<PcpuId>(kLimits.pcpus_per_node);
      expect_dropped(encoded(m), port, DropReason::BadPcpu, kind + " pcpu");
      m.pcpu = 0xffff;
      expect_dropped(encoded(m), port, DropReason::BadPcpu, kind + " pcpu 0xffff");
    }
    if (test::carries_line(good.kind)) {
      m = good;
      m.line = kLimits.total_lines;
      expect_dropped(encoded(m), port, DropReason::BadLine, kind + " line");
      m.line = ~uint64_t{0};
      expect_dropped(encoded(m), port, DropReason::BadLine, kind + " line ~0");
    }
  }
}

TEST(Codec, EveryKindOnEveryOtherPortIsWrongPort) {
  const auto ports = static_cast<PortIndex>(kFirstPcpuPort + kLimits.pcpus_per_node);
  for (unsigned k = 0; k < kMsgKinds; ++k) {
    for (bool high : {false, true}) {
      const Message m = sample(static_cast<MsgKind>(k), high);
      const auto bytes = encoded(m);
      for (PortIndex p = 0; p <= ports; ++p) {
        if (p == port_of(m.kind, m.pcpu)) continue;
        expect_dropped(bytes, p, DropReason::WrongPort, fmt::format("{} on port {}", name(m.kind), p));
      }
    }
  }
}

TEST(Codec, LineBytesAndOversizePadsAreBadSize) {
  const std::array<uint8_t, 128> line{};
  auto data = capnp::Data::Reader(line.data(), line.size());
  {
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::Message>().initPutM().setData(data);
    expect_dropped(flat(b), kRequestPort, DropReason::BadSize, "PutM with data");
  }
  {
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::Message>().initGrant().setData(data);
    expect_dropped(flat(b), kFirstPcpuPort, DropReason::BadSize, "Grant with data");
  }
  {
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::Message>().initFwdAck().setData(data);
    expect_dropped(flat(b), kResponsePort, DropReason::BadSize, "FwdAck with data");
  }
  {
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::Message>().initPong().initPad(kMaxPadBytes + 1);
    expect_dropped(flat(b), kFirstPcpuPort, DropReason::BadSize, "Pong with oversize pad");
  }
}

// The cluster data path: a line's bytes travel whole in a Grant, a PutM and a dirty FwdAck, and
// come back as a view of the frame (aligned or not); anything else carrying bytes is BadSize.
TEST(Codec, LineBytesTravelInGrantPutMAndDirtyFwdAck) {
  WireLimits cluster = kLimits;
  cluster.line_bytes = 128;
  std::array<uint8_t, 128> line;
  for (size_t i = 0; i < line.size(); ++i) line[i] = static_cast<uint8_t>(i * 7 + 1);
  for (MsgKind k : {MsgKind::Grant, MsgKind::PutM, MsgKind::FwdAck}) {
    Message m = sample(k, true);
    m.data = line;
    const auto bytes = encoded(m);
    std::vector<uint8_t> shifted(bytes.size() + 1);
    std::memcpy(shifted.data() + 1, bytes.data(), bytes.size());
    for (std::span<const uint8_t> frame : {std::span<const uint8_t>(bytes), std::span<const uint8_t>(shifted).subspan(1)}) {
      DropCounters drops;
      const auto back = decode(frame, port_of(k, m.pcpu), cluster, drops);
      ASSERT_TRUE(back.has_value()) << name(k);
      ASSERT_EQ(back->data.size(), line.size()) << name(k);
      EXPECT_TRUE(std::equal(line.begin(), line.end(), back->data.begin())) << name(k);
      EXPECT_GE(back->data.data(), frame.data()) << name(k) << ": the data views the frame";
      EXPECT_LE(back->data.data() + back->data.size(), frame.data() + frame.size()) << name(k);
    }
  }
  const auto dropped = [&](const Message& m, const std::string& what) {
    DropCounters drops;
    EXPECT_FALSE(decode(encoded(m), port_of(m.kind, m.pcpu), cluster, drops).has_value()) << what;
    EXPECT_EQ(drops.count(DropReason::BadSize), 1u) << what;
  };
  Message half = sample(MsgKind::Grant, true);
  half.data = std::span(line).first(64);
  dropped(half, "Grant with half a line");
  Message clean = sample(MsgKind::FwdAck, true);
  clean.dirty = false;
  clean.data = line;
  dropped(clean, "clean FwdAck with a line");
  Message inv_ack = sample(MsgKind::InvAck, true);
  inv_ack.data = line;
  dropped(inv_ack, "InvAck with a line");
  // Our encoder writes no bytes into a PutS or PutE; a hostile one can.
  for (bool exclusive : {false, true}) {
    capnp::MallocMessageBuilder b;
    auto root = b.initRoot<wire::Message>();
    (exclusive ? root.initPutE() : root.initPutS()).setData(capnp::Data::Reader(line.data(), line.size()));
    DropCounters drops;
    EXPECT_FALSE(decode(flat(b), kRequestPort, cluster, drops).has_value());
    EXPECT_EQ(drops.count(DropReason::BadSize), 1u) << (exclusive ? "PutE" : "PutS") << " with a line";
  }
}

TEST(Codec, EmptyDataFieldsAreAccepted) {
  capnp::MallocMessageBuilder b;
  b.initRoot<wire::Message>().initGrant().initData(0);  // a non-null pointer to nothing
  DropCounters drops;
  EXPECT_TRUE(decode(flat(b), kFirstPcpuPort, kLimits, drops).has_value());
}

// Each monitor message with its VM, pages or machine range just outside what the machine allows.
TEST(Codec, MonitorMessagesOutOfRangeAreBadRange) {
  const uint64_t ppn = kLimits.pages_per_node;
  for (unsigned k = 0; k < kMsgKinds; ++k) {
    if (!is_monitor_message(static_cast<MsgKind>(k))) continue;
    const Message good = sample(static_cast<MsgKind>(k), true);
    const PortIndex port = port_of(good.kind, good.pcpu);
    Message m = good;
    m.vm = kMaxVms;
    expect_dropped(encoded(m), port, DropReason::BadRange, std::string(name(good.kind)) + " vm");
  }
  const auto expect_bad = [&](Message m, const char* what) {
    expect_dropped(encoded(m), port_of(m.kind, m.pcpu), DropReason::BadRange, what);
  };
  Message alloc = sample(MsgKind::PageAlloc, false);
  alloc.pages = 0;
  expect_bad(alloc, "PageAlloc of no pages");
  alloc.pages = ppn + 1;
  expect_bad(alloc, "PageAlloc of more than a node");
  alloc.pages = 2;
  alloc.guest_page = kMaxGuestPages - 1;
  expect_bad(alloc, "PageAlloc past the last guest page");
  Message grant = sample(MsgKind::PageGrant, true);
  grant.machine += 4096;
  expect_bad(grant, "PageGrant past the sender's memory");
  grant = sample(MsgKind::PageGrant, true);
  grant.machine = 0;
  expect_bad(grant, "PageGrant of another node's memory");
  grant = sample(MsgKind::PageGrant, true);
  grant.machine += 8;
  expect_bad(grant, "PageGrant not page-aligned");
  Message free = sample(MsgKind::PageFree, false);
  free.machine = (ppn - 1) * 4096;
  free.pages = 2;
  expect_bad(free, "PageFree across two nodes' memory");
  free = sample(MsgKind::PageFree, true);
  free.machine += 4096 * ppn;
  expect_bad(free, "PageFree beyond the machine");
  Message shoot = sample(MsgKind::TlbShootdown, true);
  shoot.machine += 4096;
  expect_bad(shoot, "TlbShootdown beyond the machine");
  Message exited = sample(MsgKind::VmExited, true);
  exited.exit_code = kMaxVmExitCode + 1;
  expect_bad(exited, "VmExited with an unknown exit");
}

}  // namespace
}  // namespace disco
