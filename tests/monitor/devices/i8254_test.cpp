// The i8254 on the virtual clock.
#include "monitor/devices/i8254.h"

#include <gtest/gtest.h>

#include "monitor/devices/virtual_clock.h"

namespace disco::malta {
namespace {

constexpr uint64_t kTick = kNsPerSecond / I8254::kInputHz;  // 838 ns, rounded down

TEST(I8254, RateGeneratorRaisesIrq0OncePerPeriod) {
  I8254 pit;
  pit.write(0x43, 0x34, 0);  // channel 0, LSB then MSB, mode 2
  pit.write(0x40, 0x9c, 0);
  pit.write(0x40, 0x2e, 0);  // 11932 ticks: 100 Hz
  const uint64_t first = pit.next_irq0_edge_ns(0);
  EXPECT_EQ(first, ns_for(11932, I8254::kInputHz));
  EXPECT_FALSE(pit.take_irq0_edge(first - 1));
  EXPECT_TRUE(pit.take_irq0_edge(first));
  EXPECT_FALSE(pit.take_irq0_edge(first + 1000));
  EXPECT_EQ(pit.next_irq0_edge_ns(first + 1000), ns_for(2 * 11932, I8254::kInputHz));
  int edges = 0;
  for (uint64_t t = first; t <= kNsPerSecond; t += 1'000'000) edges += pit.take_irq0_edge(t);
  EXPECT_EQ(edges, 98);  // periods 2..99: the 100th ends at 1.0000151 s
}

TEST(I8254, LatchedCountDecreases) {
  I8254 pit;
  pit.write(0x43, 0x34, 0);
  pit.write(0x40, 0x00, 0);
  pit.write(0x40, 0x10, 0);  // 0x1000
  pit.write(0x43, 0x00, 100 * kTick + 100);  // latch channel 0
  const unsigned lo = pit.read(0x40, 500 * kTick), hi = pit.read(0x40, 500 * kTick);
  EXPECT_EQ(hi << 8 | lo, 0x1000u - 100);
  const unsigned lo2 = pit.read(0x40, 200 * kTick + 100), hi2 = pit.read(0x40, 200 * kTick + 100);
  EXPECT_EQ(hi2 << 8 | lo2, 0x1000u - 200) << "after the latch, reads follow the counter";
}

TEST(I8254, ReadBackStatus) {
  I8254 pit;
  pit.write(0x43, 0x30, 0);          // mode 0, LSB/MSB
  pit.write(0x43, 0xe2, 0);          // read-back status of channel 0
  EXPECT_EQ(pit.read(0x40, 0), 0x70) << "OUT low, null count, LSB/MSB, mode 0";
  pit.write(0x40, 0x10, 0);
  pit.write(0x40, 0x00, 0);
  pit.write(0x43, 0xe2, 100 * kTick);
  EXPECT_EQ(pit.read(0x40, 100 * kTick), 0xb0) << "terminal count reached: OUT high";
}

TEST(I8254, LinuxShutdownLeavesOneEdgeThenSilence) {
  I8254 pit;
  pit.write(0x43, 0x34, 0);
  pit.write(0x40, 0x9c, 0);
  pit.write(0x40, 0x2e, 0);
  // clockevent shutdown: mode 0, count 0 (65536 ticks).
  pit.write(0x43, 0x30, 1000);
  pit.write(0x40, 0, 1000);
  pit.write(0x40, 0, 1000);
  const uint64_t edge = 1000 + ns_for(65536, I8254::kInputHz);
  EXPECT_EQ(pit.next_irq0_edge_ns(1000), edge);
  EXPECT_TRUE(pit.take_irq0_edge(edge));
  EXPECT_EQ(pit.next_irq0_edge_ns(edge), UINT64_MAX);
  EXPECT_FALSE(pit.take_irq0_edge(10 * kNsPerSecond));
}

TEST(I8254, BcdCount) {
  I8254 pit;
  pit.write(0x43, 0xb1, 0);  // channel 2, LSB/MSB, mode 0, BCD
  pit.write(0x42, 0x00, 0);
  pit.write(0x42, 0x10, 0);  // 1000 in BCD
  pit.write(0x43, 0x80, 1 * kTick + 10);
  const unsigned lo = pit.read(0x42, 0), hi = pit.read(0x42, 0);
  EXPECT_EQ(hi << 8 | lo, 0x0999u);
}

}  // namespace
}  // namespace disco::malta
