// `disco bench overhead --quick`: every run it makes works, and its JSON keeps its contract
// (README "Machine-readable contract"), with sane values. It measures nothing worth keeping.
#include <gtest/gtest.h>

#include "tests/launcher/launcher_harness.h"

namespace disco::launcher_test {
namespace {

TEST(BenchOverhead, QuickRunKeepsTheJsonContract) {
  TempDir dir;
  const fs::path json_path = dir / "overhead.json";
  Launcher l({"bench", "overhead", "--quick", "--results", (dir / "results").string(), "--json", json_path.string()}, dir);
  const auto exit = l.wait_for(1200s);
  ASSERT_TRUE(exit.has_value()) << "the bench did not finish\n" << l.out() << l.err();
  EXPECT_TRUE(exit->exited && exit->code == 0) << describe(*exit) << "\n" << l.out() << l.err();
  ASSERT_TRUE(fs::exists(json_path)) << l.out() << l.err();
  const nlohmann::json j = nlohmann::json::parse(slurp(json_path), nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_TRUE(j["failures"].empty()) << j["failures"].dump();
  for (const char* w : {"pmake", "cpu", "tlb"}) {
    SCOPED_TRACE(w);
    const nlohmann::json& r = j["workloads"][w];
    for (const char* key : {"bare_host_s", "disco_host_s", "bare_guest_s", "disco_guest_s"})
      EXPECT_GT(r.value(key, 0.0), 0.0) << key;
    for (const char* key : {"host_overhead_pct", "guest_overhead_pct"}) EXPECT_TRUE(r[key].is_number()) << key;
    double shares = 0;
    for (const auto& [kind, share] : r["monitor_breakdown"].items()) shares += share.get<double>();
    EXPECT_NEAR(shares, 1.0, 1e-6) << r["monitor_breakdown"].dump();
  }
  // A CPU-bound loop enters the monitor only for its timer interrupts: nearly the same guest time.
  EXPECT_NEAR(j["workloads"]["cpu"]["disco_guest_s"].get<double>() / j["workloads"]["cpu"]["bare_guest_s"].get<double>(), 1.0, 0.05);
  ASSERT_TRUE(j["memory"].contains("1") && j["memory"].contains("2"));
  EXPECT_GT(j["memory"]["1"].get<double>(), 8.0);
  EXPECT_GT(j["memory"]["2"].get<double>(), j["memory"]["1"].get<double>());
  for (const char* mode : {"flush", "asid"}) EXPECT_GT(j["tlb_switch"][mode].value("machine_tlb_misses", uint64_t{0}), 0u) << mode;
  EXPECT_GT(j["tlb_switch"]["flush"].value("flushes", uint64_t{0}), j["tlb_switch"]["asid"].value("flushes", uint64_t{0}));
}

}  // namespace
}  // namespace disco::launcher_test
