// Bad flags and impossible machines: `disco run` exits 2 with one line on stderr that names the
// bad flag, and starts nothing -- no results folder, no segment, no socket folder, no node process.
#include <gtest/gtest.h>

#include "tests/launcher/launcher_harness.h"

namespace disco::launcher_test {
namespace {

struct BadFlags {
  const char* name;
  std::vector<std::string> flags;
  const char* flag;  // the flag the error line must name
};

void PrintTo(const BadFlags& v, std::ostream* os) { *os << v.name; }

// `disco run` with the case's flags; small ops and memory unless the case sets them, so that a bad
// flag accepted by mistake starts a short run.
RunResult run_refused(const BadFlags& c, const TempDir& dir) {
  std::vector<std::string> args{"run", "--results", (dir / "results").string(), "--quiet"};
  const auto given = [&](const char* flag) { return std::find(c.flags.begin(), c.flags.end(), flag) != c.flags.end(); };
  if (!given("--json")) args.insert(args.end(), {"--json", (dir / "summary.json").string()});
  if (!given("--ops")) args.insert(args.end(), {"--ops", "10"});
  if (!given("--mem-per-node") && !given("--bare")) args.insert(args.end(), {"--mem-per-node", "1MiB"});
  args.insert(args.end(), c.flags.begin(), c.flags.end());
  return run_launcher(args, dir, dir / "summary.json", 60s);
}

class RejectedFlags : public ::testing::TestWithParam<BadFlags> {};

TEST_P(RejectedFlags, ExitTwoWithOneLineNamingTheFlagAndStartNothing) {
  const BadFlags& c = GetParam();
  TempDir dir;
  const RunResult r = run_refused(c, dir);
  expect_refused(r, c.flag, dir / "results");
  EXPECT_FALSE(fs::exists(dir / "results")) << "a results folder was made";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RejectedFlags,
    ::testing::Values(
        BadFlags{"NoNodes", {"--nodes", "0"}, "--nodes"},
        BadFlags{"MoreNodesThanTheMachineLimit", {"--nodes", "1025"}, "--nodes"},
        BadFlags{"NegativeNodes", {"--nodes", "-1"}, "--nodes"},
        BadFlags{"NotANumber", {"--nodes", "four"}, "--nodes"},
        BadFlags{"MissingValue", {"--nodes"}, "--nodes"},
        BadFlags{"FlagGivenTwice", {"--nodes", "2", "--nodes", "3"}, "--nodes"},
        BadFlags{"MemoryNotAPageMultiple", {"--mem-per-node", "1000"}, "--mem-per-node"},
        BadFlags{"MemoryUnknownUnit", {"--mem-per-node", "12XB"}, "--mem-per-node"},
        BadFlags{"MemoryZero", {"--mem-per-node", "0"}, "--mem-per-node"},
        BadFlags{"MemoryBeyondTheSizes", {"--mem-per-node", "2TiB"}, "--mem-per-node"},
        BadFlags{"UnknownWorkload", {"--workload", "nope"}, "--workload"},
        BadFlags{"NoLines", {"--lines", "0"}, "--lines"},
        BadFlags{"MoreLinesThanTheMemory", {"--lines", "1000000"}, "--lines"},
        BadFlags{"OpsNotANumber", {"--ops", "many"}, "--ops"},
        BadFlags{"NegativeOps", {"--ops", "-5"}, "--ops"},  // wraps to 2^64 - 5 ops
        BadFlags{"SeedNotANumber", {"--seed", "x"}, "--seed"},
        BadFlags{"ZeroCacheWays", {"--cache-ways", "0"}, "--cache-ways"},
        BadFlags{"TooManyCacheWays", {"--cache-ways", "65"}, "--cache-ways"},
        BadFlags{"FewerWaysThanCpus", {"--cpus-per-node", "4", "--cache-ways", "2"}, "--cache-ways"},
        BadFlags{"LineSizeNotAPowerOfTwo", {"--line-size", "100"}, "--line-size"},
        BadFlags{"LineSizeZero", {"--line-size", "0"}, "--line-size"},
        BadFlags{"LineSizeTooLarge", {"--line-size", "8192"}, "--line-size"},
        BadFlags{"CacheSizeNotAMultiple", {"--cache-size", "3000"}, "--cache-size"},
        BadFlags{"CacheSizeNotASize", {"--cache-size", "big"}, "--cache-size"},
        BadFlags{"NoCpus", {"--cpus-per-node", "0"}, "--cpus-per-node"},
        BadFlags{"TooManyCpus", {"--cpus-per-node", "1000"}, "--cpus-per-node"},
        BadFlags{"NoClock", {"--cpu-mhz", "0"}, "--cpu-mhz"},
        BadFlags{"NoNodeTimeout", {"--node-timeout", "0"}, "--node-timeout"},
        BadFlags{"NegativeNodeTimeout", {"--node-timeout", "-1"}, "--node-timeout"},
        BadFlags{"UnknownPin", {"--pin", "sideways"}, "--pin"},
        BadFlags{"UnknownTransport", {"--transport", "carrier-pigeon"}, "--transport"},
        BadFlags{"TransportIsCaseSensitive", {"--transport", "TCP"}, "--transport"},
        BadFlags{"HostfileMissing", {"--hostfile", "/nonexistent/hosts"}, "--hostfile"},
        BadFlags{"HostfileEmpty", {"--hostfile", "/dev/null"}, "names no host"},
        BadFlags{"HostfileWithAnotherTransport", {"--hostfile", "/etc/hostname", "--transport", "tcp"}, "--transport"},
        BadFlags{"SlurmOutsideAnAllocation", {"--slurm"}, "--slurm"},
        BadFlags{"UnknownFlag", {"--frobnicate"}, "--frobnicate"},
        BadFlags{"StrayArgument", {"extra"}, "extra"},
        BadFlags{"JsonInAFolderThatCannotExist", {"--json", "/proc/nope/x.json"}, "--json"},  // exits 0
        BadFlags{"KernelNotAFile", {"--bare", "--kernel", "/dev/null"}, "--kernel"}),  // starts a node
    [](const ::testing::TestParamInfo<BadFlags>& i) { return std::string(i.param.name); });

}  // namespace
}  // namespace disco::launcher_test
