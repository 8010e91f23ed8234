// The effective configuration: every default written out, read back strictly.
#include <gtest/gtest.h>

#include "node/host_pinning.h"
#include "node/machine_config.h"

namespace disco {
namespace {

MachineConfig sample() {
  MachineConfig c;
  c.shape.geometry = {.nodes = 4, .mem_per_node = 64 << 20, .line_bytes = 128};
  c.run_id = "123-abcdef01";
  return c;
}

TEST(MachineConfig, RoundTripsWithEveryDefaultWritten) {
  MachineConfig c = sample();
  c.workload.kind = WorkloadKind::Counter;
  c.shape.timing.remote_miss_ns = 1234;
  const nlohmann::json j = to_json(c);
  for (const char* key : {"nodes", "cpus_per_node", "mem_per_node", "line_bytes", "cache", "timing", "workload", "pin",
                          "transport", "heartbeat_ms", "run_id"})
    EXPECT_TRUE(j.contains(key)) << key;
  const MachineConfig back = machine_config_from_json(j);
  EXPECT_EQ(to_json(back), j);
}

TEST(MachineConfig, RejectsUnknownKeysWrongTypesAndImpossibleMachines) {
  nlohmann::json j = to_json(sample());
  j["colour"] = "blue";
  EXPECT_THROW(machine_config_from_json(j), std::runtime_error);
  j = to_json(sample());
  j["cache"]["shape"] = 1;
  EXPECT_THROW(machine_config_from_json(j), std::runtime_error);
  j = to_json(sample());
  j["nodes"] = "four";
  EXPECT_THROW(machine_config_from_json(j), std::runtime_error);
  j = to_json(sample());
  j["nodes"] = 1025;
  EXPECT_THROW(machine_config_from_json(j), std::runtime_error);
  j = to_json(sample());
  j["mem_per_node"] = 1000;
  EXPECT_THROW(machine_config_from_json(j), std::runtime_error);
  j = to_json(sample());
  j["workload"]["name"] = "nope";
  EXPECT_THROW(machine_config_from_json(j), std::runtime_error);
  EXPECT_THROW(machine_config_from_json(nlohmann::json::array()), std::runtime_error);
}

TEST(MachineConfig, ChecksTheWorkloadFitsInMemory) {
  MachineConfig c = sample();
  c.shape.geometry.mem_per_node = 128 * 1024;
  c.workload.kind = WorkloadKind::Private;
  c.workload.lines = 4096;  // 512 KiB per pcpu
  EXPECT_NE(c.check(), "");
  c.workload.lines = 64;
  EXPECT_EQ(c.check(), "");
}

TEST(ParseSize, UnitsAndGarbage) {
  EXPECT_EQ(parse_size("4096"), 4096u);
  EXPECT_EQ(parse_size("64MiB"), 64u << 20);
  EXPECT_EQ(parse_size("512KiB"), 512u << 10);
  EXPECT_EQ(parse_size("1GiB"), 1ull << 30);
  EXPECT_FALSE(parse_size("12XB"));
  EXPECT_FALSE(parse_size("MiB"));
  EXPECT_FALSE(parse_size(""));
  EXPECT_FALSE(parse_size("99999999999999GiB"));
}

TEST(ParseSize, TebibytesUpToAPebibyte) {
  EXPECT_EQ(parse_size("1TiB"), 1ull << 40);
  EXPECT_EQ(parse_size("2T"), 2ull << 40);
  EXPECT_EQ(parse_size("1024TiB"), 1ull << 50);
  EXPECT_FALSE(parse_size("1025TiB"));
  EXPECT_EQ(parse_size("1048576G"), 1ull << 50);
  EXPECT_FALSE(parse_size("1048577G"));
}

TEST(ParseSize, RejectsSignsFractionsAndOverflow) {
  EXPECT_FALSE(parse_size("-1"));
  EXPECT_FALSE(parse_size("-64MiB"));
  EXPECT_FALSE(parse_size("+64MiB"));
  EXPECT_FALSE(parse_size("1.5GiB"));
  EXPECT_FALSE(parse_size(" 64MiB"));
  EXPECT_FALSE(parse_size("64 MiB"));
  EXPECT_FALSE(parse_size("18446744073709551615"));   // 2^64-1: fits a uint64_t, not the PiB limit
  EXPECT_FALSE(parse_size("18446744073709551616"));   // 2^64: does not fit a uint64_t
  EXPECT_FALSE(parse_size("99999999999999999999999TiB"));
  EXPECT_FALSE(parse_size("17179869184GiB"));  // 2^34 GiB = 2^64 bytes: the product would wrap to 0
}

TEST(HostPinning, PlansRoundRobinAndParsesPolicies) {
  EXPECT_EQ(parse_pin_policy("core"), PinPolicy::Core);
  EXPECT_EQ(parse_pin_policy("numa-node"), PinPolicy::NumaNode);
  EXPECT_EQ(parse_pin_policy("none"), PinPolicy::None);
  EXPECT_FALSE(parse_pin_policy("sideways"));
  const PinPlan plan = plan_pinning(PinPolicy::Core, 9);
  ASSERT_EQ(plan.node_places.size(), 9u);
  for (const auto& p : plan.node_places) EXPECT_NE(p.find("core"), std::string::npos) << p;
}

}  // namespace
}  // namespace disco
