// The 16550A through the register sequences of Linux's 8250 driver (8250_port.c).
#include "monitor/devices/uart16550.h"

#include <gtest/gtest.h>

#include <vector>

namespace disco::malta {
namespace {

enum : unsigned { kRbr = 0, kIer = 1, kIir = 2, kFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6, kScr = 7 };

TEST(Uart16550, AutoconfigIdentifiesA16550A) {
  Uart16550 uart(nullptr);
  // The existence test on IER.
  uart.write(kIer, 0);
  EXPECT_EQ(uart.read(kIer) & 0x0f, 0);
  uart.write(kIer, 0x0f);
  EXPECT_EQ(uart.read(kIer) & 0x0f, 0x0f);
  uart.write(kIer, 0);
  // Scratch register.
  uart.write(kScr, 0xa5);
  EXPECT_EQ(uart.read(kScr), 0xa5);
  // FIFO detection: IIR bits 7:6 = 11 once FIFOs are on.
  uart.write(kLcr, 0xbf);
  uart.write(kFcr, 0);  // EFR on a 16650, FCR here
  uart.write(kLcr, 0);
  EXPECT_EQ(uart.read(kIir) >> 6, 0);
  uart.write(kFcr, 0x01);
  EXPECT_EQ(uart.read(kIir) >> 6, 3);
  // No EFR under either configuration mode: offset 2 still reads IIR, never 0.
  uart.write(kLcr, 0x80);
  EXPECT_NE(uart.read(kIir), 0);
  uart.write(kLcr, 0xbf);
  EXPECT_NE(uart.read(kIir), 0);
  // Not a 16750: IIR bit 5 stays clear even with FCR bit 5.
  uart.write(kLcr, 0);
  uart.write(kFcr, 0x21);
  EXPECT_EQ(uart.read(kIir) >> 5, 6);
  // Not an XScale: IER bit 6 does not stick.
  uart.write(kIer, 0x40);
  EXPECT_EQ(uart.read(kIer) & 0x40, 0);
}

TEST(Uart16550, LoopbackWiresModemLines) {
  Uart16550 uart(nullptr);
  EXPECT_EQ(uart.read(kMsr) & 0xf0, 0xb0) << "CTS, DSR, DCD from an attached terminal";
  uart.write(kMcr, 0x10 | 0x0a);  // the 8250 loopback test
  EXPECT_EQ(uart.read(kMsr) & 0xf0, 0x90);
  uart.write(kRbr, 0x5a);
  EXPECT_EQ(uart.read(kLsr) & 0x01, 0x01);
  EXPECT_EQ(uart.read(kRbr), 0x5a);
  EXPECT_EQ(uart.read(kLsr) & 0x01, 0x00);
}

TEST(Uart16550, DivisorLatch) {
  Uart16550 uart(nullptr);
  uart.write(kLcr, 0x83);
  uart.write(0, 3);  // 38400 baud
  uart.write(1, 0);
  EXPECT_EQ(uart.read(0), 3);
  EXPECT_EQ(uart.read(1), 0);
  uart.write(kLcr, 0x03);
  uart.write(kIer, 0x05);
  EXPECT_EQ(uart.read(kIer), 0x05);
  uart.write(kLcr, 0x83);
  EXPECT_EQ(uart.read(0), 3) << "IER writes did not touch the latch";
}

TEST(Uart16550, TransmitAndThreInterrupt) {
  std::vector<uint8_t> out;
  Uart16550 uart([&](uint8_t b) { out.push_back(b); });
  EXPECT_EQ(uart.read(kLsr) & 0x60, 0x60);
  EXPECT_FALSE(uart.irq());
  uart.write(kIer, 0x02);
  EXPECT_TRUE(uart.irq()) << "enabling THRI with THR empty interrupts at once";
  EXPECT_EQ(uart.read(kIir) & 0x0f, 0x02);
  EXPECT_FALSE(uart.irq()) << "reading IIR cleared the THRE interrupt";
  uart.write(kRbr, 'h');
  uart.write(kRbr, 'i');
  EXPECT_EQ(out, (std::vector<uint8_t>{'h', 'i'}));
  EXPECT_TRUE(uart.irq());
  uart.write(kIer, 0);
  EXPECT_FALSE(uart.irq());
}

TEST(Uart16550, ReceiveInterruptFromHostInput) {
  Uart16550 uart(nullptr);
  uart.write(kFcr, 0xc1);  // FIFO, trigger 14
  uart.write(kIer, 0x01);
  EXPECT_FALSE(uart.irq());
  uart.host_input('a');
  uart.host_input('b');
  EXPECT_TRUE(uart.irq());
  EXPECT_EQ(uart.read(kIir) & 0x0f, 0x0c) << "below the trigger level: character timeout";
  EXPECT_EQ(uart.read(kRbr), 'a');
  EXPECT_EQ(uart.read(kRbr), 'b');
  EXPECT_FALSE(uart.irq());
  EXPECT_EQ(uart.read(kIir), 0xc1);
  for (int i = 0; i < 20; ++i) uart.host_input(uint8_t('0' + i));
  EXPECT_EQ(uart.read(kIir) & 0x0f, 0x04) << "16 bytes fill the FIFO past the trigger";
  for (int i = 0; i < 20; ++i) EXPECT_EQ(uart.read(kRbr), '0' + i) << "held bytes follow without loss";
  EXPECT_EQ(uart.read(kLsr) & 0x03, 0x00);
}

TEST(Uart16550, ModemStatusDeltas) {
  Uart16550 uart(nullptr);
  uart.write(kIer, 0x08);
  uart.write(kMcr, 0x10);  // loopback with all outputs low: CTS, DSR, DCD drop
  EXPECT_TRUE(uart.irq());
  EXPECT_EQ(uart.read(kIir) & 0x0f, 0x00);
  EXPECT_EQ(uart.read(kMsr), 0x0b);
  EXPECT_EQ(uart.read(kMsr), 0x00);
  EXPECT_FALSE(uart.irq());
}

}  // namespace
}  // namespace disco::malta
