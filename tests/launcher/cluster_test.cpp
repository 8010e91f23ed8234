// The machine on a cluster of hosts, made on this one machine: network namespaces joined by a
// bridge, each with its own mount namespace, hence its own /dev/shm, so that "hosts" cannot share
// memory (tests/cluster/netns_hosts.sh). The launcher runs in host 1 and Open MPI's mpirun starts
// the nodes, its launch agent entering the other host's namespaces (tests/cluster/netns_agent.sh).
// Two hosts of two nodes each: a line's bytes travel in the protocol's messages between hosts and
// through the home's segment within one. Skipped, saying why, where namespaces cannot be made.
// And `--slurm`, through a stand-in for srun on this one host.
#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/fetch_guest.h"
#include "tests/launcher/launcher_harness.h"

namespace disco::launcher_test {
namespace {

const std::string kHosts = std::string(DISCO_SOURCE_DIR) + "/tests/cluster/netns_hosts.sh";
const std::string kAgent = std::string(DISCO_SOURCE_DIR) + "/tests/cluster/netns_agent.sh";

// Runs a shell command; its exit status and output.
std::pair<int, std::string> shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

class Cluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto [code, why] = shell(kHosts + " check");
    if (code != 0) {
      skip_ = "namespaces cannot be made here: " + why;
      return;
    }
    char tmpl[] = "/tmp/disco-cluster-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      skip_ = "mkdtemp failed";
      return;
    }
    dir_ = std::string(tmpl) + "/hosts";
    const auto [up, said] = shell(kHosts + " up " + dir_ + " 2");
    if (up != 0) setup_failure_ = "netns_hosts.sh up failed: " + said;
    hostfile_ = std::string(tmpl) + "/hostfile";
    std::ofstream(hostfile_) << "192.0.2.1 slots=2\n192.0.2.2 slots=2\n";
  }
  static void TearDownTestSuite() {
    if (dir_.empty()) return;
    shell(kHosts + " down " + dir_);
    std::error_code ec;
    fs::remove_all(fs::path(dir_).parent_path(), ec);
  }
  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    ASSERT_TRUE(setup_failure_.empty()) << setup_failure_;
  }

  // disco, started in host 1 with mpirun's launch agent set to enter the other host.
  static std::vector<std::string> in_host1() {
    return {"/usr/bin/env", "OMPI_MCA_plm_rsh_agent=" + kAgent, "DISCO_NETNS_DIR=" + dir_, kHosts, "exec", dir_, "1"};
  }
  static std::vector<std::string> flags(std::vector<std::string> more) {
    more.insert(more.end(), {"--nodes", "4", "--hostfile", hostfile_});
    return more;
  }
  // What a run left in host `i`'s own /dev/shm (its segments and rings: none, whatever happened).
  static std::string shm_of(int i) { return shell(kHosts + " exec " + dir_ + " " + std::to_string(i) + " ls -A /dev/shm").second; }
  static void expect_nothing_left() {
    for (int i = 1; i <= 2; ++i) EXPECT_EQ(shm_of(i), "") << "left in host " << i << "'s /dev/shm";
  }
  // Bytes must have travelled: every node talks to a home on the other host.
  static void expect_lines_travelled(const RunResult& r) {
    EXPECT_GT(r.summary["stats"].value("lines_sent", uint64_t{0}), 1000u) << r.summary["stats"].dump();
  }

  static inline std::string skip_, setup_failure_, dir_, hostfile_;
};

TEST_F(Cluster, RandomCheckerAndLlScCountersAcrossTwoHosts) {
  {
    TempDir dir;
    const RunResult r = run_disco(flags({"--workload", "random", "--cpus-per-node", "2", "--ops", "10000",
                                         "--mem-per-node", "4MiB", "--quiet"}),
                                  dir, 300s, in_host1());
    expect_clean_success(r);
    EXPECT_EQ(r.summary.value("checker_errors", uint64_t{1}), 0u) << r.summary["first_errors"].dump();
    EXPECT_EQ(r.summary["stats"].value("protocol_errors", uint64_t{1}), 0u);
    EXPECT_TRUE(r.summary["security"].value("curve", false)) << "between hosts every socket speaks CURVE";
    expect_lines_travelled(r);
  }
  {
    TempDir dir;
    const RunResult r = run_disco(flags({"--workload", "counter", "--ops", "5000", "--mem-per-node", "4MiB", "--quiet"}),
                                  dir, 300s, in_host1());
    expect_clean_success(r);
    expect_counter_exact(r);
    expect_lines_travelled(r);
  }
  expect_nothing_left();
}

TEST_F(Cluster, BareDebianBootsWithMemoryInterleavedOverTwoHosts) {
  test::fetch_guest();
  TempDir dir;
  const RunResult r = run_disco(flags({"--bare", "--guest", "debian", "--host-unpack", "--rtc-epoch", "1700000000",
                                       "--init-cmd", "echo answer $((6 * 7))", "--mem-per-node", "64MiB",
                                       "--placement", "interleave", "--quiet"}),
                                dir, 1500s, in_host1());
  ASSERT_TRUE(r.summary.is_object()) << r.transcript();
  EXPECT_TRUE(r.exit.exited && r.exit.code == 0) << r.transcript();
  EXPECT_TRUE(r.summary.value("poweroff", false)) << r.transcript();
  EXPECT_EQ(r.summary["stats"].value("protocol_errors", uint64_t{1}), 0u);
  EXPECT_GT(r.summary["stats"].value("remote_2hop", uint64_t{0}), 10'000u);
  expect_lines_travelled(r);
  const std::string console = slurp(r.summary.value("console", ""));
  EXPECT_NE(console.find("Linux version 6.1.0"), std::string::npos);
  EXPECT_NE(console.find("answer 42"), std::string::npos) << console.substr(console.size() > 3000 ? console.size() - 3000 : 0);
  expect_nothing_left();
}

// `bench coherence --hostfile`: the cluster row, the same remote misses between nodes placed on
// different hosts, beside tcp on one host.
TEST_F(Cluster, BenchCoherenceMeasuresMissesBetweenHosts) {
  test::fetch_guest();  // the bench boots the Debian guest too
  TempDir dir;
  const fs::path json_path = dir / "bench.json";
  const RunResult r = run_launcher({"bench", "coherence", "--hostfile", hostfile_, "--samples", "300", "--node-counts",
                                    "1,2", "--cache-size", "64KiB", "--json", json_path.string(), "--results",
                                    (dir / "results").string()},
                                   dir, json_path, 900s, in_host1());
  ASSERT_FALSE(r.timed_out) << r.transcript();
  ASSERT_TRUE(r.summary.is_object()) << r.transcript();
  const nlohmann::json& c = r.summary["cluster"];
  ASSERT_TRUE(c.is_object()) << r.summary.dump(2).substr(0, 3000);
  EXPECT_EQ(c.value("launch", ""), "mpirun on the hosts of " + hostfile_);
  for (const char* key : {"remote_2hop_us", "remote_3hop_us", "rtt_us"}) {
    ASSERT_TRUE(c[key].is_object()) << key << ": " << c.dump();
    EXPECT_GT(c[key]["median"].get<double>(), 0) << key;
  }
  ASSERT_TRUE(r.summary["transports"]["tcp"]["remote_2hop_us"].is_object()) << "tcp on one host, beside it";
  EXPECT_NE(r.out.find("tcp between hosts: mpirun"), std::string::npos) << r.out;
}

// Host 2's processes all killed at once (its daemon and its nodes): the run fails promptly with
// one line naming what was lost, and host 1 is left clean.
TEST_F(Cluster, AVanishedHostFailsTheRun) {
  TempDir dir;
  Launcher l(endless_run(dir, 4, {"--hostfile", hostfile_}), dir, in_host1());
  ASSERT_TRUE(l.wait_for_stderr("accesses/s", 120s)) << l.err();
  const auto [code, said] = shell(kHosts + " kill " + dir_ + " 2");
  ASSERT_EQ(code, 0) << said;
  const auto e = l.wait_for(30s);
  ASSERT_TRUE(e) << "the run went on without host 2\n" << l.err();
  EXPECT_TRUE(e->exited && e->code == 1) << describe(*e) << "\n" << l.err();
  const std::string err = l.out() + l.err();
  EXPECT_TRUE(err.find("before the run ended") != std::string::npos || err.find("no heartbeat") != std::string::npos)
      << err;
  EXPECT_LT(l.seconds(), 60) << "host 2 vanished about a second after the first progress line";
  const nlohmann::json s = nlohmann::json::parse(slurp(dir / "summary.json"), nullptr, false);
  ASSERT_TRUE(s.is_object()) << err;
  EXPECT_NE(s.value("exit", std::string("ok")), "ok");
  EXPECT_EQ(shm_of(1), "") << "left in host 1's /dev/shm";
}

// `--slurm` through a stand-in for srun and scontrol (tests/cluster/fake_slurm: an allocation of
// this one host, where no Slurm is installed): the nodes start as srun's tasks, rank = node, and a
// node killed mid-run ends the job and fails the run naming srun.
std::vector<std::string> in_fake_allocation() {
  const char* path = std::getenv("PATH");
  return {"/usr/bin/env", std::string("PATH=") + DISCO_SOURCE_DIR + "/tests/cluster/fake_slurm:" + (path ? path : "/usr/bin:/bin"),
          "SLURM_JOB_ID=4242"};
}

TEST(Slurm, SrunStartsTheNodesOfTheAllocation) {
  TempDir dir;
  const RunResult r = run_disco({"--slurm", "--nodes", "3", "--workload", "counter", "--ops", "20000", "--mem-per-node",
                                 "4MiB", "--quiet"},
                                dir, 120s, in_fake_allocation());
  expect_clean_success(r);
  expect_counter_exact(r);
  EXPECT_NE(r.out.find("srun in Slurm job 4242"), std::string::npos) << r.out;
  EXPECT_TRUE(r.summary["security"].value("curve", false));
}

TEST(Slurm, ANodeKilledEndsTheJob) {
  TempDir dir;
  Launcher l(endless_run(dir, 3, {"--slurm"}), dir, in_fake_allocation());
  ASSERT_TRUE(l.wait_for_stderr("accesses/s", 60s)) << l.err();
  pid_t node = -1;  // a node process: `disco node ...` with this run's socket folder in its arguments
  for (pid_t p : processes_mentioning("/tmp/disco-" + std::to_string(l.pid()) + "-"))
    if (const auto args = cmdline_of(p); args.size() > 1 && args[1] == "node") node = p;
  ASSERT_GT(node, 0) << "no node process found";
  ::kill(node, SIGKILL);
  const auto e = l.wait_for(30s);
  ASSERT_TRUE(e) << l.err();
  EXPECT_TRUE(e->exited && e->code == 1) << describe(*e);
  EXPECT_NE(l.out().find("srun"), std::string::npos) << l.out();
}

}  // namespace
}  // namespace disco::launcher_test
