// The RTC as Linux reads it: estimate_frequencies' UIP edges, rtc-cmos' time, alarms and IRQ8.
#include "monitor/devices/mc146818_rtc.h"

#include <gtest/gtest.h>

#include "monitor/devices/virtual_clock.h"

namespace disco::malta {
namespace {

constexpr int64_t kEpoch = 1700000000;  // 2023-11-14 22:13:20 UTC, a Tuesday
constexpr uint64_t kMs = 1'000'000;

uint8_t cmos(Mc146818Rtc& rtc, uint8_t index, uint64_t now) {
  rtc.write(0x70, index, now);
  return rtc.read(0x71, now);
}
void cmos_write(Mc146818Rtc& rtc, uint8_t index, uint8_t value, uint64_t now) {
  rtc.write(0x70, index, now);
  rtc.write(0x71, value, now);
}

TEST(Mc146818Rtc, ShowsTheConfiguredTimeInBcd) {
  Mc146818Rtc rtc(kEpoch);
  EXPECT_EQ(cmos(rtc, 0, 0), 0x20);
  EXPECT_EQ(cmos(rtc, 2, 0), 0x13);
  EXPECT_EQ(cmos(rtc, 4, 0), 0x22);
  EXPECT_EQ(cmos(rtc, 6, 0), 0x03);  // Tuesday, Sunday = 1
  EXPECT_EQ(cmos(rtc, 7, 0), 0x14);
  EXPECT_EQ(cmos(rtc, 8, 0), 0x11);
  EXPECT_EQ(cmos(rtc, 9, 0), 0x23);
  EXPECT_EQ(cmos(rtc, 13, 0), 0x80);
}

TEST(Mc146818Rtc, BinaryAnd12HourModes) {
  Mc146818Rtc rtc(kEpoch);
  cmos_write(rtc, 11, 0x04, 0);  // binary, 12-hour
  EXPECT_EQ(cmos(rtc, 0, 0), 20);
  EXPECT_EQ(cmos(rtc, 4, 0), 0x80 | 10) << "22h is 10 PM";
  cmos_write(rtc, 11, 0x00, 0);  // BCD, 12-hour
  EXPECT_EQ(cmos(rtc, 4, 0), 0x80 | 0x10);
}

TEST(Mc146818Rtc, UipPulsePrecedesEachSecondsUpdate) {
  Mc146818Rtc rtc(kEpoch);
  const uint64_t rise = kNsPerSecond - Mc146818Rtc::kUipNs;
  EXPECT_EQ(cmos(rtc, 10, rise - 1) & 0x80, 0);
  EXPECT_EQ(cmos(rtc, 10, rise) & 0x80, 0x80);
  EXPECT_EQ(cmos(rtc, 0, kNsPerSecond - 1), 0x20);
  EXPECT_EQ(cmos(rtc, 10, kNsPerSecond - 1) & 0x80, 0x80);
  EXPECT_EQ(cmos(rtc, 10, kNsPerSecond) & 0x80, 0);
  EXPECT_EQ(cmos(rtc, 0, kNsPerSecond), 0x21);
}

// malta-time.c estimate_frequencies(): two rising UIP edges, seconds read after each falling edge.
TEST(Mc146818Rtc, EstimateFrequenciesSeesOneSecond) {
  Mc146818Rtc rtc(kEpoch);
  uint64_t now = 123 * kMs;
  const uint64_t step = 10'000;  // the guest polls every 10 us of virtual time
  const auto uip = [&] { return cmos(rtc, 10, now) & 0x80; };
  while (uip()) now += step;
  while (!uip()) now += step;
  const uint64_t start = now;
  while (uip()) now += step;
  const uint8_t secs1 = cmos(rtc, 0, now);
  while (!uip()) now += step;
  const uint64_t end = now;
  while (uip()) now += step;
  const uint8_t secs2 = cmos(rtc, 0, now);
  EXPECT_EQ(secs2 - secs1, 1);
  EXPECT_NEAR(double(end - start), double(kNsPerSecond), double(step));
}

TEST(Mc146818Rtc, SetBitHaltsAndLoadsTheTime) {
  Mc146818Rtc rtc(kEpoch);
  cmos_write(rtc, 11, 0x82, 0);  // SET, 24h BCD
  cmos_write(rtc, 0, 0x59, 0);
  cmos_write(rtc, 2, 0x59, 0);
  cmos_write(rtc, 4, 0x23, 0);
  cmos_write(rtc, 7, 0x31, 0);
  cmos_write(rtc, 8, 0x12, 0);
  cmos_write(rtc, 9, 0x99, 0);
  EXPECT_EQ(cmos(rtc, 0, 5 * kNsPerSecond), 0x59) << "no updates while SET";
  EXPECT_EQ(cmos(rtc, 10, 5 * kNsPerSecond - 1000) & 0x80, 0);
  cmos_write(rtc, 11, 0x02, 5 * kNsPerSecond);
  const uint64_t after = 6 * kNsPerSecond;
  EXPECT_EQ(cmos(rtc, 0, after), 0x00);
  EXPECT_EQ(cmos(rtc, 4, after), 0x00);
  EXPECT_EQ(cmos(rtc, 7, after), 0x01);
  EXPECT_EQ(cmos(rtc, 8, after), 0x01);
  EXPECT_EQ(cmos(rtc, 9, after), 0x00) << "1999 rolls over to 2000";
  EXPECT_EQ(cmos(rtc, 6, after), 0x07) << "2000-01-01 was a Saturday";
}

TEST(Mc146818Rtc, UpdatesRestartASecondAfterSetClears) {
  Mc146818Rtc rtc(kEpoch);
  const uint64_t resume = 5 * kNsPerSecond + 300 * kMs, update = resume + kNsPerSecond;
  EXPECT_EQ(cmos(rtc, 10, 300 * kMs) & 0x80, 0);  // the RTC has settled its phase before SET
  cmos_write(rtc, 11, 0x82, 300 * kMs);
  cmos_write(rtc, 11, 0x02, resume);
  EXPECT_EQ(cmos(rtc, 10, update - Mc146818Rtc::kUipNs - 1) & 0x80, 0);
  EXPECT_EQ(cmos(rtc, 10, update - Mc146818Rtc::kUipNs) & 0x80, 0x80);
  EXPECT_EQ(cmos(rtc, 0, update - 1), 0x20);
  EXPECT_EQ(cmos(rtc, 0, update), 0x21);
  EXPECT_EQ(cmos(rtc, 12, update), 0x50) << "PF and UF: the update came a second after resuming";
}

TEST(Mc146818Rtc, RateChangeMovesTheNextPeriodicInterrupt) {
  Mc146818Rtc rtc(kEpoch);
  cmos_write(rtc, 11, 0x42, 0);  // PIE at the default 1024 Hz
  EXPECT_EQ(rtc.next_event_ns(0), ns_for(32, 32768));
  cmos_write(rtc, 10, 0x2f, 100'000);  // 2 Hz, on the same divider phase
  EXPECT_EQ(rtc.next_event_ns(100'000), kNsPerSecond / 2);
  EXPECT_FALSE(rtc.irq(kNsPerSecond / 2 - 1));
  EXPECT_TRUE(rtc.irq(kNsPerSecond / 2));
}

TEST(Mc146818Rtc, UpdateEndedInterruptAndRegisterCClearOnRead) {
  Mc146818Rtc rtc(kEpoch);
  cmos_write(rtc, 11, 0x12, 0);  // UIE
  EXPECT_FALSE(rtc.irq(kNsPerSecond - 1));
  EXPECT_EQ(rtc.next_event_ns(kNsPerSecond / 2), kNsPerSecond);
  EXPECT_TRUE(rtc.irq(kNsPerSecond));
  EXPECT_EQ(rtc.next_event_ns(kNsPerSecond), UINT64_MAX) << "the line is up until C is read";
  EXPECT_EQ(cmos(rtc, 12, kNsPerSecond), 0xd0) << "IRQF, UF, and PF: the 1024 Hz flag sets even without PIE";
  EXPECT_FALSE(rtc.irq(kNsPerSecond));
  EXPECT_EQ(cmos(rtc, 12, kNsPerSecond), 0x00);
}

TEST(Mc146818Rtc, PeriodicInterruptAt1024Hz) {
  Mc146818Rtc rtc(kEpoch);
  cmos_write(rtc, 10, 0x26, 0);
  cmos_write(rtc, 11, 0x42, 0);  // PIE
  const uint64_t period = ns_for(32, 32768);  // 976.5625 us
  EXPECT_EQ(rtc.next_event_ns(0), period);
  EXPECT_FALSE(rtc.irq(period - 1));
  EXPECT_TRUE(rtc.irq(period));
  EXPECT_EQ(cmos(rtc, 12, period), 0xc0);
  int interrupts = 0;
  for (uint64_t t = period; t < kNsPerSecond; t += 100'000) {
    if (rtc.irq(t)) {
      ++interrupts;
      cmos(rtc, 12, t);
    }
  }
  EXPECT_EQ(interrupts, 1022);  // periods 2..1023 end inside the first second
}

TEST(Mc146818Rtc, AlarmFiresAtTheMatchingSecond) {
  Mc146818Rtc rtc(kEpoch);  // 22:13:20
  cmos_write(rtc, 1, 0x25, 0);
  cmos_write(rtc, 3, 0x13, 0);
  cmos_write(rtc, 5, 0xc0, 0);  // any hour
  cmos_write(rtc, 11, 0x22, 0);  // AIE
  EXPECT_FALSE(rtc.irq(4 * kNsPerSecond + kNsPerSecond / 2));
  EXPECT_TRUE(rtc.irq(5 * kNsPerSecond));
  EXPECT_EQ(cmos(rtc, 12, 5 * kNsPerSecond), 0xf0) << "IRQF, PF, AF and UF";
}

TEST(Mc146818Rtc, NvramKeepsBytes) {
  Mc146818Rtc rtc(kEpoch);
  for (unsigned i = 14; i < 128; ++i) cmos_write(rtc, uint8_t(i), uint8_t(i * 3), 0);
  for (unsigned i = 14; i < 128; ++i) EXPECT_EQ(cmos(rtc, uint8_t(i), 0), uint8_t(i * 3));
}

}  // namespace
}  // namespace disco::malta
