// A TCP run, attacked as a hostile local user would: the launcher's control port is in every
// node's command line, and every node's ports are in /proc/net/tcp. Peers that do not hold the
// run's key knock on all of them and send what once ended a run early (a report that is not JSON,
// forged empty reports, garbage coherence frames). The run must finish exactly as if nobody had
// knocked, and count the peers it refused.
#include <sys/stat.h>

#include <set>

#include <zmq.hpp>

#include "interconnect/control.h"
#include "shm/sanitized.h"
#include "tests/launcher/launcher_harness.h"

namespace disco::launcher_test {
namespace {

std::string flag_of(const std::vector<std::string>& args, const std::string& flag) {
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == flag) return args[i + 1];
  return {};
}

// The TCP ports process `pid` listens on: its socket inodes matched against /proc/net/tcp.
std::vector<unsigned> listening_ports(pid_t pid) {
  std::set<std::string> inodes;
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator(fmt_proc(pid, "fd"), ec)) {
    const std::string target = fs::read_symlink(fd.path(), ec).string();
    if (target.starts_with("socket:[")) inodes.insert(target.substr(8, target.size() - 9));
  }
  std::vector<unsigned> ports;
  std::istringstream table(slurp("/proc/net/tcp"));
  std::string line;
  std::getline(table, line);  // header
  while (std::getline(table, line)) {
    std::istringstream f(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    f >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
    if (state == "0A" && inodes.count(inode))  // LISTEN
      ports.push_back(static_cast<unsigned>(std::stoul(local.substr(local.find(':') + 1), nullptr, 16)));
  }
  return ports;
}

// Enough to outlast the second of knocking below (1.6 s uninstrumented, 11 s under ASan): under
// ThreadSanitizer the same run reached 5.8 M of its 10 M ops in 120 s, so it does a tenth.
constexpr const char* kForgedRunOps = kThreadSanitized ? "500000" : "5000000";

TEST(ForgedPeers, TcpRunRefusesPeersWithoutTheRunsKeyAndFinishesExactly) {
  TempDir dir;
  const fs::path json_path = dir / "summary.json";
  Launcher l({"run", "--transport", "tcp", "--nodes", "2", "--workload", "counter", "--ops", kForgedRunOps,
              "--mem-per-node", "4MiB", "--results", (dir / "results").string(), "--json", json_path.string()},
             dir);
  const auto nodes = l.wait_for_nodes(2, 60s);
  ASSERT_EQ(nodes.size(), 2u) << l.err();
  const auto args = cmdline_of(nodes.at(0));
  const std::string control = flag_of(args, "--control"), key_file = flag_of(args, "--key-file");
  ASSERT_TRUE(control.starts_with("tcp://")) << "control endpoint '" << control << "'";
  ASSERT_FALSE(key_file.empty()) << "a TCP run's nodes are given no key";
  struct stat st {};
  ASSERT_EQ(stat(key_file.c_str(), &st), 0) << key_file;
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the key file is readable by others";
  ASSERT_EQ(stat(fs::path(key_file).parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u) << "the run's folder is open to others";

  // Every port the nodes listen on, once they are all bound (each node has 3 engine ports and a pcpu's).
  std::vector<std::string> targets{control};
  for (const auto& [k, pid] : nodes) {
    std::vector<unsigned> ports;
    for (auto deadline = Clock::now() + 30s; Clock::now() < deadline && ports.size() < 4; std::this_thread::sleep_for(10ms))
      ports = listening_ports(pid);
    ASSERT_GE(ports.size(), 4u) << "node " << k << " listens on " << ports.size() << " ports";
    for (unsigned p : ports) targets.push_back("tcp://127.0.0.1:" + std::to_string(p));
  }

  // What once ended a run: a report that is not JSON, and empty ones, in node 0's name.
  const std::vector<uint8_t> empty_report = encode_control({.kind = ControlMsg::Kind::Stats, .node = 0, .json = "{}"});
  const std::vector<uint8_t> not_json = encode_control({.kind = ControlMsg::Kind::Stats, .node = 0, .json = "nope"});
  const std::vector<uint8_t> garbage(200, 0x5a);
  zmq::context_t strangers;
  std::vector<zmq::socket_t> sockets;
  for (const std::string& t : targets) {
    const bool is_control = t == control;
    zmq::socket_t& s = sockets.emplace_back(strangers, is_control ? zmq::socket_type::dealer : zmq::socket_type::push);
    s.set(zmq::sockopt::linger, 0);
    if (is_control) s.set(zmq::sockopt::routing_id, "n0");
    s.connect(t);
  }
  // Knock for a second while the machine meets and runs: ZeroMQ retries each refused connection.
  for (int round = 0; round < 10; ++round) {
    for (size_t i = 0; i < sockets.size(); ++i)
      for (const auto* bytes : {&empty_report, &not_json, &garbage})
        sockets[i].send(zmq::buffer(*bytes), zmq::send_flags::dontwait);
    std::this_thread::sleep_for(100ms);
  }
  sockets.clear();

  const auto exit = l.wait_for(120s);
  ASSERT_TRUE(exit) << "the run did not end\n" << l.err();
  EXPECT_TRUE(exit->exited && exit->code == 0) << describe(*exit) << "\n" << l.out() << l.err();
  const nlohmann::json s = nlohmann::json::parse(slurp(json_path), nullptr, false);
  ASSERT_TRUE(s.is_object()) << l.out() << l.err();
  EXPECT_EQ(s.value("exit", std::string("<missing>")), "ok");
  ASSERT_TRUE(s.contains("counter")) << s.dump().substr(0, 2000);
  EXPECT_TRUE(s["counter"].value("exact", false)) << s["counter"].dump();
  EXPECT_EQ(s["stats"].value("dropped_messages", uint64_t{1}), 0u) << "a stranger's frame reached a decoder";
  EXPECT_TRUE(s["security"].value("curve", false));
  const uint64_t refused = s["security"].value("refused_connections", uint64_t{0});
  EXPECT_GE(refused, targets.size()) << "not every knock was refused and counted";
  ASSERT_EQ(s["per_node"].size(), 2u);
  for (const auto& nj : s["per_node"])
    EXPECT_GT(nj.value("refused_connections", uint64_t{0}), 0u) << "node " << nj.value("node", 99u);
  EXPECT_NE(l.out().find("refused peers"), std::string::npos) << l.out();
  std::cerr << "[launcher_tests] " << targets.size() << " ports knocked on, " << refused << " connections refused\n";
}

}  // namespace
}  // namespace disco::launcher_test
