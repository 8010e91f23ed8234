// A node that dies mid-run, and a launcher interrupted mid-run: the launcher notices, says
// what happened, stops every node of the run and removes its segments and sockets.
#include <gtest/gtest.h>

#include "tests/launcher/launcher_harness.h"

namespace disco::launcher_test {
namespace {

constexpr unsigned kNodes = 4;

// Every node process and every file of the run are gone.
void expect_run_gone(pid_t launcher, const std::map<unsigned, pid_t>& nodes) {
  // The launcher has exited and reaped its nodes; give an orphan a moment to be reaped by init.
  for (int i = 0; i < 100; ++i) {
    bool any = false;
    for (const auto& [k, pid] : nodes) any |= fs::exists(fmt_proc(pid, "stat"));
    if (!any) break;
    std::this_thread::sleep_for(20ms);
  }
  for (const auto& [k, pid] : nodes) {
    const auto st = stat_of(pid);
    EXPECT_FALSE(st.has_value()) << "node " << k << " (pid " << pid << ") still exists, state " << (st ? st->state : '?');
  }
  EXPECT_TRUE(processes_mentioning("/tmp/disco-" + std::to_string(launcher) + "-").empty())
      << "a process of the run survives";
  EXPECT_TRUE(run_segments(launcher).empty()) << "segments left: " << joined(run_segments(launcher));
  EXPECT_TRUE(run_socket_dirs(launcher).empty()) << "socket folders left: " << joined(run_socket_dirs(launcher));
}

nlohmann::json read_summary(const TempDir& dir) {
  if (!fs::exists(dir / "summary.json")) return nullptr;
  return nlohmann::json::parse(slurp(dir / "summary.json"), nullptr, false);
}

// The one folder a run made under <dir>/results.
fs::path results_of(const TempDir& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir / "results", ec)) return e.path();
  return {};
}

// README: "A node that dies (even kill -9) is noticed by the launcher within a second"; allowed
// here with a margin for the scheduler of a loaded host.
constexpr double kNoticeSeconds = 2.0;

// Every failure below is tried over the shared-memory rings and over ZeroMQ.
const auto kTransports = ::testing::Values(std::string("shm"), std::string("ipc"));

class NodeKilled : public ::testing::TestWithParam<std::tuple<unsigned, std::string>> {};

TEST_P(NodeKilled, IsReportedAndTheRunCleanedUp) {
  const unsigned kVictim = std::get<0>(GetParam());
  TempDir dir;
  Launcher l(endless_run(dir, kNodes, {"--transport", std::get<1>(GetParam())}), dir);
  const auto nodes = busy_nodes(l, kNodes);
  ASSERT_EQ(nodes.size(), kNodes) << "the machine did not get going\n" << l.out() << l.err();

  // The launcher has noticed once it tells the survivors (each logs it); it then stops them.
  const fs::path results = results_of(dir);
  const std::string told = "node " + std::to_string(kVictim) + " is down";
  const auto t_kill = Clock::now();
  ASSERT_EQ(kill(nodes.at(kVictim), SIGKILL), 0);
  std::optional<double> noticed;
  std::optional<Exit> exit;
  const auto deadline = t_kill + 10s;  // only against a hang: the bound that matters is kNoticeSeconds
  while (!(exit = l.wait_for(0ms)) && Clock::now() < deadline) {
    for (unsigned k = 0; k < kNodes && !noticed; ++k)
      if (k != kVictim && slurp(results / ("node" + std::to_string(k) + ".log")).find(told) != std::string::npos)
        noticed = std::chrono::duration<double>(Clock::now() - t_kill).count();
    std::this_thread::sleep_for(5ms);
  }
  if (!noticed) noticed = std::chrono::duration<double>(Clock::now() - t_kill).count();  // ended the run first
  ASSERT_TRUE(exit) << "the launcher did not end the run within 10 s of node " << kVictim << "'s death";
  EXPECT_LT(*noticed, kNoticeSeconds) << "seconds until the launcher noticed node " << kVictim << "'s death";
  RecordProperty("seconds_to_notice", std::to_string(*noticed));

  const std::string said = l.out() + l.err();
  EXPECT_TRUE(exit->exited) << describe(*exit);
  EXPECT_NE(exit->code, 0) << said;
  EXPECT_NE(said.find("node " + std::to_string(kVictim)), std::string::npos) << said;

  const nlohmann::json summary = read_summary(dir);
  ASSERT_TRUE(summary.is_object()) << "no JSON summary\n" << said;
  const std::string why = summary.value("exit", std::string("ok"));
  EXPECT_NE(why, "ok");
  EXPECT_NE(why.find("node " + std::to_string(kVictim)), std::string::npos) << why;
  EXPECT_TRUE(why.find("signal 9") != std::string::npos || why.find("killed") != std::string::npos) << why;
  // The survivors stopped cleanly and reported what they did.
  ASSERT_TRUE(summary.contains("per_node"));
  EXPECT_EQ(summary["per_node"].size(), kNodes - 1) << summary["per_node"].dump();
  for (const auto& node : summary["per_node"]) EXPECT_NE(node.value("node", kVictim), kVictim);

  expect_run_gone(l.pid(), nodes);
}

INSTANTIATE_TEST_SUITE_P(Victims, NodeKilled, ::testing::Combine(::testing::Values(0u, 2u, kNodes - 1), kTransports),
                         [](const auto& i) {
                           return "Node" + std::to_string(std::get<0>(i.param)) + "Over" + std::get<1>(i.param);
                         });

// A node stopped with SIGSTOP (or an engine that deadlocks) sends no more heartbeats: after
// --node-timeout the launcher fails the run naming it, kills it and cleans up like a dead node.
class NodeStopped : public ::testing::TestWithParam<std::string> {};

TEST_P(NodeStopped, FailsTheRunNamingItAfterTheTimeout) {
  constexpr unsigned kVictim = 1;
  TempDir dir;
  Launcher l(endless_run(dir, kNodes, {"--transport", GetParam(), "--node-timeout", "2"}), dir);
  const auto nodes = busy_nodes(l, kNodes);
  ASSERT_EQ(nodes.size(), kNodes) << "the machine did not get going\n" << l.out() << l.err();
  ASSERT_EQ(kill(nodes.at(kVictim), SIGSTOP), 0);
  const auto exit = l.wait_for(30s);  // the timeout is 2 s: this only catches a launcher that waits forever
  ASSERT_TRUE(exit) << "the launcher did not end the run within 30 s of node " << kVictim << "'s stop";
  const std::string said = l.out() + l.err();
  EXPECT_TRUE(exit->exited && exit->code == 1) << describe(*exit) << "\n" << said;
  const nlohmann::json summary = read_summary(dir);
  ASSERT_TRUE(summary.is_object()) << "no JSON summary\n" << said;
  const std::string why = summary.value("exit", std::string("ok"));
  EXPECT_NE(why.find("node 1 "), std::string::npos) << why;
  EXPECT_NE(why.find("no heartbeat for 2 s"), std::string::npos) << why;
  expect_run_gone(l.pid(), nodes);
}

INSTANTIATE_TEST_SUITE_P(Transports, NodeStopped, kTransports);

class Interrupted : public ::testing::TestWithParam<std::tuple<int, std::string>> {};

TEST_P(Interrupted, ExitsOneThirtyAndCleansUp) {
  const int sig = std::get<0>(GetParam());
  TempDir dir;
  Launcher l(endless_run(dir, kNodes, {"--transport", std::get<1>(GetParam())}), dir);
  const auto nodes = busy_nodes(l, kNodes);
  ASSERT_EQ(nodes.size(), kNodes) << "the machine did not get going\n" << l.out() << l.err();

  ASSERT_EQ(kill(l.pid(), sig), 0);
  const auto exit = l.wait_for(20s);
  ASSERT_TRUE(exit) << "the launcher did not stop within 20 s of " << strsignal(sig);
  const std::string said = l.out() + l.err();
  EXPECT_TRUE(exit->exited && exit->code == 130) << describe(*exit) << "\n" << said;

  const nlohmann::json summary = read_summary(dir);
  ASSERT_TRUE(summary.is_object()) << "no JSON summary\n" << said;
  EXPECT_NE(summary.value("exit", std::string("ok")).find("interrupted"), std::string::npos) << summary["exit"];

  expect_run_gone(l.pid(), nodes);
}

INSTANTIATE_TEST_SUITE_P(Signals, Interrupted, ::testing::Combine(::testing::Values(SIGINT, SIGTERM), kTransports),
                         [](const auto& i) {
                           return std::string(std::get<0>(i.param) == SIGINT ? "SIGINT" : "SIGTERM") + "Over" +
                                  std::get<1>(i.param);
                         });

// The launcher itself killed with SIGKILL: it can clean nothing, so its nodes must die with it
// (they ask for SIGKILL when their parent dies) and the next run sweeps its segments (each node's
// memory and, over shm, its inbox of rings). Any
// launcher's start sweeps every stale run, and ctest runs other tests' launchers meanwhile: the
// killed one is left a zombie (unreaped, its pid is not yet free, so nobody sweeps its run) while
// its leftovers are counted, and only then reaped.
TEST(LauncherKilled, NodesDieAndTheNextRunSweepsTheSegments) {
  TempDir dir;
  Launcher l(endless_run(dir, kNodes), dir);
  const pid_t launcher = l.pid();
  const auto nodes = busy_nodes(l, kNodes);
  ASSERT_EQ(nodes.size(), kNodes) << "the machine did not get going\n" << l.out() << l.err();
  ASSERT_EQ(run_segments(launcher).size(), 2 * kNodes) << joined(run_segments(launcher));
  ASSERT_EQ(kill(launcher, SIGKILL), 0);
  siginfo_t info{};
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(launcher), &info, WEXITED | WNOWAIT), 0) << strerror(errno);
  EXPECT_EQ(info.si_code, CLD_KILLED);

  // The orphaned nodes go away by themselves (the Launcher's destructor would kill them).
  const auto deadline = Clock::now() + 10s;
  std::vector<unsigned> alive;
  do {
    alive.clear();
    for (const auto& [k, pid] : nodes)
      if (auto st = stat_of(pid); st && st->state != 'Z') alive.push_back(k);
    if (!alive.empty()) std::this_thread::sleep_for(20ms);
  } while (!alive.empty() && Clock::now() < deadline);
  EXPECT_TRUE(alive.empty()) << alive.size() << " nodes outlived their launcher by 10 s";

  // What a dead launcher leaves: its segments and its socket folder.
  EXPECT_EQ(run_segments(launcher).size(), 2 * kNodes) << joined(run_segments(launcher));
  EXPECT_EQ(run_socket_dirs(launcher).size(), 1u) << joined(run_socket_dirs(launcher));
  const auto exit = l.wait_for(10s);  // reaped: from now on any launcher's start may sweep the run
  ASSERT_TRUE(exit);
  EXPECT_FALSE(exit->exited);

  // The next run sweeps them, unless a launcher of another test got there first.
  TempDir next_dir;
  const RunResult next = run_disco({"--nodes", "2", "--workload", "counter", "--ops", "50", "--mem-per-node", "1MiB",
                                    "--quiet"},
                                   next_dir);
  expect_clean_success(next);
  EXPECT_TRUE(run_segments(launcher).empty()) << "the next run left the dead run's segments: "
                                              << joined(run_segments(launcher));
  EXPECT_TRUE(run_socket_dirs(launcher).empty()) << "the next run left the dead run's socket folder: "
                                                 << joined(run_socket_dirs(launcher));
}

}  // namespace
}  // namespace disco::launcher_test
