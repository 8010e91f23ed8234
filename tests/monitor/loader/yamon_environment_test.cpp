#include "monitor/loader/yamon_environment.h"

#include <gtest/gtest.h>

#include "tests/monitor/loader/loader_test_support.h"

namespace disco::boot {
namespace {

uint32_t word(const std::vector<uint8_t>& b, size_t at) {
  return b[at] | b[at + 1] << 8 | b[at + 2] << 16 | uint32_t(b[at + 3]) << 24;
}

TEST(YamonEnvironment, InitrdCommandLineAsQemuPrintsIt) {
  EXPECT_EQ(initrd_command_line(0x0fed0000, 1234567, "console=ttyS0 nokaslr"),
            "rd_start=0xffffffff8fed0000 rd_size=1234567 console=ttyS0 nokaslr");
  EXPECT_EQ(initrd_command_line(0x00400000, 1, ""), "rd_start=0xffffffff80400000 rd_size=1 ");
}

// The whole table, byte for byte: pointers to 256-byte slots after the 16-entry table, NULL after
// the last string, every other byte zero.
TEST(YamonEnvironment, LayoutByteForByte) {
  const std::string seed(64, 'a');
  const Outcome<std::vector<uint8_t>> prom = build_yamon_prom(
      {.kernel_name = "vmlinuz", .command_line = "console=ttyS0", .memsize = 0x10000000, .ememsize = 0x10000000, .rng_seed_hex = seed});
  ASSERT_TRUE(prom.value) << prom.error;
  const std::vector<uint8_t>& b = *prom.value;
  ASSERT_EQ(b.size(), 16u * (4 + 256));
  const std::vector<std::string> strings = {"vmlinuz", "console=ttyS0", "memsize", "268435456", "ememsize",
                                            "268435456", "modetty0", "38400n8r", "rngseed", seed};
  std::vector<uint8_t> expected(b.size(), 0);
  for (size_t i = 0; i < strings.size(); ++i) {
    testing::put32(expected, 4 * i, uint32_t(0x80002040 + 256 * i));
    std::copy(strings[i].begin(), strings[i].end(), expected.begin() + 64 + 256 * i);
  }
  EXPECT_EQ(b, expected);
  EXPECT_EQ(word(b, 0), 0x80002040u);           // argv[0], at a1 = 0x80002000
  EXPECT_EQ(word(b, 8), 0x80002240u);           // envp[0] ("memsize"), at a2 = 0x80002008
  EXPECT_EQ(word(b, 4 * strings.size()), 0u);   // envp terminator
  EXPECT_EQ(kArgvVaddr, 0x80002000u);
  EXPECT_EQ(kEnvpVaddr, 0x80002008u);
  EXPECT_EQ(kBootStackVaddr, 0x80001fc0u);
}

TEST(YamonEnvironment, WithoutSeedTheTableEndsAfterModetty0) {
  const Outcome<std::vector<uint8_t>> prom =
      build_yamon_prom({.kernel_name = "k", .command_line = "", .memsize = 64 << 20, .ememsize = 64 << 20});
  ASSERT_TRUE(prom.value) << prom.error;
  EXPECT_NE(word(*prom.value, 4 * 7), 0u);
  EXPECT_EQ(word(*prom.value, 4 * 8), 0u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(prom.value->data() + 64 + 3 * 256)), "67108864");
}

TEST(YamonEnvironment, Errors) {
  YamonArguments args{.kernel_name = "k", .command_line = std::string(255, 'x'), .memsize = 1, .ememsize = 1};
  EXPECT_TRUE(build_yamon_prom(args).value);
  args.command_line += 'x';
  EXPECT_NE(build_yamon_prom(args).error.find("command line is 256 bytes"), std::string::npos);
  args.command_line = "";
  for (const std::string& seed : {std::string(63, 'a'), std::string(65, 'a'), std::string(63, 'a') + "g"}) {
    args.rng_seed_hex = seed;
    EXPECT_NE(build_yamon_prom(args).error.find("64 hex digits"), std::string::npos) << seed;
  }
}

}  // namespace
}  // namespace disco::boot
