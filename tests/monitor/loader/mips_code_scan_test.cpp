#include "monitor/loader/mips_code_scan.h"

#include <gtest/gtest.h>

#include "tests/monitor/loader/loader_test_support.h"

namespace disco::boot {
namespace {

using namespace testing;

std::vector<uint8_t> code(std::initializer_list<uint32_t> words) {
  std::vector<uint8_t> b;
  append_code(b, words);
  return b;
}

TEST(MipsCodeScan, FindsT9JumpsInOrderAndHonoursAccept) {
  // Debian's vmlinuz start: PTR_LA t9,decompress_kernel (lui/addiu) then PTR_LI t9,KERNEL_ENTRY (lui/ori).
  const auto c = code({lui(kT9, 0x810f), addiu(kT9, kT9, 0x1184), jalr_t9(), kNop, lui(kT9, 0x80b1), ori(kT9, kT9, 0x74bc),
                       jalr_t9(), kNop});
  EXPECT_EQ(find_t9_jump(c, [](uint32_t) { return true; }), 0x810f1184u);
  EXPECT_EQ(find_t9_jump(c, [](uint32_t t) { return t < 0x810f0000; }), 0x80b174bcu);
  EXPECT_EQ(find_t9_jump(c, [](uint32_t) { return false; }), std::nullopt);
  // jr t9 counts too; another register or a gap between the three does not.
  EXPECT_EQ(find_t9_jump(code({lui(kT9, 0x8000), ori(kT9, kT9, 0x40), jr(kT9)}), [](uint32_t) { return true; }), 0x80000040u);
  EXPECT_EQ(find_t9_jump(code({lui(kT0, 0x8000), ori(kT0, kT0, 0x40), jr(kT0)}), [](uint32_t) { return true; }), std::nullopt);
  EXPECT_EQ(find_t9_jump(code({lui(kT9, 0x8000), kNop, ori(kT9, kT9, 0x40), jr(kT9)}), [](uint32_t) { return true; }), std::nullopt);
  EXPECT_EQ(find_t9_jump(code({lui(kT9, 0x8000), ori(kT9, kT9, 0x40)}), [](uint32_t) { return true; }), std::nullopt);
}

TEST(MipsCodeScan, MaterialisedConstants) {
  EXPECT_TRUE(materialises_constant(code({kNop, lui(kV0, 0x8010), kNop}), 0x80100000));
  EXPECT_TRUE(materialises_constant(code({lui(kA0, 0x8010), kNop, kNop, addiu(kA0, kA0, 0x8000)}), 0x800f8000));
  EXPECT_TRUE(materialises_constant(code({lui(kA0, 0x8010), ori(kA0, kA0, 0x8000)}), 0x80108000));
  EXPECT_FALSE(materialises_constant(code({lui(kA0, 0x8010), ori(kT0, kA0, 0x8000)}), 0x80108000));
  EXPECT_FALSE(materialises_constant(code({lui(kA0, 0x8011)}), 0x80100000));
  EXPECT_FALSE(materialises_constant({}, 0x80100000));
}

TEST(MipsCodeScan, BssClearOfKernelEntry) {
  // arch/mips/kernel/head.S as Debian's 6.1 assembles it (status setup, jump to 0f, bss loop).
  const auto c = code({0x40086000, 0x3c011000, 0x3421001f, 0x01014025, 0x3908001f, 0x40886000, 0x000000c0, 0x3c0880b1,
                       0x250874e8, 0x01000008, 0x00000000, 0x3c08810f, 0x25080000, 0xad000000, 0x3c098114, 0x2529159c,
                       0x25080004, 0xad000000, 0x1509fffd, 0x00000000});
  const std::optional<BssRange> bss = find_bss_clear(c);
  ASSERT_TRUE(bss);
  EXPECT_EQ(bss->start, 0x810f0000u);
  EXPECT_EQ(bss->end, 0x811415a0u);
}

TEST(MipsCodeScan, BssClearNeedsKnownBounds) {
  // The end register clobbered between its load and the loop.
  EXPECT_FALSE(find_bss_clear(code({lui(kT0, 0x8100), sw(kZero, kT0, 0), lui(kT1, 0x8101), 0x01004825 /* or t1,t0,zero */,
                                    addiu(kT0, kT0, 4), sw(kZero, kT0, 0), bne(kT0, kT1, -3)})));
  EXPECT_FALSE(find_bss_clear(code({sw(kZero, kT0, 0), bne(kT0, kT1, -1)})));
  EXPECT_FALSE(find_bss_clear({}));
}

}  // namespace
}  // namespace disco::boot
