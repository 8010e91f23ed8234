// `disco bench scaling` in a short mode: its JSON contract, its plot, and its refusals.
#include "tests/launcher/launcher_harness.h"

namespace disco::launcher_test {
namespace {

TEST(BenchScaling, ShortRunKeepsTheJsonContractAndPlots) {
  TempDir dir;
  const fs::path json_path = dir / "scaling.json";
  const RunResult r = run_launcher({"bench", "scaling", "--max-nodes", "2", "--ops", "2000", "--transports", "shm,tcp",
                                    "--results", (dir / "results").string(), "--json", json_path.string()},
                                   dir, json_path, 300s);
  ASSERT_FALSE(r.timed_out) << r.transcript();
  EXPECT_TRUE(r.exit.exited && r.exit.code == 0) << r.transcript();
  ASSERT_TRUE(r.summary.is_object()) << r.transcript();
  const nlohmann::json& j = r.summary;
  EXPECT_EQ(j.value("workload", ""), "shared-read");
  EXPECT_TRUE(j["failures"].empty()) << j["failures"].dump();
  for (const char* t : {"shm", "tcp"}) {
    SCOPED_TRACE(t);
    ASSERT_TRUE(j["transports"].contains(t)) << j.dump(2);
    const auto& rows = j["transports"][t];
    ASSERT_EQ(rows.size(), 2u);
    for (size_t i = 0; i < rows.size(); ++i) {
      EXPECT_EQ(rows[i].value("nodes", 0u), i + 1);
      EXPECT_GT(rows[i].value("aggregate_misses_per_s", 0.0), 0.0) << rows[i].dump();
      EXPECT_NEAR(rows[i].value("per_node_misses_per_s", 0.0) * static_cast<double>(i + 1),
                  rows[i].value("aggregate_misses_per_s", 0.0), 1.0);
    }
    // Two nodes have remote misses, whose latency is there.
    EXPECT_GT(rows[1]["remote_latency_us"].value("p50", 0.0), 0.0) << rows[1].dump();
    EXPECT_GE(rows[1]["remote_latency_us"].value("p99", 0.0), rows[1]["remote_latency_us"].value("p50", 0.0));
  }
  ASSERT_TRUE(j["plot"].is_string()) << "no plot: " << r.out;
  const std::string svg = slurp(j["plot"].get<std::string>());
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(r.out.find("misses/s/node"), std::string::npos) << r.out;
}

TEST(BenchScaling, BadFlagsAreRefused) {
  for (const std::vector<std::string>& flags : std::vector<std::vector<std::string>>{
           {"--transports", "shm,carrier-pigeon"}, {"--max-nodes", "1025"}, {"--workload", "nope"}, {"--ops", "0"}}) {
    TempDir dir;
    std::vector<std::string> args{"bench", "scaling", "--results", (dir / "results").string()};
    args.insert(args.end(), flags.begin(), flags.end());
    const RunResult r = run_launcher(args, dir, dir / "none.json", 30s);
    EXPECT_TRUE(r.exit.exited && r.exit.code == 2) << flags[0] << "\n" << r.transcript();
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.transcript();
    EXPECT_NE(r.err.find(flags[0]), std::string::npos) << r.transcript();
    EXPECT_FALSE(fs::exists(dir / "results")) << "the bench started";
  }
}

}  // namespace
}  // namespace disco::launcher_test
