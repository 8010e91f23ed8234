// Hostile bytes on a running machine's sockets (DESIGN §6: every wire message is validated; a
// malformed, truncated or hostile message is counted and dropped, never a crash, never a hang).
//
// The test reaches every port of every node of a running 4-node counter machine -- over ipc
// with its own ZeroMQ PUSH sockets, over shm through the rings node 0 writes -- and sends, for every message kind, corrupted encodings: truncations,
// broken segment tables and pointers, unknown union discriminants and enum values, node ids,
// lines and pcpus out of range, kinds on the wrong port, data fields the codec refuses, random
// bit flips and random byte strings. It never sends anything a correct peer could have sent:
// each frame first goes through disco::decode with the machine's own limits and port, and only
// frames it rejects are sent. The run must then end exactly as if nothing had happened, having
// counted the drops.
#include <gtest/gtest.h>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <spdlog/spdlog.h>

#include <random>
#include <zmq.hpp>

#include "interconnect/codec.h"
#include "interconnect/drop_counters.h"
#include "interconnect/message.h"
#include "interconnect/shm_transport.h"
#include "interconnect/wire.capnp.h"
#include "tests/interconnect/sample_messages.h"
#include "tests/launcher/launcher_harness.h"

namespace disco::launcher_test {
namespace {

constexpr uint32_t kNodes = 4;
constexpr uint32_t kPcpus = 1;
constexpr uint64_t kMemPerNode = 4u << 20;
constexpr uint32_t kLineBytes = 128;
constexpr PortIndex kPorts = kFirstPcpuPort + kPcpus;

constexpr WireLimits kMachine{.nodes = kNodes,
                              .pcpus_per_node = kPcpus,
                              .total_lines = kNodes * kMemPerNode / kLineBytes,
                              .lines_per_node = kMemPerNode / kLineBytes,
                              .pages_per_node = kMemPerNode / 4096};

using test::carries_line;
using test::carries_pcpu;
using test::is_forward;

// A well-formed message of kind k for node `to`, every field in range. Never sent as is.
Message legal(MsgKind k, NodeId to) {
  Message m{.kind = k, .src = static_cast<NodeId>((to + 1) % kNodes)};
  if (carries_line(k)) m.line = to * kMachine.lines_per_node + 17;  // homed at `to`
  m.requester = static_cast<NodeId>((to + 2) % kNodes);
  m.txn = 7;
  m.home_txn = 9;
  m.seq = 11;
  if (is_monitor_message(k)) {  // a VM that runs nowhere: served, or dropped as no one's pages
    m.vm = 3;
    m.pages = 1;
    m.machine = (k == MsgKind::PageGrant ? m.src : to) * kMemPerNode + 4096;
  }
  return m;
}

std::vector<uint8_t> encoded(const Message& m) {
  std::vector<uint8_t> out;
  encode(m, out);
  return out;
}

std::vector<uint8_t> flat(capnp::MallocMessageBuilder& b) {
  auto words = capnp::messageToFlatArray(b);
  auto bytes = words.asBytes();
  return {bytes.begin(), bytes.end()};
}

void put_u32(std::vector<uint8_t>& v, size_t at, uint32_t x) {
  for (int i = 0; i < 4; ++i) v[at + i] = static_cast<uint8_t>(x >> (8 * i));
}
void put_u64(std::vector<uint8_t>& v, size_t at, uint64_t x) {
  for (int i = 0; i < 8; ++i) v[at + i] = static_cast<uint8_t>(x >> (8 * i));
}

// Where the Message union's discriminant sits in an encoding: the one byte in which a GetS and a
// GetX with the same fields differ (discriminants 0 and 1).
size_t discriminant_offset() {
  Message a = legal(MsgKind::GetS, 0), b = a;
  b.kind = MsgKind::GetX;
  const auto ea = encoded(a), eb = encoded(b);
  size_t at = SIZE_MAX, diffs = 0;
  for (size_t i = 0; i < std::min(ea.size(), eb.size()); ++i)
    if (ea[i] != eb[i]) at = i, ++diffs;
  EXPECT_EQ(diffs, 1u) << "GetS and GetX encodings should differ in the discriminant only";
  EXPECT_EQ(ea.size(), eb.size());
  return at;
}

// PUSH sockets to every (node, port) of the run (over ipc), or the rings node 0 writes into
// every inbox (over shm); every frame is checked against the decoder first and sent only if the
// machine must drop it.
class Injector {
 public:
  explicit Injector(std::unique_ptr<ShmTransport> rings) : rings_(std::move(rings)) {}
  explicit Injector(const fs::path& socket_dir) {
    for (NodeId n = 0; n < kNodes; ++n)
      for (PortIndex p = 0; p < kPorts; ++p) {
        zmq::socket_t s(ctx_, zmq::socket_type::push);
        s.set(zmq::sockopt::linger, 2000);
        s.set(zmq::sockopt::sndtimeo, 2000);
        s.set(zmq::sockopt::sndhwm, 100000);
        s.connect("ipc://" + (socket_dir / ("n" + std::to_string(n) + "-p" + std::to_string(p))).string());
        sockets_.push_back(std::move(s));
      }
  }

  // Sends `bytes` to (node, port) if the decoder rejects them there. `must_reject`: the frame is
  // malformed by construction, so acceptance is a test bug (reported); otherwise (bit flips,
  // random bytes) an accepted frame is just skipped.
  void send(NodeId node, PortIndex port, const std::vector<uint8_t>& bytes, bool must_reject, const std::string& what) {
    DropCounters verdict;
    if (decode(bytes, port, kMachine, verdict)) {
      if (must_reject) ADD_FAILURE() << what << " decodes on port " << port << ": not malformed";
      ++skipped_;
      return;
    }
    if (rings_ && bytes.size() > ShmTransport::kMaxMessage) {
      ++too_big_;  // a ring refuses it at the sender: it never reaches a node
      return;
    }
    const bool sent = rings_ ? rings_->send(node, port, bytes)
                             : sockets_[node * kPorts + port]
                                   .send(zmq::buffer(bytes.data(), bytes.size()), zmq::send_flags::none)
                                   .has_value();
    if (sent)
      for (unsigned r = 0; r < kDropReasons; ++r)
        if (verdict.count(static_cast<DropReason>(r))) {
          ++sent_by_reason_[r];
          if (port < kFirstPcpuPort) ++engine_by_reason_[r];
        }
    ++(sent ? sent_ : unsent_);
  }

  void close() {
    for (auto& s : sockets_) s.close();  // waits up to the linger for queued frames to leave
    ctx_.close();
  }

  uint64_t sent() const { return sent_; }
  uint64_t skipped() const { return skipped_; }
  uint64_t unsent() const { return unsent_; }
  uint64_t too_big() const { return too_big_; }
  const std::array<uint64_t, kDropReasons>& sent_by_reason() const { return sent_by_reason_; }
  const std::array<uint64_t, kDropReasons>& engine_by_reason() const { return engine_by_reason_; }

 private:
  std::unique_ptr<ShmTransport> rings_;
  zmq::context_t ctx_{1};
  std::vector<zmq::socket_t> sockets_;
  uint64_t sent_ = 0, skipped_ = 0, unsent_ = 0, too_big_ = 0;
  std::array<uint64_t, kDropReasons> sent_by_reason_{}, engine_by_reason_{};
};

// Everything malformed that can be said to node `to`.
void inject_all_kinds(Injector& inj, NodeId to, size_t disc_at, std::mt19937_64& rng) {
  for (unsigned ki = 0; ki < kMsgKinds; ++ki) {
    const auto k = static_cast<MsgKind>(ki);
    const std::string kn(name(k));
    const Message ok = legal(k, to);
    const PortIndex port = port_of(k, ok.pcpu);
    const std::vector<uint8_t> good = encoded(ok);
    {  // the base must be legal, or the corruptions below prove nothing
      DropCounters d;
      ASSERT_TRUE(decode(good, port, kMachine, d)) << kn << ": the legal base message does not decode";
    }

    // Truncations: every shorter length, down to the empty frame; and ragged or extra tails.
    for (size_t len = 0; len < good.size(); ++len)
      inj.send(to, port, {good.begin(), good.begin() + static_cast<long>(len)}, true, kn + " truncated");
    for (size_t extra : {1, 3, 7, 8, 16}) {
      auto v = good;
      v.resize(v.size() + extra, 0);
      inj.send(to, port, v, true, kn + " with a tail");
    }

    // The segment table: a second segment, absurd counts, a wrong size.
    for (uint32_t count_minus_one : {1u, 7u, 0xffffffffu}) {
      auto v = good;
      put_u32(v, 0, count_minus_one);
      inj.send(to, port, v, false, kn + " segment count");
    }
    const uint32_t seg_words = static_cast<uint32_t>(good.size() / 8 - 1);
    for (uint32_t words : {0u, seg_words - 1, seg_words + 1, 0x7fffffffu, 0xffffffffu}) {
      auto v = good;
      put_u32(v, 4, words);
      inj.send(to, port, v, words != 0, kn + " segment size");
    }

    // The root pointer: out of bounds, a list, a far pointer to a missing segment, a capability.
    for (uint64_t root : {uint64_t{1000} << 2, (uint64_t{5} << 32) | 1, (uint64_t{9} << 32) | 2,
                          (uint64_t{3} << 32) | 3, ~uint64_t{0}, (uint64_t{0xffff} << 48) | (uint64_t{0xffff} << 32)}) {
      auto v = good;
      put_u64(v, 8, root);
      inj.send(to, port, v, false, kn + " root pointer");
    }

    // Union discriminants this build does not know.
    for (uint16_t d : {uint16_t{kMsgKinds}, uint16_t{kMsgKinds + 1}, uint16_t{200}, uint16_t{0xffff}}) {
      auto v = good;
      v[disc_at] = static_cast<uint8_t>(d);
      v[disc_at + 1] = static_cast<uint8_t>(d >> 8);
      inj.send(to, port, v, true, kn + " discriminant " + std::to_string(d));
    }

    // Node ids, lines, pcpus out of range.
    for (NodeId src : {NodeId{kNodes}, NodeId{kNodes + 1}, NodeId{0xffff}}) {
      Message m = ok;
      m.src = src;
      inj.send(to, port, encoded(m), true, kn + " src " + std::to_string(src));
    }
    if (carries_line(k))
      for (uint64_t line : {kMachine.total_lines, kMachine.total_lines + 1, uint64_t{1} << 63, ~uint64_t{0}}) {
        Message m = ok;
        m.line = line;
        inj.send(to, port, encoded(m), true, kn + " line out of range");
      }
    if (carries_pcpu(k))
      for (PcpuId p : {PcpuId{kPcpus}, PcpuId{kPcpus + 1}, PcpuId{kMaxPcpusPerNode}, PcpuId{0xffff}}) {
        Message m = ok;
        m.pcpu = p;
        // To the port such a message would use if the pcpu existed, else to pcpu 0's.
        const PortIndex to_port = port_of(k, p) < kPorts ? port_of(k, p) : kFirstPcpuPort;
        inj.send(to, to_port, encoded(m), true, kn + " pcpu " + std::to_string(p));
      }
    if (is_forward(k))
      for (NodeId r : {NodeId{kNodes}, NodeId{0xffff}}) {
        Message m = ok;
        m.requester = r;
        inj.send(to, port, encoded(m), true, kn + " requester " + std::to_string(r));
      }

    // Enum values this build does not know.
    if (k == MsgKind::Grant) {
      for (unsigned g : {3u, 4u, 0xffffu}) {
        Message m = ok;
        m.grant = static_cast<GrantState>(g);
        inj.send(to, port, encoded(m), true, "Grant state " + std::to_string(g));
      }
      if constexpr (requires(Message x) { x.invalidated; }) {
        Message m = ok;
        m.invalidated = kNodes;  // more sharers invalidated than the machine has other nodes
        inj.send(to, port, encoded(m), true, "Grant invalidated out of range");
      }
    }
    if (k == MsgKind::Nack)
      for (unsigned r : {3u, 4u, 0xffffu}) {
        Message m = ok;
        m.reason = static_cast<NackReason>(r);
        inj.send(to, port, encoded(m), true, "Nack reason " + std::to_string(r));
      }

    // A legal message on every port it does not belong on.
    for (PortIndex p = 0; p < kPorts; ++p)
      if (p != port) inj.send(to, p, good, true, kn + " on port " + std::to_string(p));

    // Random bit flips of the legal encoding (kept only when the decoder rejects them).
    for (int i = 0; i < 12; ++i) {
      auto v = good;
      for (int flips = 1 + static_cast<int>(rng() % 3); flips > 0; --flips) v[rng() % v.size()] ^= 1u << (rng() % 8);
      inj.send(to, port, v, false, kn + " bit flip");
    }
  }

  // Data the codec does not accept (cluster data path) and a Ping padded beyond its limit or
  // beyond the largest frame: built with the schema, since encode() refuses to.
  const NodeId src = static_cast<NodeId>((to + 1) % kNodes);
  const uint64_t line = to * kMachine.lines_per_node + 3;
  {
    capnp::MallocMessageBuilder b;
    auto root = b.initRoot<wire::Message>();
    root.setSrc(src);
    auto put = root.initPutM();
    put.setLine(line);
    put.initData(kLineBytes);
    inj.send(to, kRequestPort, flat(b), true, "PutM with data");
  }
  {
    capnp::MallocMessageBuilder b;
    auto root = b.initRoot<wire::Message>();
    root.setSrc(src);
    auto ack = root.initFwdAck();
    ack.setLine(line);
    ack.setDirty(true);
    ack.initData(kLineBytes);
    inj.send(to, kResponsePort, flat(b), true, "FwdAck with data");
  }
  {
    capnp::MallocMessageBuilder b;
    auto root = b.initRoot<wire::Message>();
    root.setSrc(src);
    auto g = root.initGrant();
    g.setLine(line);
    g.initData(kLineBytes);
    inj.send(to, kFirstPcpuPort, flat(b), true, "Grant with data");
  }
  for (uint32_t pad : {kMaxPadBytes + 8, 3 * kMaxPadBytes}) {
    capnp::MallocMessageBuilder b;
    auto root = b.initRoot<wire::Message>();
    root.setSrc(src);
    root.initPing().initPad(pad);
    inj.send(to, kRequestPort, flat(b), true, "Ping padded with " + std::to_string(pad));
  }
}

// Random byte strings: some of any length, some of whole words behind a segment table that
// matches their length, so that they reach Cap'n Proto's pointer checks.
void inject_random(Injector& inj, std::mt19937_64& rng, int count) {
  for (int i = 0; i < count; ++i) {
    const auto node = static_cast<NodeId>(rng() % kNodes);
    const auto port = static_cast<PortIndex>(rng() % kPorts);
    std::vector<uint8_t> v;
    if (i % 2 == 0) {
      v.resize(rng() % 257);
      for (auto& b : v) b = static_cast<uint8_t>(rng());
    } else {
      const size_t words = 2 + rng() % 24;
      v.resize(words * 8);
      for (auto& b : v) b = static_cast<uint8_t>(rng());
      put_u32(v, 0, 0);
      put_u32(v, 4, static_cast<uint32_t>(words - 1));
    }
    inj.send(node, port, v, false, "random bytes");
  }
}

// The injector of a run, once every port of every node is there: ZeroMQ sockets to the run's
// socket folder, or the shm rings of its inboxes (the run id read from the segments' names).
std::unique_ptr<Injector> injector_of(Launcher& l, const std::string& transport) {
  const auto deadline = Clock::now() + 60s;
  for (; Clock::now() < deadline && l.running(); std::this_thread::sleep_for(10ms)) {
    if (transport == "ipc") {
      const auto dirs = run_socket_dirs(l.pid());
      if (dirs.size() == 1 && fs::exists(dirs[0] / ("n" + std::to_string(kNodes - 1) + "-p" + std::to_string(kPorts - 1))))
        return std::make_unique<Injector>(dirs[0]);
      continue;
    }
    const auto segments = run_segments(l.pid());
    if (segments.empty()) continue;
    const std::string name = segments[0].filename().string();  // disco-<run id>-<n|r><k>
    const std::string run_id = name.substr(6, name.rfind('-') - 6);
    static DropCounters drops;
    auto rings = std::make_unique<ShmTransport>(run_id, 0, kNodes, kPorts, drops);
    std::vector<std::vector<std::string>> table;
    for (NodeId n = 0; n < kNodes; ++n) table.push_back(ShmTransport::endpoints(run_id, n, kPorts));
    try {
      rings->connect(table);  // refused until every inbox is whole
      return std::make_unique<Injector>(std::move(rings));
    } catch (const std::runtime_error&) {
    }
  }
  return nullptr;
}

class MalformedMessages : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Transports, MalformedMessages, ::testing::Values("shm", "ipc"));

TEST_P(MalformedMessages, RunningMachineDropsThemAndStaysCorrect) {
  spdlog::set_level(spdlog::level::off);  // the local decoder's verdicts need no log lines
  TempDir dir;
  Launcher l({"run", "--nodes", std::to_string(kNodes), "--cpus-per-node", std::to_string(kPcpus), "--mem-per-node",
              "4MiB", "--line-size", std::to_string(kLineBytes), "--workload", "counter", "--ops", "300000", "--results",
              (dir / "results").string(), "--json", (dir / "summary.json").string(), "--transport", GetParam()},
             dir);

  const std::unique_ptr<Injector> injector = injector_of(l, GetParam());
  ASSERT_TRUE(injector) << "the run's " << GetParam() << " ports never appeared\n" << l.err();
  Injector& inj = *injector;

  const size_t disc_at = discriminant_offset();
  ASSERT_NE(disc_at, SIZE_MAX);
  std::mt19937_64 rng(20240607);
  auto inject_round = [&] {
    for (NodeId n = 0; n < kNodes; ++n) {
      inject_all_kinds(inj, n, disc_at, rng);
      if (HasFatalFailure()) return;
    }
    inject_random(inj, rng, 400);
  };

  // Round 1 while the nodes meet (their sockets are bound; the engines start reading at the
  // peer table), round 2 once the machine runs: the launcher prints its first progress line.
  inject_round();
  if (HasFatalFailure()) return;
  ASSERT_TRUE(l.wait_for_stderr("accesses/s", 60s)) << "the machine did not run\n" << l.out() << l.err();
  const auto t0 = Clock::now();
  inject_round();
  if (HasFatalFailure()) return;
  inj.close();
  const double inject_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const bool alive_after = l.running();
  std::cerr << "[launcher_tests] sent " << inj.sent() << " malformed frames (the second half in " << inject_seconds
            << " s); " << inj.skipped() << " fuzzed frames decoded and were not sent, " << inj.unsent()
            << " not taken, " << inj.too_big() << " larger than a ring takes, refused by the sender\n";
  EXPECT_EQ(inj.unsent(), 0u);
  // The counts below assume the engines were still reading after the injection.
  ASSERT_TRUE(alive_after) << "the run ended before the injection did; raise --ops so that it lasts longer";

  // The effective configuration is the machine the local decoder checked against.
  {
    const auto results = fs::directory_iterator(dir / "results")->path();
    const auto cfg = nlohmann::json::parse(slurp(results / "effective-config.json"));
    EXPECT_EQ(cfg.at("nodes"), kNodes);
    EXPECT_EQ(cfg.at("cpus_per_node"), kPcpus);
    EXPECT_EQ(cfg.at("mem_per_node"), kMemPerNode);
    EXPECT_EQ(cfg.at("line_bytes"), kLineBytes);
  }

  // 1.2 M contended accesses: 15-28 s over shm, but over ipc 53 s to 320 s on the same 2-core
  // host at different hours, alone (ZeroMQ round trips); the deadline only has to tell a hang.
  const auto exit = l.wait_for(600s);
  ASSERT_TRUE(exit) << "the run did not end within 600 s after the injection\n" << l.err();
  const std::string said = l.out() + l.err();
  EXPECT_TRUE(exit->exited && exit->code == 0) << describe(*exit) << "\n" << said;

  const nlohmann::json s = nlohmann::json::parse(slurp(dir / "summary.json"), nullptr, false);
  ASSERT_TRUE(s.is_object()) << said;
  EXPECT_EQ(s.value("exit", std::string("<missing>")), "ok") << said;
  ASSERT_TRUE(s.contains("counter")) << said;
  EXPECT_TRUE(s["counter"].value("exact", false)) << s["counter"].dump();
  EXPECT_EQ(s["counter"]["expected"], s["counter"]["final"]);
  EXPECT_EQ(s.value("failed_accesses", uint64_t{1}), 0u);
  EXPECT_EQ(s["stats"].value("protocol_errors", uint64_t{1}), 0u) << "a frame got past the decoder into the protocol";

  const uint64_t dropped = s["stats"].value("dropped_messages", uint64_t{0});
  EXPECT_GT(dropped, 0u);
  RecordProperty("frames_sent", std::to_string(inj.sent()));
  RecordProperty("dropped_messages", std::to_string(dropped));
  std::cerr << "[launcher_tests] the machine dropped " << dropped << " messages\n";

  // Every node dropped some, and every reason the decoder gave locally for a frame sent to an
  // engine port shows in the nodes' counters (engine ports are read all through the run; a
  // pcpu port only while its pcpu waits for a reply).
  std::array<uint64_t, kDropReasons> by_reason{};
  ASSERT_EQ(s["per_node"].size(), kNodes);
  for (const auto& nj : s["per_node"]) {
    uint64_t node_total = 0;
    for (unsigned r = 0; r < kDropReasons; ++r) {
      const uint64_t c = nj["drops"].value(std::string(name(static_cast<DropReason>(r))), uint64_t{0});
      by_reason[r] += c;
      node_total += c;
    }
    EXPECT_GT(node_total, 0u) << "node " << nj.value("node", 99u) << " dropped nothing: " << nj["drops"].dump();
  }
  for (unsigned r = 0; r < kDropReasons; ++r) {
    const auto reason = static_cast<DropReason>(r);
    // Engine ports are drained all through the run, so each of their frames was counted; pcpu
    // ports' frames are counted when their pcpu next waits for a reply (almost always, not surely).
    EXPECT_GE(by_reason[r], inj.engine_by_reason()[r]) << name(reason) << ": fewer drops than frames sent to engine ports";
    EXPECT_LE(by_reason[r], inj.sent_by_reason()[r]) << name(reason) << ": more drops than such frames sent";
    std::cerr << "[launcher_tests]   " << name(reason) << ": sent " << inj.sent_by_reason()[r] << " ("
              << inj.engine_by_reason()[r] << " to engine ports), dropped " << by_reason[r] << "\n";
  }

  // Each node said what it dropped in its log.
  const fs::path results = s.value("results_dir", std::string());
  for (uint32_t n = 0; n < kNodes; ++n) {
    const std::string log = slurp(results / ("node" + std::to_string(n) + ".log"));
    EXPECT_NE(log.find("dropped"), std::string::npos) << "node " << n << "'s log mentions no drop:\n" << log.substr(0, 2000);
  }

  EXPECT_TRUE(run_segments(l.pid()).empty()) << joined(run_segments(l.pid()));
  EXPECT_TRUE(run_socket_dirs(l.pid()).empty()) << joined(run_socket_dirs(l.pid()));
}

}  // namespace
}  // namespace disco::launcher_test
