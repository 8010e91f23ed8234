// `disco bench coherence --json F`, shortened (few samples, a small cache so the streaming working
// sets are small, two throughput runs): the README's machine-readable contract -- its keys -- and
// figures that make sense. Nothing here is a speed target: the bench's own targets are reported,
// not asserted. ctest runs it alone (RUN_SERIAL, see CMakeLists.txt): its shared-memory round trip
// spins two processes on two CPUs and gives up after 30 s when other tests hold those CPUs.
#include <gtest/gtest.h>

#include "tests/fetch_guest.h"
#include "tests/launcher/launcher_harness.h"

namespace disco::launcher_test {
namespace {

using nlohmann::json;

// A latency figure ({median, p99, ...}) measured from `at_least` samples or more.
void expect_figure(const json& f, const std::string& what, uint64_t at_least = 1) {
  ASSERT_TRUE(f.is_object()) << what << ": " << f.dump();
  ASSERT_TRUE(f.contains("median") && f.contains("p99")) << what << ": " << f.dump();
  EXPECT_GT(f["median"].get<double>(), 0) << what;
  EXPECT_GE(f["p99"].get<double>(), f["median"].get<double>()) << what;
  EXPECT_GE(f.value("count", uint64_t{0}), at_least) << what;
}

TEST(BenchCoherence, ShortRunKeepsTheJsonContract) {
  ASSERT_EQ(test::fetch_guest(), "");  // the bench boots the Debian guest
  TempDir dir;
  const fs::path json_path = dir / "bench.json";
  const RunResult r = run_launcher({"bench", "coherence", "--samples", "400", "--node-counts", "1,2", "--cache-size",
                                    "64KiB", "--json", json_path.string(), "--results", (dir / "results").string()},
                                   dir, json_path, 600s);
  ASSERT_FALSE(r.timed_out) << r.transcript();
  EXPECT_TRUE(r.exit.exited && r.exit.code == 0) << r.transcript();
  ASSERT_TRUE(r.summary.is_object()) << "no JSON written\n" << r.transcript();
  const json& j = r.summary;
  EXPECT_EQ(j.value("exit", std::string()), "ok") << j["failures"].dump();
  EXPECT_NE(r.out.find("all sub-runs ok"), std::string::npos) << r.transcript();

  // README "Machine-readable contract".
  for (const char* key : {"hit_ns", "local_miss_us", "remote_2hop_us", "remote_3hop_us", "transport_rtt_us", "shm_rtt_us"})
    expect_figure(j[key], key);
  EXPECT_GE(j["shm_rtt_us"].value("count", 0u), 1000u) << "round trips";
  const auto median = [&](const char* key) { return j[key]["median"].get<double>(); };
  ASSERT_TRUE(j["ratio_2hop_to_transport"].is_number()) << j.dump(2);
  EXPECT_DOUBLE_EQ(j["ratio_2hop_to_transport"].get<double>(), median("remote_2hop_us") / median("transport_rtt_us"));
  ASSERT_TRUE(j["ratio_2hop_to_shm"].is_number()) << j.dump(2);
  EXPECT_DOUBLE_EQ(j["ratio_2hop_to_shm"].get<double>(), median("remote_2hop_us") / median("shm_rtt_us"));
  ASSERT_TRUE(j["throughput"].is_object()) << j.dump(2);
  EXPECT_EQ(j["throughput"].size(), 2u) << j["throughput"].dump();
  for (const char* nodes : {"1", "2"}) {
    ASSERT_TRUE(j["throughput"][nodes].is_number()) << nodes << " nodes: " << j["throughput"].dump();
    EXPECT_GT(j["throughput"][nodes].get<double>(), 0) << nodes << " nodes";
  }
  ASSERT_TRUE(j["upgrade_invalidate_us"].is_object()) << j.dump(2);
  EXPECT_EQ(j["upgrade_invalidate_us"].size(), 3u) << j["upgrade_invalidate_us"].dump();
  for (const char* k : {"1", "3", "7"}) expect_figure(j["upgrade_invalidate_us"][k], std::string("invalidating ") + k);
  ASSERT_TRUE(j["targets"].is_object()) << j.dump(2);
  for (const char* key : {"remote_2hop_over_transport", "hit_ns"}) EXPECT_GT(j["targets"].value(key, 0.0), 0) << key;
  for (const char* key : {"met_2hop", "met_hit", "met_shm_2hop", "met_ipc_over_shm", "met_throughput"})
    EXPECT_TRUE(j["targets"][key].is_boolean()) << key;
  for (const char* key : {"shm_2hop_over_shm_rtt", "ipc_2hop_over_shm_2hop", "throughput_2_over_1"})
    EXPECT_GT(j["targets"].value(key, 0.0), 0) << key;
  // Every transport, side by side, from runs of its own (the bench's own transport is shm).
  ASSERT_TRUE(j["transports"].is_object()) << j.dump(2);
  for (const char* t : {"shm", "ipc", "tcp"}) {
    ASSERT_TRUE(j["transports"].contains(t)) << j["transports"].dump();
    for (const char* key : {"remote_2hop_us", "remote_3hop_us", "rtt_us"})
      expect_figure(j["transports"][t][key], std::string(t) + " " + key);
  }
  EXPECT_EQ(j["transports"]["shm"]["remote_2hop_us"], j["remote_2hop_us"]);
  const auto t_median = [&](const char* t) { return j["transports"][t]["remote_2hop_us"]["median"].get<double>(); };
  ASSERT_TRUE(j["ratio_ipc_2hop_to_shm_2hop"].is_number()) << j.dump(2);
  EXPECT_DOUBLE_EQ(j["ratio_ipc_2hop_to_shm_2hop"].get<double>(), t_median("ipc") / t_median("shm"));
  ASSERT_TRUE(j["ratio_shm_2hop_to_shm_rtt"].is_number()) << j.dump(2);
  EXPECT_DOUBLE_EQ(j["ratio_shm_2hop_to_shm_rtt"].get<double>(), t_median("shm") / median("shm_rtt_us"));
  ASSERT_TRUE(j["ratio_throughput_2_to_1"].is_number()) << j.dump(2);
  EXPECT_DOUBLE_EQ(j["ratio_throughput_2_to_1"].get<double>(),
                   j["throughput"]["2"].get<double>() / j["throughput"]["1"].get<double>());
  EXPECT_EQ(j.value("samples", 0u), 400u);
  // The boot placed local and interleaved: about the same work (the guest clock paces the timer,
  // so the counts differ a little), more guest time in remote misses.
  for (const char* key : {"host_ratio", "guest_ratio"})
    ASSERT_TRUE(j["boot_interleave_vs_local"][key].is_number()) << j["boot_interleave_vs_local"].dump();
  EXPECT_TRUE(j["targets"]["met_boot"].is_boolean());
  const json& local = j["boots"]["local"];
  const json& spread = j["boots"]["interleave"];
  EXPECT_NEAR(local["instructions"].get<double>(), spread["instructions"].get<double>(),
              0.02 * local["instructions"].get<double>());
  EXPECT_EQ(local["remote_misses"].get<uint64_t>(), 0u);
  EXPECT_GT(spread["remote_misses"].get<uint64_t>(), 1000u);
  EXPECT_GT(spread["miss_remote_guest_s"].get<double>(), 0);
  EXPECT_GT(j["boot_interleave_vs_local"]["guest_ratio"].get<double>(), 1) << "remote misses cost guest time";

  EXPECT_TRUE(r.segments_left.empty()) << "segments left: " << joined(r.segments_left);
  EXPECT_TRUE(r.socket_dirs_left.empty()) << "socket folders left: " << joined(r.socket_dirs_left);
}

}  // namespace
}  // namespace disco::launcher_test
