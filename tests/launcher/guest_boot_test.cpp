// End to end in bare mode: Debian's stock Malta kernel boots on the emulated machine, runs
// busybox commands and every guest test program (guest/programs), and powers off; on one node
// and on four with the guest's memory interleaved, so the boot's misses really cross nodes. The
// kernel comes from Debian's archive through scripts/fetch-guest (cached in guest-cache/).
#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/fetch_guest.h"
#include "tests/launcher/launcher_harness.h"

namespace disco::launcher_test {
namespace {

const std::string kPrograms = DISCO_GUEST_PROGRAMS;
const std::string kCheckOutput = std::string(DISCO_SOURCE_DIR) + "/guest/programs/check-output";

std::vector<std::string> boot_flags(const std::string& init_cmd, std::vector<std::string> more = {}) {
  std::vector<std::string> f{"--bare", "--guest", "debian", "--host-unpack", "--rtc-epoch", "1700000000",
                             "--extra", kPrograms + ":/disco-tests", "--init-cmd", init_cmd};
  f.insert(f.end(), more.begin(), more.end());
  return f;
}

bool succeeded(const RunResult& r) { return r.exit.exited && r.exit.code == 0; }

// The guest's console, from the path the summary names.
std::string console_of(const RunResult& r) { return slurp(r.summary.value("console", "")); }

void expect_programs_passed(const RunResult& r) {
  const std::string console = r.summary.value("console", "");
  const std::string cmd = kCheckOutput + " '" + console + "' 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "guest/programs/check-output rejected " << console;
}

TEST(GuestBoot, DebianRunsBusyboxAndEveryTestProgramOnOneNode) {
  TempDir dir;
  const RunResult r = run_disco(boot_flags("uname -sm; echo answer $((6 * 7)); /disco-tests/run-all"), dir, 600s);
  ASSERT_TRUE(r.summary.is_object()) << r.transcript();
  EXPECT_TRUE(succeeded(r)) << r.transcript();
  EXPECT_EQ(r.summary["exit"], "ok");
  EXPECT_TRUE(r.summary.value("poweroff", false));
  EXPECT_GT(r.summary.value("guest_instructions", uint64_t{0}), 100'000'000u);
  EXPECT_NE(r.out.find("disco-init: up"), std::string::npos) << "the console is copied to stdout";
  const std::string console = console_of(r);
  EXPECT_NE(console.find("Linux version 6.1.0"), std::string::npos);
  EXPECT_NE(console.find("Linux mips"), std::string::npos) << "uname -sm";
  EXPECT_NE(console.find("answer 42"), std::string::npos);
  EXPECT_NE(console.find("disco-init: exit 0"), std::string::npos);
  expect_programs_passed(r);
}

TEST(GuestBoot, FourNodesWithInterleavedMemoryMakeRemoteMisses) {
  TempDir dir;
  const RunResult r = run_disco(boot_flags("/disco-tests/run-all", {"--nodes", "4", "--mem-per-node", "64MiB",
                                                                     "--placement", "interleave", "--quiet"}),
                                dir, 900s);
  ASSERT_TRUE(r.summary.is_object()) << r.transcript();
  EXPECT_TRUE(succeeded(r)) << r.transcript();
  EXPECT_TRUE(r.summary.value("poweroff", false));
  EXPECT_GT(r.summary["stats"].value("remote_2hop", uint64_t{0}), 10'000u);
  EXPECT_EQ(r.summary["stats"].value("protocol_errors", uint64_t{1}), 0u);
  // Guest time pays for every miss its modelled latency (the defaults: 300, 900 and 1500 ns).
  const auto& misses = r.summary["guest"]["miss_guest_seconds"];
  const auto count = [&](const char* k) { return static_cast<double>(r.summary["stats"].value(k, uint64_t{0})); };
  EXPECT_NEAR(misses["remote"].get<double>(), (count("remote_2hop") * 900 + count("remote_3hop") * 1500) * 1e-9, 1e-9);
  EXPECT_NEAR(misses["local"].get<double>(), count("local_misses") * 300 * 1e-9, 1e-9);
  EXPECT_GT(misses["remote"].get<double>(), misses["local"].get<double>()) << "3 of 4 pages are remote";
  const auto pages = r.summary["guest"]["pages_by_node"];
  ASSERT_EQ(pages.size(), 4u);
  for (const auto& p : pages) EXPECT_EQ(p.get<uint64_t>(), 256u * 256 / 4) << "256 MiB in 4 KiB pages, spread evenly";
  EXPECT_EQ(r.out.find("disco-init: up"), std::string::npos) << "--quiet keeps the console off stdout";
  expect_programs_passed(r);
}

// First touch: the one vcpu's node gets a page when the guest (or the loader) first touches it,
// so a short boot places a fraction of the 65536 pages there and none on the other node.
TEST(GuestBoot, FirstTouchPlacesPagesLazilyOnTheVcpusNode) {
  TempDir dir;
  const RunResult r = run_disco(boot_flags("echo touched", {"--nodes", "2", "--mem-per-node", "256MiB", "--placement",
                                                            "first-touch", "--quiet"}),
                                dir, 600s);
  ASSERT_TRUE(r.summary.is_object()) << r.transcript();
  EXPECT_TRUE(succeeded(r)) << r.transcript();
  EXPECT_TRUE(r.summary.value("poweroff", false));
  EXPECT_NE(console_of(r).find("touched"), std::string::npos);
  const auto pages = r.summary["guest"]["pages_by_node"];
  ASSERT_EQ(pages.size(), 2u) << pages.dump();
  EXPECT_GT(pages[0].get<uint64_t>(), 16u << 8) << "at least the kernel's 16 MiB";
  EXPECT_LT(pages[0].get<uint64_t>(), 256u * 256) << "not all 256 MiB: pages are placed when touched";
  EXPECT_EQ(pages[1].get<uint64_t>(), 0u) << "the vcpu runs on node 0";
  EXPECT_EQ(r.summary["stats"].value("remote_2hop", uint64_t{1}), 0u);
  EXPECT_EQ(r.summary["stats"].value("remote_3hop", uint64_t{1}), 0u);
}

// --kernel, --initrd and --append: any kernel and initramfs boot with the given command line, and
// the initramfs's own /init runs (here one that scripts/mkinitramfs made, printing /proc/cmdline).
TEST(GuestBoot, OwnKernelInitrdAndCommandLine) {
  ASSERT_EQ(test::fetch_guest(), "");
  TempDir dir;
  const std::string initrd = (dir / "own-initrd.cpio.gz").string();
  const std::string make = std::string(DISCO_SOURCE_DIR) + "/scripts/mkinitramfs --out '" + initrd +
                           "' --cmd 'echo cmdline: $(cat /proc/cmdline)' >'" + (dir / "mkinitramfs.txt").string() + "' 2>&1";
  ASSERT_EQ(std::system(make.c_str()), 0) << slurp(dir / "mkinitramfs.txt");
  const std::string append = "nokaslr cryptomgr.notests=1 panic=-1 disco.test=hi-$((6*7))";
  const RunResult r = run_disco({"--bare", "--kernel", test::kGuestKernel, "--initrd", initrd, "--append", append,
                                 "--host-unpack", "--rtc-epoch", "1700000000", "--quiet"},
                                dir, 600s);
  ASSERT_TRUE(r.summary.is_object()) << r.transcript();
  EXPECT_TRUE(succeeded(r)) << r.transcript();
  EXPECT_NE(r.out.find(test::kGuestKernel + " + " + initrd), std::string::npos) << "our initrd, not a generated one\n"
                                                                               << r.out;
  const std::string console = console_of(r);
  // The loader's initrd words, then --append verbatim (the kernel adds a console= after it).
  const auto line_after = [&](const std::string& start) {
    const size_t at = console.find(start);
    return at == std::string::npos ? std::string() : console.substr(at + start.size(), console.find('\n', at) - at - start.size());
  };
  EXPECT_TRUE(line_after("Kernel command line: ").starts_with("rd_start=")) << console;
  EXPECT_NE(line_after("Kernel command line: ").find(" " + append), std::string::npos) << console;
  EXPECT_NE(line_after("cmdline: ").find(" " + append), std::string::npos) << "/init ran and read /proc/cmdline\n" << console;
  EXPECT_NE(console.find("disco-init: exit 0"), std::string::npos) << console;
}

// Twice with compiled blocks, and once interpreted: compiled blocks end and take interrupts
// where the interpreter's do, so all three execute the same instructions and exceptions.
// Same inputs, same instructions and the same guest time, cache misses charged included. The
// compiled and the interpreted run execute the same instructions when misses cost no guest time:
// their instruction fetches fill the node's cache at different moments (a block is fetched when
// it is compiled, the interpreter fetches a word when it first runs it), so the data misses and
// hence the guest clock that paces the timer may differ once misses cost time.
TEST(GuestBoot, SameInputsExecuteTheSameInstructions) {
  TempDir a, b, c, d;
  const RunResult first = run_disco(boot_flags("uname -r", {"--quiet"}), a, 600s);
  const RunResult second = run_disco(boot_flags("uname -r", {"--quiet"}), b, 600s);
  const std::vector<std::string> free_misses = {"--quiet", "--local-miss-ns", "0", "--remote-miss-ns", "0",
                                                "--remote-dirty-ns", "0"};
  const RunResult compiled = run_disco(boot_flags("uname -r", free_misses), c, 600s);
  std::vector<std::string> interpret = free_misses;
  interpret.push_back("--interpret");
  // Interpreted, the boot is several times slower: under TSan on two busy cores it took over
  // 600 s (the deadline only catches a hang; the four together stay under ctest's 2400 s cap).
  const RunResult interpreted = run_disco(boot_flags("uname -r", interpret), d, 1150s);
  ASSERT_TRUE(succeeded(first) && succeeded(second) && succeeded(compiled) && succeeded(interpreted))
      << first.transcript() << second.transcript() << compiled.transcript() << interpreted.transcript();
  EXPECT_EQ(first.summary["guest_instructions"], second.summary["guest_instructions"]);
  EXPECT_EQ(first.summary["guest"]["guest_seconds"], second.summary["guest"]["guest_seconds"]);
  EXPECT_EQ(first.summary["guest"]["miss_guest_seconds"], second.summary["guest"]["miss_guest_seconds"]);
  EXPECT_GT(first.summary["guest"]["miss_guest_seconds"]["local"].get<double>(), 0) << "misses cost guest time";
  EXPECT_EQ(compiled.summary["guest"]["miss_guest_seconds"]["local"].get<double>(), 0);
  EXPECT_EQ(compiled.summary["guest_instructions"], interpreted.summary["guest_instructions"]);
  EXPECT_EQ(compiled.summary["guest"]["exceptions"], interpreted.summary["guest"]["exceptions"]);
  EXPECT_GT(compiled.summary["guest"]["compiled_blocks"].get<uint64_t>(), 1000u);
  EXPECT_EQ(interpreted.summary["guest"]["compiled_blocks"].get<uint64_t>(), 0u);
}

TEST(GuestBoot, TheShippedSelfExtractingKernelBootsToo) {
  TempDir dir;
  std::vector<std::string> flags{"--bare", "--guest", "debian", "--init-cmd", "echo self-extracted", "--quiet"};
  const RunResult r = run_disco(flags, dir, 900s);
  ASSERT_TRUE(r.summary.is_object()) << r.transcript();
  EXPECT_TRUE(succeeded(r)) << r.transcript();
  EXPECT_NE(console_of(r).find("self-extracted"), std::string::npos);
  EXPECT_GT(r.summary.value("guest_instructions", uint64_t{0}), 1'000'000'000u) << "the decompressor ran in the guest";
}

// Bad kernels and impossible guests are refused as bad flags are (bad_flags_test.cpp): exit 2, one
// line, nothing started. Flags name files by placeholder: {kernel} Debian's vmlinuz, {truncated}
// its first half, {garbage} 4 KiB of 'x', {missing} no file, {initrd} a small file.
struct GuestError {
  const char* name;
  std::vector<std::string> flags;
  const char* says;
};
void PrintTo(const GuestError& e, std::ostream* os) { *os << e.name; }

class GuestErrors : public ::testing::TestWithParam<GuestError> {};

TEST_P(GuestErrors, ExitTwoWithOneLineAndStartNothing) {
  const GuestError& c = GetParam();
  ASSERT_EQ(test::fetch_guest(), "");
  TempDir dir;
  const std::map<std::string, std::string> files{{"{kernel}", test::kGuestKernel},
                                                 {"{truncated}", (dir / "truncated").string()},
                                                 {"{garbage}", (dir / "garbage").string()},
                                                 {"{missing}", (dir / "missing").string()},
                                                 {"{initrd}", (dir / "initrd").string()}};
  std::ofstream(files.at("{garbage}")) << std::string(4096, 'x');
  std::ofstream(files.at("{initrd}")) << std::string(4096, 'i');
  const std::string kernel = slurp(test::kGuestKernel);
  std::ofstream(files.at("{truncated}"), std::ios::binary) << kernel.substr(0, kernel.size() / 2);
  std::vector<std::string> flags = c.flags;
  for (std::string& f : flags)
    if (files.contains(f)) f = files.at(f);
  const RunResult r = run_disco(flags, dir, 120s);
  expect_refused(r, c.says, dir / "results");
}

INSTANTIATE_TEST_SUITE_P(
    Cases, GuestErrors,
    ::testing::Values(
        GuestError{"GarbageKernel", {"--bare", "--kernel", "{garbage}"}, "ELF"},
        GuestError{"TruncatedKernel", {"--bare", "--kernel", "{truncated}"}, "truncated"},
        GuestError{"MissingKernel", {"--bare", "--kernel", "{missing}"}, "missing"},
        GuestError{"MemoryAboveTheLowRamWindow", {"--bare", "--kernel", "{kernel}", "--initrd", "{initrd}", "--mem", "3GiB"},
                   "16 MiB to 256 MiB"},
        GuestError{"MemoryNotAPageMultiple", {"--bare", "--kernel", "{kernel}", "--initrd", "{initrd}", "--mem", "12345"},
                   "multiple of"},
        GuestError{"NodesTooSmallForTheGuest",
                   {"--bare", "--kernel", "{kernel}", "--initrd", "{initrd}", "--nodes", "2", "--mem-per-node", "64MiB"},
                   "raise --mem-per-node"},
        GuestError{"DebianMemoryAboveTheLowRamWindow", {"--bare", "--guest", "debian", "--mem", "3GiB"}, "16 MiB to 256 MiB"},
        GuestError{"DebianMemoryNotAPageMultiple", {"--bare", "--guest", "debian", "--mem", "12345"}, "multiple of"},
        GuestError{"DebianNodesTooSmall", {"--bare", "--guest", "debian", "--nodes", "2", "--mem-per-node", "64MiB"},
                   "raise --mem-per-node"},
        GuestError{"UnknownPlacement", {"--bare", "--guest", "debian", "--placement", "sideways"},
                   "local, interleave or first-touch"},
        GuestError{"UnknownGuest", {"--bare", "--guest", "nosuchos"}, "not a known guest"}),
    [](const ::testing::TestParamInfo<GuestError>& i) { return std::string(i.param.name); });

}  // namespace
}  // namespace disco::launcher_test
