// ZmqTransport between two nodes living in one process, over ipc (a temporary directory) and
// over tcp on the loopback: every port in both directions, poll, concurrent senders, and the
// cases that must never hang -- an absent peer and destruction with messages still queued.
// Timeouts here only bound a failure; nothing asserts on speed.
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <numeric>
#include <thread>

#include <gtest/gtest.h>

#include "interconnect/codec.h"
#include "interconnect/zmq_transport.h"

namespace disco {
namespace {

constexpr uint32_t kPorts = kFirstPcpuPort + 2;  // a node with two pcpus
constexpr int kWaitMs = 10000;                   // generous: only reached if something is broken

// A fresh directory for ipc endpoints, short enough for a socket path, removed afterwards.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/disco-ic-XXXXXX";
    if (mkdtemp(name) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = name;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<uint8_t> payload(NodeId from, PortIndex port, size_t size) {
  std::vector<uint8_t> bytes(size);
  std::iota(bytes.begin(), bytes.end(), static_cast<uint8_t>(from * 100 + port));
  return bytes;
}

std::vector<uint8_t> bytes_of(const Frame& f) { return {f.data().begin(), f.data().end()}; }

class ZmqTransportPair : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string place = GetParam() == "ipc" ? "ipc://" + dir_.path() : "tcp://127.0.0.1";
    for (NodeId n = 0; n < 2; ++n) node_[n] = std::make_unique<ZmqTransport>(context_, n, kPorts);
    const std::vector<std::vector<std::string>> table = {node_[0]->bind(place), node_[1]->bind(place)};
    for (const auto& endpoints : table) ASSERT_EQ(endpoints.size(), kPorts);
    for (auto& t : node_) t->connect(table);
  }

  TempDir dir_;
  zmq::context_t context_;  // after dir_, before the transports: destroyed after them
  std::unique_ptr<ZmqTransport> node_[2];
};

INSTANTIATE_TEST_SUITE_P(Schemes, ZmqTransportPair, ::testing::Values("ipc", "tcp"));

TEST_P(ZmqTransportPair, EveryPortCarriesMessagesBothWays) {
  for (NodeId from = 0; from < 2; ++from) {
    const NodeId to = 1 - from;
    for (PortIndex p = 0; p < kPorts; ++p) {
      const auto sent = payload(from, p, 13 + p * 8);  // not a whole number of words, on purpose
      ASSERT_TRUE(node_[from]->send(to, p, sent));
      Frame frame;
      ASSERT_TRUE(node_[to]->recv(p, frame, kWaitMs)) << "node " << to << " port " << p;
      EXPECT_EQ(bytes_of(frame), sent);
      EXPECT_EQ(frame.words.size(), (sent.size() + 7) / 8);
    }
  }
}

TEST_P(ZmqTransportPair, ANodeCanSendToItself) {
  const auto sent = payload(0, kResponsePort, 40);
  ASSERT_TRUE(node_[0]->send(0, kResponsePort, sent));
  Frame frame;
  ASSERT_TRUE(node_[0]->recv(kResponsePort, frame, kWaitMs));
  EXPECT_EQ(bytes_of(frame), sent);
}

TEST_P(ZmqTransportPair, AnEncodedGrantArrivesDecodable) {
  const WireLimits limits{.nodes = 2, .pcpus_per_node = 2, .total_lines = 1 << 20, .lines_per_node = 1 << 19};
  const Message grant{.kind = MsgKind::Grant, .src = 0, .line = 12345, .pcpu = 1, .txn = 99,
                      .grant = GrantState::Exclusive};
  std::vector<uint8_t> bytes;
  encode(grant, bytes);
  const PortIndex port = port_of(grant.kind, grant.pcpu);
  ASSERT_TRUE(node_[0]->send(1, port, bytes));
  Frame frame;
  ASSERT_TRUE(node_[1]->recv(port, frame, kWaitMs));
  DropCounters drops;
  const auto m = decode(frame.data(), port, limits, drops);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->line, 12345u);
  EXPECT_EQ(m->txn, 99u);
  EXPECT_EQ(m->grant, GrantState::Exclusive);
}

TEST_P(ZmqTransportPair, PollReturnsTheIndexOfTheReadyPort) {
  using Ports = std::vector<PortIndex>;
  const Ports all = {0, 1, 2, 3, 4};
  EXPECT_EQ(node_[1]->poll(all, 0), -1);

  ASSERT_TRUE(node_[0]->send(1, 4, payload(0, 4, 8)));
  EXPECT_EQ(node_[1]->poll(all, kWaitMs), 4);
  EXPECT_EQ(node_[1]->poll(Ports{4, 3, 2, 1, 0}, kWaitMs), 0);

  // With two ports ready, the first listed wins: callers list ports by priority.
  ASSERT_TRUE(node_[0]->send(1, 1, payload(0, 1, 8)));
  EXPECT_EQ(node_[1]->poll(Ports{1}, kWaitMs), 0);
  EXPECT_EQ(node_[1]->poll(Ports{1, 4}, kWaitMs), 0);
  EXPECT_EQ(node_[1]->poll(Ports{4, 1}, kWaitMs), 0);
  EXPECT_EQ(node_[1]->poll(Ports{0, 2, 1}, kWaitMs), 2);

  Frame frame;
  ASSERT_TRUE(node_[1]->recv(1, frame, 0));
  ASSERT_TRUE(node_[1]->recv(4, frame, 0));
  EXPECT_EQ(node_[1]->poll(all, 0), -1);
  EXPECT_FALSE(node_[1]->recv(4, frame, 0));
  EXPECT_FALSE(node_[1]->recv(4, frame, 5));
}

TEST_P(ZmqTransportPair, ConcurrentSendersToOnePortLoseNothing) {
  constexpr int kThreads = 4, kEach = 1000;
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t)
    senders.emplace_back([this, t] {
      for (int i = 0; i < kEach; ++i) {
        const uint64_t tag = uint64_t(t) << 32 | uint64_t(i);
        while (!node_[0]->send(1, kRequestPort, std::span(reinterpret_cast<const uint8_t*>(&tag), sizeof tag))) {
          std::this_thread::yield();  // queue full: the receiver below drains it
        }
      }
    });
  std::vector<int> next(kThreads, 0);
  Frame frame;
  for (int n = 0; n < kThreads * kEach; ++n) {
    ASSERT_TRUE(node_[1]->recv(kRequestPort, frame, kWaitMs)) << "after " << n;
    ASSERT_EQ(frame.bytes, sizeof(uint64_t));
    const uint64_t tag = frame.words[0];
    const auto t = static_cast<int>(tag >> 32);
    ASSERT_LT(t, kThreads);
    EXPECT_EQ(static_cast<int>(tag & 0xffffffff), next[t]++) << "sender " << t << " out of order";
  }
  for (auto& s : senders) s.join();
}

TEST_P(ZmqTransportPair, DestinationsOutsideTheTableFail) {
  const auto bytes = payload(0, 0, 8);
  EXPECT_FALSE(node_[0]->send(2, 0, bytes));
  EXPECT_FALSE(node_[0]->send(0xffff, 0, bytes));
  EXPECT_FALSE(node_[0]->send(1, kPorts, bytes));
}

TEST_P(ZmqTransportPair, PortsThisNodeLacksAreCallerBugs) {
  Frame frame;
  EXPECT_THROW(node_[0]->recv(kPorts, frame, 0), std::out_of_range);
  EXPECT_THROW(node_[0]->poll(std::vector<PortIndex>{0, kPorts}, 0), std::out_of_range);
  EXPECT_THROW(node_[0]->connect({}), std::logic_error);
}

TEST_P(ZmqTransportPair, DestructionWithUnreadMessagesReturns) {
  for (int i = 0; i < 5000; ++i) node_[0]->send(1, i % kPorts, payload(0, 0, 64));
  node_[1].reset();  // its queues still hold what was sent
  for (int i = 0; i < 1000; ++i) node_[0]->send(1, 0, payload(0, 0, 64));  // now to nobody
  node_[0].reset();
  context_.close();
}

TEST(ZmqTransport, SendsToAbsentPeersReturnAndDestructionDoesNotWait) {
  TempDir dir;
  zmq::context_t context;
  {
    ZmqTransport t(context, 0, kFirstPcpuPort);
    const auto mine = t.bind("ipc://" + dir.path());
    t.connect({mine,
               {"ipc://" + dir.path() + "/nobody-p0"},  // nobody bound it
               {"tcp://127.0.0.1:1"},                   // nobody listens there
               {"not-an-endpoint"}});
    for (int i = 0; i < 1000; ++i) {
      t.send(1, 0, payload(0, 0, 64));  // queued while ZeroMQ keeps trying to connect
      t.send(2, 0, payload(0, 0, 64));
    }
    EXPECT_FALSE(t.send(3, 0, payload(0, 0, 64)));
  }
  context.close();  // would block forever if any socket lingered on its queue
}

TEST(ZmqTransport, RejectsBadConstructionAndSchemes) {
  zmq::context_t context;
  EXPECT_THROW(ZmqTransport(context, 0, 0), std::invalid_argument);
  EXPECT_THROW(ZmqTransport(context, 0, kFirstPcpuPort + kMaxPcpusPerNode + 1), std::invalid_argument);
  ZmqTransport t(context, 0, kFirstPcpuPort);
  EXPECT_THROW(t.bind("inproc://x"), std::invalid_argument);
  EXPECT_THROW(t.bind("ipc:///nonexistent-dir-for-disco-tests"), std::runtime_error);
}

}  // namespace
}  // namespace disco
