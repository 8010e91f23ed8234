// The run's key and the guard that makes ZeroMQ sockets speak CURVE with it: peers holding the
// key talk, every other peer is refused before a byte of its reaches the transport, and counted.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "interconnect/connection_guard.h"
#include "interconnect/run_key.h"
#include "interconnect/zmq_transport.h"
#include "transport_test_helpers.h"

namespace disco {
namespace {

using namespace transport_test;
using namespace std::chrono_literals;

// Waits until `done` holds, for at most kWaitMs.
template <typename F>
bool eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kWaitMs);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

TEST(RunKey, WrittenOwnerOnlyAndReadBack) {
  TempDir dir;
  const RunKey key = RunKey::generate();
  EXPECT_EQ(key.public_z85.size(), 40u);
  EXPECT_NE(key.public_z85, RunKey::generate().public_z85);
  const std::string path = dir.path() + "/run.key";
  key.write(path);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const RunKey back = RunKey::read(path);
  EXPECT_EQ(back.public_z85, key.public_z85);
  EXPECT_EQ(back.secret_z85, key.secret_z85);
  EXPECT_THROW(key.write(path), std::runtime_error) << "an existing file must not be replaced";
}

TEST(RunKey, RefusesFilesItCannotTrust) {
  TempDir dir;
  const RunKey key = RunKey::generate();
  const std::string good = dir.path() + "/good.key";
  key.write(good);
  auto expect_refused = [](const std::string& path, const std::string& says) {
    try {
      RunKey::read(path);
      ADD_FAILURE() << path << " was accepted";
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(says), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << "not one line: " << what;
    }
  };
  expect_refused(dir.path() + "/missing", "No such file");
  expect_refused(dir.path(), "not a regular file");

  const std::string link = dir.path() + "/link.key";
  ASSERT_EQ(symlink(good.c_str(), link.c_str()), 0);
  expect_refused(link, "links");  // O_NOFOLLOW: "Too many levels of symbolic links"

  const std::string open_to_all = dir.path() + "/open.key";
  std::ofstream(open_to_all) << std::ifstream(good).rdbuf();
  chmod(open_to_all.c_str(), 0644);
  expect_refused(open_to_all, "mode 644");

  auto write_owner_only = [&](const std::string& name, const std::string& text) {
    const std::string p = dir.path() + "/" + name;
    std::ofstream(p) << text;
    chmod(p.c_str(), 0600);
    return p;
  };
  expect_refused(write_owner_only("garbage.key", "hello\n"), "not a disco run key file");
  expect_refused(write_owner_only("short.key", "disco-run-key 1\npublic abc\nsecret def\n"), "not 40 characters");
  const RunKey other = RunKey::generate();
  expect_refused(write_owner_only("mixed.key", "disco-run-key 1\npublic " + other.public_z85 + "\nsecret " +
                                                   key.secret_z85 + "\n"),
                 "does not belong");
  expect_refused(write_owner_only("huge.key", std::string(10000, 'x')), "too large");
}

// A node with its own context and guard, as a node process has.
struct GuardedNode {
  zmq::context_t context;
  ConnectionGuard guard;
  ZmqTransport transport;
  GuardedNode(NodeId self, const RunKey& key) : guard(context, key), transport(context, self, kPorts, &guard) {}
};

TEST(ConnectionGuard, PeersWithTheRunsKeyTalk) {
  const RunKey key = RunKey::generate();
  GuardedNode a(0, key), b(1, key);
  const auto ea = a.transport.bind("tcp://127.0.0.1");
  const auto eb = b.transport.bind("tcp://127.0.0.1");
  a.transport.connect({ea, eb});
  b.transport.connect({ea, eb});
  ASSERT_TRUE(a.transport.send(1, kFirstPcpuPort, payload(0, kFirstPcpuPort, 300)));
  Frame f;
  ASSERT_TRUE(b.transport.recv(kFirstPcpuPort, f, kWaitMs));
  EXPECT_EQ(bytes_of(f), payload(0, kFirstPcpuPort, 300));
  ASSERT_TRUE(b.transport.send(0, 0, payload(1, 0, 40)));
  ASSERT_TRUE(a.transport.recv(0, f, kWaitMs));
  EXPECT_EQ(bytes_of(f), payload(1, 0, 40));
  EXPECT_EQ(a.guard.refused(), 0u);
  EXPECT_EQ(b.guard.refused(), 0u);
}

// Three strangers knock on a guarded node's port: one without CURVE, one with CURVE and the node's
// public key but a key pair of its own (a leaked public key is not enough), and one of another
// run. None of their messages arrives; every one of them is counted; the run's own peer still talks.
TEST(ConnectionGuard, PeersWithoutTheRunsKeyAreRefusedAndCounted) {
  const RunKey key = RunKey::generate();
  GuardedNode node(0, key), peer(1, key);
  const auto endpoints = node.transport.bind("tcp://127.0.0.1");
  peer.transport.bind("tcp://127.0.0.1");

  // One stranger at a time, so that each one's refusal shows in the count (ZeroMQ retries a
  // refused connection, so a stranger is refused at least once while it lives).
  auto knock = [&](const std::string& who, auto&& make) {
    const uint64_t before = node.guard.refused();
    const auto kept = make();  // alive while we wait: it retries
    EXPECT_TRUE(eventually([&] { return node.guard.refused() > before; })) << who << " was not refused";
  };
  zmq::context_t strangers;
  auto stranger = [&](const RunKey* own, const std::string& server_key) {
    zmq::socket_t s(strangers, zmq::socket_type::push);
    s.set(zmq::sockopt::linger, 0);
    if (own) {
      s.set(zmq::sockopt::curve_serverkey, server_key);
      s.set(zmq::sockopt::curve_publickey, own->public_z85);
      s.set(zmq::sockopt::curve_secretkey, own->secret_z85);
    }
    s.connect(endpoints[0]);
    s.send(zmq::buffer(payload(9, 0, 64)), zmq::send_flags::dontwait);
    return s;
  };
  const RunKey own = RunKey::generate();
  knock("a peer without CURVE", [&] { return stranger(nullptr, ""); });
  knock("a peer with its own key pair and the node's public key", [&] { return stranger(&own, key.public_z85); });
  knock("a peer that guesses the server key", [&] { return stranger(&own, own.public_z85); });
  knock("a node of another run", [&] {
    auto other_run = std::make_unique<GuardedNode>(2, RunKey::generate());
    other_run->transport.bind("tcp://127.0.0.1");
    other_run->transport.connect({endpoints});
    other_run->transport.send(0, 0, payload(2, 0, 64));
    return other_run;
  });
  Frame f;
  EXPECT_FALSE(node.transport.recv(0, f, 300)) << "a stranger's message arrived";

  peer.transport.connect({endpoints});
  ASSERT_TRUE(peer.transport.send(0, 0, payload(1, 0, 64)));
  ASSERT_TRUE(node.transport.recv(0, f, kWaitMs));
  EXPECT_EQ(bytes_of(f), payload(1, 0, 64));
  EXPECT_EQ(peer.guard.refused(), 0u);
}

TEST(ConnectionGuard, OnePerContext) {
  zmq::context_t context;
  const RunKey key = RunKey::generate();
  ConnectionGuard first(context, key);
  EXPECT_THROW(ConnectionGuard(context, key), std::runtime_error);
  EXPECT_THROW(ConnectionGuard(context, RunKey{"short", "short"}), std::runtime_error);
}

}  // namespace
}  // namespace disco
