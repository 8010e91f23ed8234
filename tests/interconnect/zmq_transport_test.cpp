// What only ZmqTransport has: peers that never bound or listen, and its schemes (transport_test.cpp
// holds the contract every transport keeps).
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <numeric>
#include <thread>

#include <gtest/gtest.h>

#include "interconnect/codec.h"
#include "interconnect/zmq_transport.h"
#include "transport_test_helpers.h"

namespace disco {
namespace {

using namespace transport_test;

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
