// The vcpu's second-level software TLB: what it keeps, what it finds, what it drops.
#include <gtest/gtest.h>

#include "monitor/cpu/tlb.h"
#include "monitor/cpu/l2tlb.h"

namespace disco::mips {
namespace {




TlbEntry pair(uint32_t vaddr, uint8_t asid, bool global = false, uint32_t mask = 0) {
  const uint32_t lo = 0x123u << EntryLoBits::PfnShift | EntryLoBits::V | EntryLoBits::D;
  return {.mask = mask, .vpn2 = vaddr & 0xffffe000u & ~mask, .asid = asid, .global = global, .lo = {lo, lo}};
}

TEST(L2Tlb, KeepsPairsAndFindsThemByAddressAndAsid) {
  L2Tlb l2(1024);
  l2.insert(pair(0x00400000, 3));
  ASSERT_NE(l2.lookup(0x00400000, 3), nullptr);
  EXPECT_NE(l2.lookup(0x00401ffc, 3), nullptr) << "the odd page of the pair";
  EXPECT_EQ(l2.lookup(0x00402000, 3), nullptr);
  EXPECT_EQ(l2.lookup(0x00400000, 4), nullptr) << "another address space";
  l2.insert(pair(0x00600000, 9, true));
  EXPECT_NE(l2.lookup(0x00600000, 200), nullptr) << "global";
}

TEST(L2Tlb, IgnoresWhatItCannotKeep) {
  L2Tlb l2(16);
  TlbEntry invalid = pair(0x1000000, 1);
  invalid.lo = {0, 0};
  l2.insert(invalid);
  EXPECT_EQ(l2.lookup(0x1000000, 1), nullptr) << "an entry that translates nothing";
  l2.insert(pair(0x2000000, 1, false, 0x1fe000));  // 1 MiB pages
  EXPECT_EQ(l2.lookup(0x2000000, 1), nullptr) << "large pages are the guest TLB's only";
  L2Tlb none(0);
  none.insert(pair(0x00400000, 1));
  EXPECT_EQ(none.lookup(0x00400000, 1), nullptr);
  EXPECT_FALSE(L2Tlb::valid_size(12));
  EXPECT_TRUE(L2Tlb::valid_size(1024));
}

TEST(L2Tlb, DropsWhatANewOrProbedEntryOverlaps) {
  L2Tlb l2(1024);
  l2.insert(pair(0x00400000, 3));
  l2.insert(pair(0x00400000, 4));
  l2.insert(pair(0x00800000, 5, true));
  l2.drop_overlapping(pair(0x00400000, 3));
  EXPECT_EQ(l2.lookup(0x00400000, 3), nullptr);
  EXPECT_NE(l2.lookup(0x00400000, 4), nullptr) << "another ASID stays";
  l2.drop_overlapping(pair(0x00800000, 1));
  EXPECT_EQ(l2.lookup(0x00800000, 5), nullptr) << "a global entry meets every ASID";
  l2.drop_overlapping(pair(0x00000000, 4, true, 0x1ffe000));  // 16 MiB pages over all of it
  EXPECT_EQ(l2.lookup(0x00400000, 4), nullptr);
}

TEST(L2Tlb, AFullSetGivesUpItsOldestAndClearEmptiesAll) {
  L2Tlb l2(16);  // 4 sets of 4
  const uint32_t stride = 4 * 0x2000;  // pairs that share a set
  for (uint32_t i = 0; i < 5; ++i) l2.insert(pair(0x00400000 + i * stride, 1));
  EXPECT_EQ(l2.lookup(0x00400000, 1), nullptr) << "the first of five in a 4-way set";
  for (uint32_t i = 1; i < 5; ++i) EXPECT_NE(l2.lookup(0x00400000 + i * stride, 1), nullptr);
  l2.clear();
  for (uint32_t i = 1; i < 5; ++i) EXPECT_EQ(l2.lookup(0x00400000 + i * stride, 1), nullptr);
}

}  // namespace
}  // namespace disco::mips
