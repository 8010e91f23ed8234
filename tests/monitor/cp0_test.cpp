// CP0 through its mfc0/mtc0 interface: every register's write mask, read-back of 0 and ~0
// (STYLE habit 4), and the registers with side effects, on a stepped virtual clock.
#include <gtest/gtest.h>

#include "monitor/cpu/cp0.h"

namespace disco::mips {
namespace {

bool special(Cp0Id id) { return id == cp0::Count || id == cp0::Random; }

TEST(Cp0, EveryRegisterReadsBackUnderItsWriteMask) {
  for (const Cp0RegisterInfo& r : Cp0::registers()) {
    if (special(r.id)) continue;
    Cp0 c;
    uint32_t before, after;
    ASSERT_TRUE(c.read(r.id, 0, before)) << r.name;
    EXPECT_EQ(before, r.reset) << r.name;
    const uint32_t mask = r.write_mask;  // the default CPU has the table's 16-entry TLB
    ASSERT_TRUE(c.write(r.id, 0, 0));
    ASSERT_TRUE(c.read(r.id, 0, after));
    EXPECT_EQ(after, before & ~mask) << r.name << " after writing 0";
    ASSERT_TRUE(c.write(r.id, ~0u, 0));
    ASSERT_TRUE(c.read(r.id, 0, after));
    EXPECT_EQ(after, (before & ~mask) | mask) << r.name << " after writing ~0";
  }
}

TEST(Cp0, ConstantRegistersDescribeA24Kf) {
  Cp0 c({.tlb_entries = 16});
  uint32_t v;
  c.read(cp0::PRId, 0, v);
  EXPECT_EQ(v, 0x00019300u);
  c.read(cp0::Config1, 0, v);
  EXPECT_EQ((v >> 25) & 0x3f, 15u);  // MMUSize - 1
  EXPECT_EQ(v & 1, 1u);              // FP
  c.read(cp0::Config3, 0, v);
  EXPECT_NE(v & (1u << 13), 0u);     // ULRI: rdhwr $29 without a trap
  c.read(cp0::Config, 0, v);
  EXPECT_EQ((v >> 10) & 7, 1u);      // Release 2
  Cp0 no_fpu({.fpu = false});
  no_fpu.read(cp0::Config1, 0, v);
  EXPECT_EQ(v & 1, 0u);
  no_fpu.write(cp0::Status, StatusBits::CU1, 0);
  no_fpu.read(cp0::Status, 0, v);
  EXPECT_EQ(v & StatusBits::CU1, 0u);
}

TEST(Cp0, UnimplementedRegistersReadZeroAndSaySo) {
  Cp0 c;
  uint32_t v = 1;
  EXPECT_FALSE(c.read({18, 0}, 0, v));  // WatchLo: Config1.WR = 0
  EXPECT_EQ(v, 0u);
  EXPECT_FALSE(c.write({31, 7}, 5, 0));
}

TEST(Cp0, CountTicksEveryOtherCycleFromWhatWasWritten) {
  Cp0 c;
  c.write(cp0::Count, 100, 1000);
  EXPECT_EQ(c.count(1000), 100u);
  EXPECT_EQ(c.count(1001), 100u);
  EXPECT_EQ(c.count(1002), 101u);
  EXPECT_EQ(c.count(3000), 1100u);
  c.write(cp0::Count, 0xffffffff, 0);
  EXPECT_EQ(c.count(2), 0u);  // wraps
}

TEST(Cp0, TimerDeadlineIsTheCycleCountReachesCompare) {
  Cp0 c;
  c.write(cp0::Count, 0, 0);
  c.write(cp0::Compare, 10, 0);
  const uint64_t deadline = c.next_timer_cycle(0);
  EXPECT_EQ(c.count(deadline), 10u);
  EXPECT_EQ(c.count(deadline - 1), 9u);
  c.raise_timer();
  uint32_t cause;
  c.read(cp0::Cause, deadline, cause);
  EXPECT_NE(cause & CauseBits::TI, 0u);
  EXPECT_NE(cause & CauseBits::IP_TIMER, 0u);
  c.set_hw_interrupts(0x01);  // IP2 (the i8259 cascade) rises; the timer stays pending
  c.read(cp0::Cause, deadline, cause);
  EXPECT_EQ((cause >> 10) & 0x3f, 0x21u);
  c.write(cp0::Compare, 50, deadline);  // acknowledges the timer
  c.read(cp0::Cause, deadline, cause);
  EXPECT_EQ(cause & (CauseBits::TI | CauseBits::IP_TIMER), 0u);
  EXPECT_EQ(c.count(c.next_timer_cycle(deadline)), 50u);
}

TEST(Cp0, RandomStaysBetweenWiredAndTheTopEntry) {
  Cp0 c({.tlb_entries = 16});
  c.write(cp0::Wired, 5, 100);
  uint32_t r;
  c.read(cp0::Random, 100, r);
  EXPECT_EQ(r, 15u);  // a Wired write restarts Random at the top
  for (uint64_t t = 100; t < 400; ++t) {
    c.read(cp0::Random, t, r);
    EXPECT_GE(r, 5u);
    EXPECT_LE(r, 15u);
  }
}

TEST(Cp0, SoftwareInterruptBitsAreWritableHardwareOnesAreNot) {
  Cp0 c;
  c.write(cp0::Cause, 0xffffffff, 0);
  uint32_t cause;
  c.read(cp0::Cause, 0, cause);
  EXPECT_EQ(cause & CauseBits::IP, CauseBits::IP_SW);
  EXPECT_EQ(cause & CauseBits::ExcCode, 0u);
}

}  // namespace
}  // namespace disco::mips
