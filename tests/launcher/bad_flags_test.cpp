// Bad flags and impossible machines: `disco run` exits 2 with one line on stderr and starts
// nothing -- no results folder, no segment, no socket folder, no node process.
#include <gtest/gtest.h>

#include "tests/launcher/launcher_harness.h"

namespace disco::launcher_test {
namespace {

struct BadFlags {
  const char* name;
  std::vector<std::string> flags;
  const char* mentions;  // a word the error line must contain
};

void PrintTo(const BadFlags& v, std::ostream* os) { *os << v.name; }

class RejectedFlags : public ::testing::TestWithParam<BadFlags> {};

TEST_P(RejectedFlags, ExitTwoWithOneLineAndStartNothing) {
  TempDir dir;
  // Small ops and memory: if a bad flag were accepted by mistake, the run it starts is short.
  std::vector<std::string> args{"run", "--results", (dir / "results").string(), "--json", (dir / "summary.json").string(),
                                "--ops", "10", "--quiet"};
  const auto& bad = GetParam().flags;
  if (std::find(bad.begin(), bad.end(), "--mem-per-node") == bad.end()) {
    args.push_back("--mem-per-node");
    args.push_back("1MiB");
  }
  args.insert(args.end(), bad.begin(), bad.end());

  Launcher l(args, dir);
  const auto exit = l.wait_for(60s);
  ASSERT_TRUE(exit) << "still running after 60 s: the flags were accepted";
  const std::string err = l.err(), out = l.out();
  EXPECT_TRUE(exit->exited && exit->code == 2) << describe(*exit) << "\nstderr: " << err << "\nstdout: " << out;

  // Exactly one line, saying what is wrong.
  ASSERT_FALSE(err.empty());
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_EQ(err.back(), '\n') << err;
  EXPECT_NE(err.find(GetParam().mentions), std::string::npos) << "'" << GetParam().mentions << "' not in: " << err;
  EXPECT_TRUE(out.empty()) << out;

  // Nothing was started.
  EXPECT_FALSE(fs::exists(dir / "results")) << "a results folder was made";
  EXPECT_FALSE(fs::exists(dir / "summary.json")) << "a summary was written";
  EXPECT_TRUE(run_segments(l.pid()).empty()) << joined(run_segments(l.pid()));
  EXPECT_TRUE(run_socket_dirs(l.pid()).empty()) << joined(run_socket_dirs(l.pid()));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RejectedFlags,
    ::testing::Values(
        BadFlags{"NoNodes", {"--nodes", "0"}, "node"},
        BadFlags{"MoreNodesThanTheSharerVector", {"--nodes", "65"}, "65"},
        BadFlags{"NegativeNodes", {"--nodes", "-1"}, "nodes"},
        BadFlags{"MemoryNotAPageMultiple", {"--mem-per-node", "1000"}, "1000"},
        BadFlags{"MemoryUnknownUnit", {"--mem-per-node", "12XB"}, "12XB"},
        BadFlags{"MemoryZero", {"--mem-per-node", "0"}, "memory"},
        BadFlags{"UnknownWorkload", {"--workload", "nope"}, "nope"},
        BadFlags{"ZeroCacheWays", {"--cache-ways", "0"}, "0"},
        BadFlags{"LineSizeNotAPowerOfTwo", {"--line-size", "100"}, "100"},
        BadFlags{"LineSizeZero", {"--line-size", "0"}, "line"},
        BadFlags{"CacheSizeNotAMultiple", {"--cache-size", "3000"}, "3000"},
        BadFlags{"NoCpus", {"--cpus-per-node", "0"}, "cpu"},
        BadFlags{"TooManyCpus", {"--cpus-per-node", "1000"}, "cpu"},
        BadFlags{"UnknownPin", {"--pin", "sideways"}, "sideways"},
        BadFlags{"UnknownTransport", {"--transport", "carrier-pigeon"}, "carrier-pigeon"},
        BadFlags{"UnknownFlag", {"--frobnicate"}, "--frobnicate"},
        BadFlags{"NotANumber", {"--nodes", "four"}, "four"},
        BadFlags{"MissingValue", {"--nodes"}, "--nodes"}),
    [](const ::testing::TestParamInfo<BadFlags>& i) { return std::string(i.param.name); });

}  // namespace
}  // namespace disco::launcher_test
