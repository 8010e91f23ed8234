// --pin: every thread of every node process runs on the CPUs the launcher printed for that node
// ("node k -> core c (PUs L)"), as the kernel reports them (/proc/<pid>/task/<tid>/status,
// Cpus_allowed_list) while the machine runs; unpinned nodes keep the CPUs they were started with.
#include <gtest/gtest.h>

#include <regex>

#include "tests/launcher/launcher_harness.h"

namespace disco::launcher_test {
namespace {

constexpr unsigned kNodes = 4;  // more than this 2-core host has cores: the plan goes round-robin

// Cpus_allowed_list of /proc/<...>/status, e.g. "0-1".
std::string cpus_allowed(const fs::path& status) {
  std::istringstream in(slurp(status));
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("Cpus_allowed_list:")) return line.substr(line.find_first_not_of(" \t", 18));
  return "?";
}

class Pinning : public ::testing::TestWithParam<std::string> {};

TEST_P(Pinning, EveryNodeThreadRunsWhereThePlanSays) {
  TempDir dir;
  Launcher l(endless_run(dir, kNodes, {"--pin", GetParam()}), dir);
  const auto nodes = busy_nodes(l, kNodes);
  ASSERT_EQ(nodes.size(), kNodes) << "the machine did not get going\n" << l.out() << l.err();

  // The plan: "  node  1 -> core 1 (PUs 1)", or "unpinned" (--pin none, or a host without cores).
  const std::string own = cpus_allowed("/proc/self/status");
  std::map<unsigned, std::string> planned;
  const std::string out = l.out();
  const std::regex line(R"(node +(\d+) -> ([^\n]*))");
  for (std::sregex_iterator it(out.begin(), out.end(), line), end; it != end; ++it) {
    const std::string place = (*it)[2];
    const size_t pus = place.find("(PUs ");
    planned[std::stoul((*it)[1])] = pus == std::string::npos ? own : place.substr(pus + 5, place.find(')', pus) - pus - 5);
  }
  ASSERT_EQ(planned.size(), kNodes) << out;

  for (const auto& [k, pid] : nodes) {
    unsigned threads = 0;
    std::error_code ec;
    for (const auto& task : fs::directory_iterator(fmt_proc(pid, "task"), ec)) {
      EXPECT_EQ(cpus_allowed(task.path() / "status"), planned.at(k)) << "node " << k << " thread " << task.path().filename();
      ++threads;
    }
    EXPECT_GT(threads, 1u) << "node " << k << ": its pcpu and engine threads run too";
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, Pinning, ::testing::Values("core", "numa-node", "none"),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           return i.param == "numa-node" ? std::string("NumaNode") : i.param == "core" ? "Core" : "None";
                         });

}  // namespace
}  // namespace disco::launcher_test
