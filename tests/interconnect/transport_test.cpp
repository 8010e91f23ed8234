// The Transport interface's contract, over every transport: two nodes living in one process,
// every port in both directions, poll, concurrent senders, out-of-range destinations and ports,
// and destruction with messages still queued. Timeouts here only bound a failure; nothing
// asserts on speed.
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <numeric>
#include <thread>

#include <gtest/gtest.h>

#include "interconnect/codec.h"
#include "interconnect/shm_transport.h"
#include "interconnect/zmq_transport.h"
#include "shm/segment.h"
#include "transport_test_helpers.h"

namespace disco {
namespace {

using namespace transport_test;

// Two nodes of one machine over each transport: "shm" (rings in this run's segments), "ipc" (a
// temporary directory) and "tcp" (the loopback).
class TransportPair : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::vector<std::vector<std::string>> table;
    if (GetParam() == "shm") {
      for (NodeId n = 0; n < 2; ++n) {
        auto t = std::make_unique<ShmTransport>(run_, n, 2, kPorts, drops_);
        table.push_back(t->bind());
        shm_[n] = t.get();
        node_[n] = std::move(t);
      }
      for (ShmTransport* t : shm_) t->connect(table);
    } else {
      const std::string place = GetParam() == "ipc" ? "ipc://" + dir_.path() : "tcp://127.0.0.1";
      for (NodeId n = 0; n < 2; ++n) {
        auto t = std::make_unique<ZmqTransport>(context_, n, kPorts);
        table.push_back(t->bind(place));
        zmq_[n] = t.get();
        node_[n] = std::move(t);
      }
      for (ZmqTransport* t : zmq_) t->connect(table);
    }
    for (const auto& endpoints : table) ASSERT_EQ(endpoints.size(), kPorts);
  }
  void TearDown() override {
    for (auto& n : node_) n.reset();
    remove_run_segments(run_, 2);
  }

  TempDir dir_;
  const std::string run_ = make_run_id();
  DropCounters drops_;
  zmq::context_t context_;  // after dir_, before the transports: destroyed after them
  std::unique_ptr<Transport> node_[2];
  ZmqTransport* zmq_[2] = {};
  ShmTransport* shm_[2] = {};
};

INSTANTIATE_TEST_SUITE_P(Kinds, TransportPair, ::testing::Values("shm", "ipc", "tcp"));

TEST_P(TransportPair, EveryPortCarriesMessagesBothWays) {
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

TEST_P(TransportPair, ANodeCanSendToItself) {
  const auto sent = payload(0, kResponsePort, 40);
  ASSERT_TRUE(node_[0]->send(0, kResponsePort, sent));
  Frame frame;
  ASSERT_TRUE(node_[0]->recv(kResponsePort, frame, kWaitMs));
  EXPECT_EQ(bytes_of(frame), sent);
}

TEST_P(TransportPair, AnEncodedGrantArrivesDecodable) {
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

TEST_P(TransportPair, PollReturnsTheIndexOfTheReadyPort) {
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

TEST_P(TransportPair, ConcurrentSendersToOnePortLoseNothing) {
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

TEST_P(TransportPair, DestinationsOutsideTheTableFail) {
  const auto bytes = payload(0, 0, 8);
  EXPECT_FALSE(node_[0]->send(2, 0, bytes));
  EXPECT_FALSE(node_[0]->send(0xffff, 0, bytes));
  EXPECT_FALSE(node_[0]->send(1, kPorts, bytes));
}

TEST_P(TransportPair, PortsThisNodeLacksAreCallerBugs) {
  Frame frame;
  EXPECT_THROW(node_[0]->recv(kPorts, frame, 0), std::out_of_range);
  EXPECT_THROW(node_[0]->poll(std::vector<PortIndex>{0, kPorts}, 0), std::out_of_range);
  if (zmq_[0]) {
    EXPECT_THROW(zmq_[0]->connect({}), std::logic_error);
  }
  if (shm_[0]) {
    EXPECT_THROW(shm_[0]->connect({}), std::logic_error);
  }
}

TEST_P(TransportPair, DestructionWithUnreadMessagesReturns) {
  // Over shm a full ring is back-pressure (a send waits), so stay within what the rings hold.
  const int sends = GetParam() == "shm" ? 100 * kPorts : 5000;
  for (int i = 0; i < sends; ++i) node_[0]->send(1, i % kPorts, payload(0, 0, 64));
  node_[1].reset();  // its queues still hold what was sent
  for (int i = 0; i < sends / 5; ++i) node_[0]->send(1, i % kPorts, payload(0, 0, 64));  // now to nobody
  node_[0].reset();
  context_.close();
}

}  // namespace
}  // namespace disco
