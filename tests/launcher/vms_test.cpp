// End to end under the Disco monitor: many VMs of Debian's stock kernel on a machine of several
// nodes, each its own machine (value, console, exit); a crashing VM ends alone; VMs cannot reach
// each other's memory (our bare-metal guests, guest/baremetal); the monitor calls; the same inputs
// run the same instructions; and the launcher's refusals of what cannot run.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/launcher/launcher_harness.h"

namespace disco::launcher_test {
namespace {

const std::string kBaremetal = std::string(DISCO_GUEST_PROGRAMS) + "/../baremetal/";

bool succeeded(const RunResult& r) { return r.exit.exited && r.exit.code == 0; }

std::vector<std::string> debian_vms(const std::string& init_cmd, std::vector<std::string> more) {
  std::vector<std::string> f{"--guest", "debian", "--host-unpack", "--rtc-epoch", "1700000000", "--quiet",
                             "--init-cmd", init_cmd};
  f.insert(f.end(), more.begin(), more.end());
  return f;
}

const nlohmann::json& vm_of(const RunResult& r, unsigned id) { return r.summary["vms"][id]; }
std::string console_of(const RunResult& r, unsigned id) { return slurp(vm_of(r, id).value("console", "")); }

// Four VMs on two nodes print a value computed from their id; a fifth crashes its kernel. The
// four finish, the crash is that VM's alone, and the run names it.
TEST(Vms, EachComputesItsValueAndACrashingVmEndsAlone) {
  TempDir dir;
  const RunResult r = run_disco(
      debian_vms("if [ \"$DISCO_VM\" = 4 ]; then echo c > /proc/sysrq-trigger; fi; echo value $((DISCO_VM * 7 + 3))",
                 {"--nodes", "2", "--vms", "5"}),
      dir, 900s);
  ASSERT_TRUE(r.summary.is_object()) << r.transcript();
  EXPECT_TRUE(r.exit.exited && r.exit.code == 1) << r.transcript();
  EXPECT_NE(r.summary.value("exit", "").find("VM 4"), std::string::npos) << r.summary.value("exit", "");
  ASSERT_EQ(r.summary["vms"].size(), 5u);
  for (unsigned id = 0; id < 4; ++id) {
    SCOPED_TRACE(id);
    const nlohmann::json& vm = vm_of(r, id);
    EXPECT_EQ(vm.value("exit", ""), "poweroff");
    EXPECT_EQ(vm.value("node", 99u), id % 2) << "spread round the nodes";
    EXPECT_NE(console_of(r, id).find("value " + std::to_string(id * 7 + 3)), std::string::npos);
    // The vms[] contract.
    for (const char* key : {"id", "node", "exit", "console", "instructions", "guest_seconds", "monitor_entries",
                            "tlb_misses", "l2tlb_hits", "local_misses", "remote_misses", "machine_pages"})
      EXPECT_TRUE(vm.contains(key)) << key;
    for (const char* key : {"user", "kernel", "monitor", "idle"}) EXPECT_TRUE(vm["guest_seconds"].contains(key)) << key;
    EXPECT_GT(vm["guest_seconds"].value("user", 0.0), 0.0);
    EXPECT_GT(vm["guest_seconds"].value("monitor", 0.0), 0.0);
    EXPECT_GT(vm.value("instructions", uint64_t{0}), 100'000'000u);
    EXPECT_GT(vm["monitor_entries"]["tlb_write"].value("count", uint64_t{0}), 0u);
    EXPECT_GT(vm["monitor_entries"]["eret"].value("host_ns", uint64_t{0}), 0u);
    EXPECT_GT(vm.value("local_misses", uint64_t{0}), 0u);
    EXPECT_EQ(vm["machine_pages"].value(std::to_string(id % 2), uint64_t{0}), 64u * 256) << "64 MiB on its own node";
    EXPECT_TRUE(fs::path(vm.value("console", "")).filename() == "vm" + std::to_string(id) + ".console");
  }
  EXPECT_EQ(vm_of(r, 4).value("exit", ""), "crash");
  EXPECT_NE(console_of(r, 4).find("Kernel panic"), std::string::npos);
  EXPECT_EQ(console_of(r, 4).find("value 31"), std::string::npos);
  EXPECT_TRUE(r.segments_left.empty());
}

// A VM's guest program tries every way out of its memory while another VM's memory holds a
// known pattern: every attempt is a bus error and the pattern stays.
TEST(Vms, AGuestCannotReachAnotherVmsMemory) {
  TempDir dir;
  const fs::path config = dir / "isolation.toml";
  std::ofstream(config) << "[guest]\nmem = \"16MiB\"\n[[vm]]\nkernel = \"" << kBaremetal << "pattern\"\n[[vm]]\nkernel = \""
                        << kBaremetal << "isolation\"\n";
  const RunResult r = run_disco({"--config", config.string(), "--quiet"}, dir, 300s);
  ASSERT_TRUE(r.summary.is_object()) << r.transcript();
  EXPECT_TRUE(succeeded(r)) << r.transcript();
  EXPECT_NE(console_of(r, 0).find("PASS pattern"), std::string::npos) << console_of(r, 0);
  EXPECT_NE(console_of(r, 1).find("PASS isolation"), std::string::npos) << console_of(r, 1);
  EXPECT_GT(vm_of(r, 1).value("unbacked_accesses", uint64_t{0}), 1000u);
  EXPECT_GT(vm_of(r, 0).value("switches_in", uint64_t{0}), 1u) << "the two shared the pcpu";
}

TEST(Vms, MonitorCallsWorkUnderTheMonitorAndAreReservedBare) {
  TempDir a, b;
  const std::string kernel = kBaremetal + "hypercalls";
  const RunResult monitored = run_disco({"--kernel", kernel, "--vm-mem", "16MiB", "--quiet"}, a, 120s);
  const RunResult bare = run_disco({"--bare", "--kernel", kernel, "--mem", "16MiB", "--quiet"}, b, 120s);
  ASSERT_TRUE(succeeded(monitored) && succeeded(bare)) << monitored.transcript() << bare.transcript();
  EXPECT_NE(console_of(monitored, 0).find("hypercalls: VM 0"), std::string::npos) << console_of(monitored, 0);
  EXPECT_NE(console_of(monitored, 0).find("PASS hypercalls"), std::string::npos) << console_of(monitored, 0);
  EXPECT_EQ(vm_of(monitored, 0)["monitor_entries"]["hypercall"].value("count", uint64_t{0}), 7u) << "hypercalls.c makes seven";
  EXPECT_NE(console_of(bare, 0).find("hypercalls: no monitor"), std::string::npos) << console_of(bare, 0);
  EXPECT_NE(console_of(bare, 0).find("PASS hypercalls"), std::string::npos);
}

TEST(Vms, TheSameInputsRunTheSameInstructionsPerVm) {
  TempDir a, b;
  const auto flags = debian_vms("uname -r", {"--vms", "2", "--quantum-us", "2000"});
  const RunResult first = run_disco(flags, a, 600s), second = run_disco(flags, b, 600s);
  ASSERT_TRUE(succeeded(first) && succeeded(second)) << first.transcript() << second.transcript();
  for (unsigned id = 0; id < 2; ++id) {
    EXPECT_EQ(vm_of(first, id)["instructions"], vm_of(second, id)["instructions"]) << id;
    EXPECT_EQ(vm_of(first, id)["monitor_entries"]["tlb_miss"]["count"],
              vm_of(second, id)["monitor_entries"]["tlb_miss"]["count"]) << id;
    EXPECT_EQ(vm_of(first, id)["guest_seconds"]["total"], vm_of(second, id)["guest_seconds"]["total"]) << id;
  }
}

// A VM bigger than its node borrows the rest from another node and gives it back.
TEST(Vms, AVmLargerThanItsNodeBorrowsFromTheNext) {
  TempDir dir;
  const RunResult r = run_disco({"--kernel", kBaremetal + "pattern", "--nodes", "2", "--mem-per-node", "24MiB",
                                 "--vm-mem", "26MiB", "--quiet"},
                                dir, 300s);
  ASSERT_TRUE(r.summary.is_object()) << r.transcript();
  EXPECT_TRUE(succeeded(r)) << r.transcript();
  const nlohmann::json pages = vm_of(r, 0)["machine_pages"];
  EXPECT_EQ(pages.value("0", uint64_t{0}), 24u * 256);
  EXPECT_EQ(pages.value("1", uint64_t{0}), 2u * 256);
  EXPECT_GT(vm_of(r, 0).value("remote_misses", uint64_t{0}), 0u);
  EXPECT_NE(console_of(r, 0).find("PASS pattern"), std::string::npos);
}

TEST(Vms, AVmThatDoesNotEndIsStoppedByItsLimitOrTheTimeout) {
  TempDir a, b;
  const RunResult limited = run_disco(debian_vms("sleep 1000", {"--max-instructions", "50000000"}), a, 300s);
  ASSERT_TRUE(limited.summary.is_object()) << limited.transcript();
  EXPECT_TRUE(limited.exit.exited && limited.exit.code == 1);
  EXPECT_EQ(vm_of(limited, 0).value("exit", ""), "limit");
  const RunResult timed = run_disco(debian_vms("while :; do :; done", {"--timeout", "3"}), b, 300s);
  ASSERT_TRUE(timed.summary.is_object()) << timed.transcript();
  EXPECT_TRUE(timed.exit.exited && timed.exit.code == 1);
  EXPECT_NE(timed.summary.value("exit", "").find("--timeout"), std::string::npos);
  EXPECT_EQ(vm_of(timed, 0).value("exit", ""), "stopped");
  EXPECT_TRUE(timed.segments_left.empty());
}

// What cannot run: one line on stderr, exit 2, nothing started.
TEST(Vms, WhatCannotRunIsOneLineAndNothingStarts) {
  TempDir dir;
  const fs::path bad_toml = dir / "bad.toml", not_malta = dir / "not-malta";
  std::ofstream(bad_toml) << "[machine]\nnodez = 2\n";
  std::ofstream(not_malta) << "#!/bin/sh\necho not a kernel\n";
  struct Case {
    std::vector<std::string> flags;
    std::string says;
  };
  const Case cases[] = {
      {{"--guest", "debian", "--vms", "0"}, "--vms 0"},
      {{"--guest", "debian", "--vms", "4", "--vm-mem", "64MiB", "--mem-per-node", "128MiB"}, "machine memory"},
      {{"--guest", "debian", "--vms", "2", "--vm-placement", "0,3"}, "node 3"},
      {{"--config", bad_toml.string()}, "machine.nodez"},
      {{"--kernel", not_malta.string(), "--vms", "1"}, "not-malta"},
      {{"--guest", "debian", "--vms", "2", "--console", "2"}, "--console 2"},
      {{"--guest", "debian", "--tlb-switch", "sometimes"}, "flush or asid"},
      {{"--guest", "debian", "--machine-tlb-entries", "48"}, "not a power of two"},
      {{"--guest", "debian", "--l2tlb-entries", "2147483648"}, "the L2TLB needs"},  // 48 GiB of host memory
      {{"--guest", "debian", "--ops", "-5"}, "--ops"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.says);
    TempDir d;
    const RunResult r = run_disco(c.flags, d, 120s);
    EXPECT_TRUE(r.exit.exited && r.exit.code == 2) << r.transcript();
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.transcript();
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.transcript();
    EXPECT_TRUE(r.out.empty()) << r.transcript();
    EXPECT_TRUE(r.segments_left.empty());
    EXPECT_FALSE(fs::exists(d / "results") && !fs::is_empty(d / "results")) << "a results folder was made";
  }
}

}  // namespace
}  // namespace disco::launcher_test
