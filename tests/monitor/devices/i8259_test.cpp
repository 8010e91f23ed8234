// The i8259 pair driven as Linux's drivers/irqchip/irq-i8259.c drives it on Malta.
#include "monitor/devices/i8259.h"

#include <gtest/gtest.h>

namespace disco::malta {
namespace {

// init_8259A(): mask all, ICW1-4 to master and slave, restore masks.
void linux_init(I8259Pair& pic, uint8_t master_mask = 0xfb, uint8_t slave_mask = 0xff) {
  pic.write(0x21, 0xff);
  pic.write(0xa1, 0xff);
  for (auto [cmd, data, base, cascade] : {std::tuple{0x20, 0x21, 0x00, 0x04}, std::tuple{0xa0, 0xa1, 0x08, 0x02}}) {
    pic.write(uint16_t(cmd), 0x11);
    pic.write(uint16_t(data), uint8_t(base));
    pic.write(uint16_t(data), uint8_t(cascade));
    pic.write(uint16_t(data), 0x01);
  }
  pic.write(0x21, master_mask);
  pic.write(0xa1, slave_mask);
}

uint8_t read_isr(I8259Pair& pic, uint16_t cmd) {
  pic.write(cmd, 0x0b);
  const uint8_t isr = pic.read(cmd);
  pic.write(cmd, 0x0a);
  return isr;
}

TEST(I8259, MasksAreReadBackAndHoldOffRequests) {
  I8259Pair pic;
  linux_init(pic);
  EXPECT_EQ(pic.read(0x21), 0xfb);
  EXPECT_EQ(pic.read(0xa1), 0xff);
  pic.set_irq(4, true);
  EXPECT_FALSE(pic.intr());
  pic.write(0x21, 0xeb);  // unmask IRQ4
  EXPECT_TRUE(pic.intr());
}

TEST(I8259, IackThenSpecificEoiAsLinuxDoes) {
  I8259Pair pic;
  linux_init(pic, 0xeb);
  pic.set_irq(4, true);
  EXPECT_EQ(pic.read(0x20) & 0x10, 0x10);  // IRR
  EXPECT_EQ(pic.acknowledge(), 4);
  EXPECT_FALSE(pic.intr());
  EXPECT_EQ(read_isr(pic, 0x20), 0x10);
  pic.set_irq(4, false);
  // mask_and_ack_8259A: mask, specific EOI.
  pic.write(0x21, 0xfb);
  pic.write(0x20, 0x60 + 4);
  EXPECT_EQ(read_isr(pic, 0x20), 0x00);
  EXPECT_FALSE(pic.intr());
}

TEST(I8259, SlaveCascadesOnIrq2) {
  I8259Pair pic;
  linux_init(pic, 0xfb, 0xfe);  // IRQ8 unmasked
  pic.set_irq(8, true);
  EXPECT_TRUE(pic.intr());
  EXPECT_EQ(pic.acknowledge(), 8);
  EXPECT_EQ(read_isr(pic, 0x20), 0x04);
  EXPECT_EQ(read_isr(pic, 0xa0), 0x01);
  pic.set_irq(8, false);
  pic.write(0xa0, 0x60);
  pic.write(0x20, 0x62);
  EXPECT_EQ(read_isr(pic, 0x20), 0);
  EXPECT_EQ(read_isr(pic, 0xa0), 0);
  // A second slave request arriving while the first is in service comes through after the EOIs.
  pic.set_irq(8, true);
  ASSERT_EQ(pic.acknowledge(), 8);
  pic.set_irq(8, false);
  pic.write(0xa1, 0xfc);
  pic.set_irq(9, true);
  EXPECT_FALSE(pic.intr()) << "IRQ9 is lower priority than IRQ8 in service";
  pic.write(0xa0, 0x60);
  pic.write(0x20, 0x62);
  EXPECT_TRUE(pic.intr());
  EXPECT_EQ(pic.acknowledge(), 9);
}

TEST(I8259, PriorityAndNonSpecificEoi) {
  I8259Pair pic;
  linux_init(pic, 0x00, 0xff);
  pic.set_irq(3, true);
  ASSERT_EQ(pic.acknowledge(), 3);
  pic.set_irq(5, true);
  EXPECT_FALSE(pic.intr()) << "IRQ5 waits behind IRQ3 in service";
  pic.set_irq(1, true);
  EXPECT_TRUE(pic.intr()) << "IRQ1 preempts IRQ3";
  ASSERT_EQ(pic.acknowledge(), 1);
  pic.write(0x20, 0x20);  // non-specific EOI ends IRQ1, the highest in service
  EXPECT_EQ(read_isr(pic, 0x20), 0x08);
  pic.write(0x20, 0x20);
  EXPECT_EQ(pic.acknowledge(), 5);
}

TEST(I8259, SpuriousAcknowledgeIsIrq7WithoutIsr) {
  I8259Pair pic;
  linux_init(pic);
  EXPECT_EQ(pic.acknowledge(), 7);
  EXPECT_EQ(read_isr(pic, 0x20), 0);
}

TEST(I8259, PollModeReadsAndAcknowledges) {
  I8259Pair pic;
  linux_init(pic, 0x00);
  pic.write(0x20, 0x0c);  // OCW3 poll
  EXPECT_EQ(pic.read(0x20), 0x00);
  pic.set_irq(6, true);
  pic.write(0x20, 0x0c);
  EXPECT_EQ(pic.read(0x20), 0x86);
  EXPECT_EQ(read_isr(pic, 0x20), 0x40);
}

TEST(I8259, ElcrMakesALineLevelTriggered) {
  I8259Pair pic;
  linux_init(pic, 0x00, 0x00);
  pic.write(0x4d1, 0xff);
  EXPECT_EQ(pic.read(0x4d1), 0xde) << "IRQ8 and IRQ13 stay edge-triggered";
  pic.write(0x4d0, 0xff);
  EXPECT_EQ(pic.read(0x4d0), 0xf8);
  pic.set_irq(10, true);
  ASSERT_EQ(pic.acknowledge(), 10);
  pic.write(0xa0, 0x62);
  pic.write(0x20, 0x62);
  EXPECT_TRUE(pic.intr()) << "a level request still asserted is requested again";
  pic.set_irq(10, false);
  EXPECT_FALSE(pic.intr());
  // IRQ1 is always edge-triggered: it needs a new rising edge.
  pic.set_irq(1, true);
  ASSERT_EQ(pic.acknowledge(), 1);
  pic.write(0x20, 0x61);
  EXPECT_FALSE(pic.intr());
}

}  // namespace
}  // namespace disco::malta
