// The pcpu's machine TLB: lookups, set-associative replacement, drops (each reported to the
// callback, which keeps the soft TLBs right) and the two ways of switching vcpus.
#include <gtest/gtest.h>

#include <vector>

#include "monitor/cpu/machine_tlb.h"

namespace disco::mips {
namespace {

MachineTlbEntry entry(uint16_t owner, uint8_t masid, uint32_t vpn, uint64_t machine_page = 100) {
  return {.owner = owner, .machine_asid = masid, .guest_asid = masid, .vpn = vpn, .guest_frame = vpn + 1,
          .machine_page = machine_page, .writable = true};
}

struct Recorded {
  std::vector<MachineTlbEntry> dropped;
  MachineTlb tlb;
  explicit Recorded(TlbSwitch mode = TlbSwitch::Flush, unsigned entries = MachineTlb::kDefaultEntries) : tlb(mode, entries) {
    tlb.set_drop_callback([this](const MachineTlbEntry& e) { dropped.push_back(e); });
  }
};

TEST(MachineTlb, FindsWhatWasInsertedByPageAndAsid) {
  Recorded r;
  r.tlb.insert(entry(0, 5, 0x400));
  ASSERT_NE(r.tlb.lookup(0x400, 5), nullptr);
  EXPECT_EQ(r.tlb.lookup(0x400, 5)->guest_frame, 0x401u);
  EXPECT_EQ(r.tlb.lookup(0x400, 6), nullptr) << "another address space";
  EXPECT_EQ(r.tlb.lookup(0x401, 5), nullptr) << "another page";
  r.tlb.insert(entry(0, 5, 0x400, 200));  // the same page again replaces it
  EXPECT_EQ(r.tlb.lookup(0x400, 5)->machine_page, 200u);
  EXPECT_EQ(r.dropped.size(), 1u);
}

TEST(MachineTlb, AFullTlbGivesUpItsEntriesInTurnAndSaysWhich) {
  Recorded r(TlbSwitch::Flush, 32);  // the 24Kf's JTLB pages: fully associative
  for (uint32_t i = 0; i < 32; ++i) r.tlb.insert(entry(0, 1, 100 + i * 7));
  EXPECT_TRUE(r.dropped.empty()) << "32 pages fit";
  r.tlb.insert(entry(0, 1, 500));
  ASSERT_EQ(r.dropped.size(), 1u);
  EXPECT_EQ(r.dropped[0].vpn, 100u) << "round robin starts at entry 0";
  EXPECT_EQ(r.tlb.lookup(100, 1), nullptr);
  r.tlb.insert(entry(0, 1, 501));
  EXPECT_EQ(r.dropped.back().vpn, 107u);
  EXPECT_NE(r.tlb.lookup(114, 1), nullptr) << "the others stay";
  EXPECT_NE(r.tlb.lookup(500, 1), nullptr);
}

TEST(MachineTlb, ALargeTlbIsFourWaysPerSetAndEvictsOnlyWithinTheSet) {
  Recorded r(TlbSwitch::Flush, 1024);  // 256 sets of 4, by the page's low bits
  EXPECT_EQ(r.tlb.entries(), 1024u);
  for (uint32_t i = 0; i < 1024; ++i) r.tlb.insert(entry(0, 1, 0x1000 + i));
  EXPECT_TRUE(r.dropped.empty()) << "1024 consecutive pages fill every way once";
  for (uint32_t i = 0; i < 1024; ++i) ASSERT_NE(r.tlb.lookup(0x1000 + i, 1), nullptr) << i;
  // Four more pages of set 0 (vpn multiples of 256) evict set 0's ways in turn, nothing else.
  for (uint32_t k = 0; k < 4; ++k) r.tlb.insert(entry(0, 1, 0x8000 + k * 256));
  ASSERT_EQ(r.dropped.size(), 4u);
  for (uint32_t k = 0; k < 4; ++k) {
    EXPECT_EQ(r.dropped[k].vpn, 0x1000 + k * 256) << "round robin within the set";
    EXPECT_NE(r.tlb.lookup(0x8000 + k * 256, 1), nullptr);
  }
  EXPECT_NE(r.tlb.lookup(0x1001, 1), nullptr) << "other sets keep theirs";
  // A 4 KiB pair drops in its two sets; a range wider than the sets scans them all.
  r.tlb.drop_range(0, 0x1001, 0x1002, true, 0);
  EXPECT_EQ(r.tlb.lookup(0x1001, 1), nullptr);
  EXPECT_EQ(r.tlb.lookup(0x1002, 1), nullptr);
  EXPECT_NE(r.tlb.lookup(0x1003, 1), nullptr);
  r.tlb.drop_range(0, 0x1200, 0x13ff, false, 1);
  for (uint32_t vpn = 0x1200; vpn < 0x1400; ++vpn) EXPECT_EQ(r.tlb.lookup(vpn, 1), nullptr) << vpn;
  EXPECT_NE(r.tlb.lookup(0x1101, 1), nullptr);
  EXPECT_EQ(r.dropped.size(), 4u + 2 + 510) << "0x1200 and 0x1300 had already left set 0";
}

TEST(MachineTlb, SizesArePowersOfTwoUpToTheLimit) {
  EXPECT_TRUE(MachineTlb::valid_size(1));
  EXPECT_TRUE(MachineTlb::valid_size(32));
  EXPECT_TRUE(MachineTlb::valid_size(MachineTlb::kMaxEntries));
  EXPECT_FALSE(MachineTlb::valid_size(0));
  EXPECT_FALSE(MachineTlb::valid_size(48));
  EXPECT_FALSE(MachineTlb::valid_size(MachineTlb::kMaxEntries * 2));
}

TEST(MachineTlb, DropsByRangeOwnerAndMachinePage) {
  Recorded r;
  r.tlb.insert(entry(0, 1, 0x10));
  r.tlb.insert(entry(0, 2, 0x11));
  r.tlb.insert(entry(1, 1, 0x12));
  r.tlb.insert(entry(1, 1, 0x13, 555));
  r.tlb.drop_range(0, 0x10, 0x11, false, 1);
  EXPECT_EQ(r.tlb.lookup(0x10, 1), nullptr);
  EXPECT_NE(r.tlb.lookup(0x11, 2), nullptr) << "another guest ASID";
  r.tlb.drop_range(0, 0x10, 0x11, true, 0);
  EXPECT_EQ(r.tlb.lookup(0x11, 2), nullptr) << "any ASID";
  EXPECT_NE(r.tlb.lookup(0x12, 1), nullptr) << "another owner";
  r.tlb.drop_machine_page(555);
  EXPECT_EQ(r.tlb.lookup(0x13, 1), nullptr);
  EXPECT_NE(r.tlb.lookup(0x12, 1), nullptr);
  r.tlb.drop_owner(1);
  EXPECT_EQ(r.tlb.lookup(0x12, 1), nullptr);
  EXPECT_EQ(r.dropped.size(), 4u);
  r.tlb.flush();
  EXPECT_EQ(r.dropped.size(), 4u) << "nothing left to drop";
  EXPECT_EQ(r.tlb.flushes(), 1u);
}

TEST(MachineTlb, FlushModeUsesTheGuestAsidAsidModeGivesEachVcpuItsOwn) {
  MachineTlb flush(TlbSwitch::Flush), asid(TlbSwitch::Asid);
  EXPECT_EQ(flush.machine_asid(0, 7), 7);
  EXPECT_EQ(flush.machine_asid(1, 7), 7);
  const uint8_t a = asid.machine_asid(0, 7), b = asid.machine_asid(1, 7);
  EXPECT_NE(a, b);
  EXPECT_EQ(asid.machine_asid(0, 7), a) << "stable while the generation lasts";
  EXPECT_NE(a, 0) << "0 is never handed out";
}

TEST(MachineTlb, RunningOutOfMachineAsidsFlushesAndStartsAgain) {
  Recorded r(TlbSwitch::Asid);
  const uint8_t first = r.tlb.machine_asid(0, 0);
  r.tlb.insert(entry(0, first, 0x50));
  for (unsigned g = 1; g < 255; ++g) r.tlb.machine_asid(0, static_cast<uint8_t>(g));  // 255 in use
  EXPECT_NE(r.tlb.lookup(0x50, first), nullptr);
  r.tlb.machine_asid(1, 0);  // the 256th address space
  EXPECT_EQ(r.tlb.lookup(0x50, first), nullptr) << "a new generation starts on an empty TLB";
  EXPECT_EQ(r.tlb.flushes(), 1u);
}

}  // namespace
}  // namespace disco::mips
