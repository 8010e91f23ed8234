// The board through physical addresses, as the kernel reaches it after YAMON's hand-over.
#include "monitor/devices/malta_board.h"

#include <gtest/gtest.h>

#include <spdlog/spdlog.h>

#include <random>
#include <string>

namespace disco::malta {
namespace {

constexpr uint32_t kGt = 0x1be00000, kIsa = 0x18000000;
constexpr uint32_t kCfgAddr = kGt + 0xcf8, kCfgData = kGt + 0xcfc, kCause = kGt + 0xc18;
constexpr uint32_t kMasterAbort = 1u << 18;

struct Board : ::testing::Test {
  std::string console;
  MaltaBoard board{BoardConfig{.rtc_epoch_seconds = 1700000000}, [this](uint8_t b) { console += char(b); }};
  uint64_t now = 0;

  Board() { board.apply_yamon_state(); }
  uint32_t rd(uint32_t pa, unsigned size = 4) {
    uint32_t v = 0;
    EXPECT_TRUE(board.read(pa, size, v, now)) << std::hex << pa;
    return v;
  }
  void wr(uint32_t pa, uint32_t v, unsigned size = 4) { EXPECT_TRUE(board.write(pa, size, v, now)) << std::hex << pa; }
  uint8_t inb(uint16_t port) { return uint8_t(rd(kIsa + port, 1)); }
  void outb(uint16_t port, uint8_t v) { wr(kIsa + port, v, 1); }
  // gt64xxx_pci0_pcibios_config_access(): clear cause, address, data, check cause.
  std::optional<uint32_t> config_read(unsigned devfn, unsigned where) {
    wr(kCause, ~kMasterAbort);
    wr(kCfgAddr, 0x80000000u | devfn << 8 | (where & ~3u));
    const uint32_t data = rd(kCfgData);
    if (rd(kCause) & kMasterAbort) {
      wr(kCause, ~kMasterAbort);
      return std::nullopt;
    }
    return data;
  }
  bool config_write(unsigned devfn, unsigned where, uint32_t value) {
    wr(kCause, ~kMasterAbort);
    wr(kCfgAddr, 0x80000000u | devfn << 8 | (where & ~3u));
    wr(kCfgData, value);
    const bool aborted = rd(kCause) & kMasterAbort;
    wr(kCause, ~kMasterAbort);
    return !aborted;
  }
};

TEST(MaltaBoardReset, GtRegistersStartAt0x14000000AndMoveWithIsd) {
  MaltaBoard board(BoardConfig{}, nullptr);
  uint32_t v = 0;
  ASSERT_TRUE(board.read(0x14000068, 4, v, 0));
  EXPECT_EQ(v, 0xa0u);
  ASSERT_TRUE(board.read(0x14000048, 4, v, 0));
  EXPECT_EQ(v, 0x80u) << "PCI I/O window at 0x10000000 after reset";
  ASSERT_TRUE(board.write(0x14000068, 4, 0xdf, 0));
  ASSERT_TRUE(board.read(0x1be00068, 4, v, 0));
  EXPECT_EQ(v, 0xdfu);
  ASSERT_TRUE(board.read(0x14000068, 4, v, 0));
  EXPECT_EQ(v, 0xffffffffu) << "nothing is left at the old place";
}

TEST_F(Board, YamonWindowsAsLinuxDerivesThem) {
  // mips_pcibios_init(): end = (HD & 0x7f) | (LD & ~0x7f), shifted by 21.
  const auto end = [&](uint32_t ld, uint32_t hd) { return ((rd(kGt + hd) & 0x7f) | (rd(kGt + ld) & ~0x7fu)) << 21 | 0x1fffff; };
  EXPECT_EQ(rd(kGt + 0x48) << 21, 0x18000000u);
  EXPECT_EQ(end(0x48, 0x50), 0x181fffffu);
  EXPECT_EQ(rd(kGt + 0x58) << 21, 0x10000000u);
  EXPECT_EQ(end(0x58, 0x60), 0x17ffffffu);
  EXPECT_EQ(rd(kGt + 0x80) << 21, 0x18200000u);
  EXPECT_EQ(end(0x80, 0x88), 0x1bdfffffu);
  EXPECT_EQ(rd(kGt + 0xf0), 0u) << "I/O remapped to PCI address 0";
  EXPECT_EQ(rd(kGt + 0xf8), rd(kGt + 0x58)) << "memory windows map 1:1";
}

TEST_F(Board, PciEnumerationFindsTheGtAndPiix4) {
  EXPECT_EQ(config_read(0x00, 0x00), 0x462011abu);
  EXPECT_EQ(config_read(0x50, 0x00), 0x71108086u);
  EXPECT_EQ(config_read(0x51, 0x00), 0x71118086u);
  EXPECT_EQ(config_read(0x52, 0x00), 0x71128086u);
  EXPECT_EQ(config_read(0x53, 0x00), 0x71138086u);
  EXPECT_EQ(*config_read(0x50, 0x08) >> 8, 0x060100u);
  EXPECT_EQ(*config_read(0x50, 0x0c) >> 16 & 0x80, 0x80u) << "PIIX4 is multi-function";
  EXPECT_EQ(config_read(0x50, 0x60), 0x0b0b0a0au) << "PIRQ routing";
}

TEST_F(Board, MissingDeviceIsAMasterAbort) {
  EXPECT_EQ(config_read(0x08, 0x00), std::nullopt);  // slot 1, empty
  wr(kCfgAddr, 0x80000000u | 0x08 << 8);
  EXPECT_EQ(rd(kCfgData), 0xffffffffu);
  EXPECT_EQ(rd(kCause) & kMasterAbort, kMasterAbort);
  wr(kCause, ~kMasterAbort);
  EXPECT_EQ(rd(kCause) & kMasterAbort, 0u);
  EXPECT_EQ(config_read(0x00, 0x00), 0x462011abu) << "a present device clears nothing it should not";
  EXPECT_FALSE(config_write(0x10 << 3, 0x10, 0)) << "writes to a missing device abort too";
  wr(kCfgAddr, 0x80010000u);  // bus 1: no bridge behind the GT
  EXPECT_EQ(rd(kCfgData), 0xffffffffu);
}

TEST_F(Board, BarSizing) {
  const auto size_of = [&](unsigned devfn, unsigned bar) {
    const unsigned where = 0x10 + 4 * bar;
    const uint32_t old = *config_read(devfn, where);
    config_write(devfn, where, 0xffffffff);
    const uint32_t probe = *config_read(devfn, where);
    config_write(devfn, where, old);
    EXPECT_EQ(*config_read(devfn, where), old);
    const uint32_t mask = (probe & 1) ? (probe & ~3u) : (probe & ~15u);
    return std::pair{~mask + 1, probe & 1};
  };
  EXPECT_EQ(size_of(0x51, 4), (std::pair{16u, 1u})) << "IDE bus master: 16 bytes of I/O";
  EXPECT_EQ(size_of(0x52, 4), (std::pair{32u, 1u})) << "UHCI: 32 bytes of I/O";
  EXPECT_EQ(size_of(0x00, 4), (std::pair{4096u, 0u})) << "GT internal registers in memory";
  EXPECT_EQ(size_of(0x00, 2), (std::pair{32u << 20, 0u})) << "CS[2:0]";
  EXPECT_EQ(size_of(0x51, 0).first, 0u) << "legacy IDE: BAR0 not implemented";
  // Linux's fix-up writes the GT's BAR4 with the register base.
  config_write(0x00, 0x20, 0x1be00000);
  EXPECT_EQ(config_read(0x00, 0x20), 0x1be00000u);
}

TEST_F(Board, Piix4PowerOff) {
  uint32_t v = 0;
  board.read(kIsa + 0x1004, 2, v, now);
  EXPECT_EQ(v, 0xffffu) << "PM block not decoded before PMBA and PMREGMISC are set";
  // malta_piix_func3_base_fixup().
  const uint32_t pmba = *config_read(0x53, 0x40);
  config_write(0x53, 0x40, (pmba & 0xffff0000) | 0x1000);
  const uint32_t misc = *config_read(0x53, 0x80);
  config_write(0x53, 0x80, misc | 1);
  EXPECT_EQ(rd(kIsa + 0x1000, 2), 0u);
  EXPECT_EQ(board.power_event(), PowerEvent::None);
  wr(kIsa + 0x1004, 0x2000, 2);  // piix4_poweroff(): SUS_TYP soft-off | SUS_EN
  EXPECT_EQ(board.power_event(), PowerEvent::PowerOff);
}

TEST_F(Board, Piix4PmTimerRunsAt3_58MHz) {
  config_write(0x53, 0x40, 0x1001);
  config_write(0x53, 0x80, 1);
  now = 1'000'000'000;
  EXPECT_EQ(rd(kIsa + 0x1008), 3579545u);
}

TEST_F(Board, PmBlockFollowsItsBaseRegister) {
  config_write(0x53, 0x40, 0x1001);
  config_write(0x53, 0x80, 1);
  now = 1'000'000'000;
  EXPECT_EQ(rd(kIsa + 0x1008), 3579545u);
  config_write(0x53, 0x40, 0x2001);
  EXPECT_EQ(rd(kIsa + 0x1008), 0xffffffffu) << "nothing is left at the old base";
  EXPECT_EQ(rd(kIsa + 0x2008), 3579545u);
  config_write(0x53, 0x80, 0);
  EXPECT_EQ(rd(kIsa + 0x2008), 0xffffffffu) << "PMREGMISC bit 0 turns the decode off";
}

TEST_F(Board, IoWindowMovedAfterUseDecodesAtItsNewPlace) {
  outb(0x70, 0x0d);
  EXPECT_EQ(inb(0x71), 0x80);
  // I/O window to 0x1c000000-0x1c1fffff; writing the low decode register loads the remap with
  // it, so the window maps 1:1 (PCI I/O 0x1c000000 and up: no ISA device) until remapped to 0.
  wr(kGt + 0x48, 0x1c000000 >> 21);
  wr(kGt + 0x50, (0x1c1fffff >> 21) & 0x7f);
  const uint64_t unclaimed = board.unclaimed_accesses();
  EXPECT_EQ(rd(0x1c000071, 1), 0xffu);
  wr(kGt + 0xf0, 0);
  ASSERT_TRUE(board.write(0x1c000070, 1, 0x0d, now));
  EXPECT_EQ(rd(0x1c000071, 1), 0x80u);
  EXPECT_EQ(inb(0x71), 0xff) << "the old window decodes nothing";
  EXPECT_EQ(board.unclaimed_accesses(), unclaimed + 2);
}

TEST_F(Board, SoftResetRevisionAndJumpers) {
  EXPECT_EQ(rd(0x1fc00010), 0x00000420u);
  EXPECT_EQ((rd(0x1f000210) >> 2) & 7, 0u) << "33 MHz PCI clock";
  wr(0x1f000418, 'L');
  EXPECT_EQ(board.display()[0], 'L');
  wr(0x1f000500, 0x41);
  EXPECT_EQ(board.power_event(), PowerEvent::None);
  wr(0x1f000500, 0x42);
  EXPECT_EQ(board.power_event(), PowerEvent::Reset);
}

TEST_F(Board, ConsoleOnCom1WithIrq4ThroughIack) {
  // i8259 init as Linux does, IRQ4 unmasked.
  for (auto [p, v] : {std::pair{0x21, 0xff}, {0xa1, 0xff}, {0x20, 0x11}, {0x21, 0x00}, {0x21, 0x04}, {0x21, 0x01},
                      {0xa0, 0x11}, {0xa1, 0x08}, {0xa1, 0x02}, {0xa1, 0x01}, {0x21, 0xeb}, {0xa1, 0xff}}) {
    outb(uint16_t(p), uint8_t(v));
  }
  for (char c : std::string("ok\n")) outb(0x3f8, uint8_t(c));
  EXPECT_EQ(console, "ok\n");
  outb(0x3f9, 0x01);  // RX interrupt
  board.console_input('x');
  EXPECT_EQ(board.hw_interrupts(now), 0) << "OUT2 gates the COM1 interrupt";
  outb(0x3fc, 0x08);
  EXPECT_EQ(board.hw_interrupts(now), 1) << "IP2";
  EXPECT_EQ(rd(kGt + 0xc34) & 0xff, 4u) << "the IACK cycle returns the IRQ number";
  EXPECT_EQ(inb(0x3f8), 'x');
  outb(0x20, 0x64);
  EXPECT_EQ(board.hw_interrupts(now), 0);
}

TEST_F(Board, HostInputRaisesCom1WithoutAGuestAccess) {
  for (auto [p, v] : {std::pair{0x20, 0x11}, {0x21, 0x00}, {0x21, 0x04}, {0x21, 0x01}, {0x21, 0xef}}) outb(uint16_t(p), uint8_t(v));
  outb(0x3f9, 0x01);  // RX interrupt
  outb(0x3fc, 0x08);  // OUT2
  EXPECT_EQ(board.hw_interrupts(now), 0);
  board.console_input('x');
  EXPECT_EQ(board.hw_interrupts(now), 1);
}

TEST_F(Board, Com1LineThroughReinitAckAndThre) {
  for (auto [p, v] : {std::pair{0x20, 0x11}, {0x21, 0x00}, {0x21, 0x04}, {0x21, 0x01}, {0x21, 0xff}}) outb(uint16_t(p), uint8_t(v));
  outb(0x3fc, 0x08);
  outb(0x3f9, 0x02);  // THRE interrupt: up at once, IRQ4 still masked
  EXPECT_EQ(board.hw_interrupts(now), 0);
  // ICW1 restarts the edge sense: the line that stayed up is seen rising again.
  for (auto [p, v] : {std::pair{0x20, 0x11}, {0x21, 0x00}, {0x21, 0x04}, {0x21, 0x01}, {0x21, 0xef}}) outb(uint16_t(p), uint8_t(v));
  EXPECT_EQ(board.hw_interrupts(now), 1);
  EXPECT_EQ(rd(kGt + 0xc34) & 0xff, 4u);
  outb(0x20, 0x64);
  EXPECT_EQ(board.hw_interrupts(now), 0) << "the line stayed up: no new edge";
  EXPECT_EQ(inb(0x3fa) & 0x0f, 0x02) << "IIR reports THRE and clears it";
  outb(0x3f8, 'a');  // THR empties at once: THRE rises again
  EXPECT_EQ(board.hw_interrupts(now), 1);
}

TEST_F(Board, RtcUpdateInterruptAndRateChangeReachHwInterrupts) {
  for (auto [p, v] : {std::pair{0x20, 0x11}, {0x21, 0x00}, {0x21, 0x04}, {0x21, 0x01}, {0xa0, 0x11}, {0xa1, 0x08},
                      {0xa1, 0x02}, {0xa1, 0x01}, {0x21, 0xfb}, {0xa1, 0xfe}}) {
    outb(uint16_t(p), uint8_t(v));
  }
  outb(0x70, 0x0b);
  outb(0x71, 0x12);  // UIE
  EXPECT_EQ(board.next_event_ns(now), 1'000'000'000u);
  EXPECT_EQ(board.hw_interrupts(999'999'999), 0);
  now = 1'000'000'000;
  EXPECT_EQ(board.hw_interrupts(now), 1);
  EXPECT_EQ(rd(kGt + 0xc34) & 0xff, 8u);
  outb(0x70, 0x0c);
  EXPECT_EQ(inb(0x71), 0xd0) << "IRQF, PF (1024 Hz, no PIE) and UF";
  outb(0xa0, 0x60);
  outb(0x20, 0x62);
  EXPECT_EQ(board.hw_interrupts(now), 0);
  // PIE at 1024 Hz, then 2 Hz before the first period ends: the board's next event moves too.
  outb(0x70, 0x0b);
  outb(0x71, 0x42);
  EXPECT_EQ(board.next_event_ns(now), 1'000'976'563u);
  now += 100'000;
  outb(0x70, 0x0a);
  outb(0x71, 0x2f);
  EXPECT_EQ(board.next_event_ns(now), 1'500'000'000u);
  EXPECT_EQ(board.hw_interrupts(1'000'976'563), 0);
  EXPECT_EQ(board.hw_interrupts(1'500'000'000), 1);
}

TEST_F(Board, RtcPeriodicInterruptWakesWait) {
  for (auto [p, v] : {std::pair{0x20, 0x11}, {0x21, 0x00}, {0x21, 0x04}, {0x21, 0x01}, {0xa0, 0x11}, {0xa1, 0x08},
                      {0xa1, 0x02}, {0xa1, 0x01}, {0x21, 0xfb}, {0xa1, 0xfe}}) {
    outb(uint16_t(p), uint8_t(v));
  }
  EXPECT_EQ(board.next_event_ns(now), UINT64_MAX);
  outb(0x70, 0x0b);
  outb(0x71, 0x42);  // PIE at the default 1024 Hz
  const uint64_t wake = board.next_event_ns(now);
  EXPECT_EQ(wake, 976563u);
  EXPECT_EQ(board.hw_interrupts(wake - 1), 0);
  now = wake;
  EXPECT_EQ(board.hw_interrupts(now), 1);
  EXPECT_EQ(rd(kGt + 0xc34) & 0xff, 8u);
  outb(0x70, 0x0c);
  EXPECT_EQ(inb(0x71), 0xc0);
  outb(0xa0, 0x60);
  outb(0x20, 0x62);
  EXPECT_EQ(board.hw_interrupts(now), 0);
}

TEST_F(Board, PitIrq0CountsOnlyWhenUnmasked) {
  for (auto [p, v] : {std::pair{0x20, 0x11}, {0x21, 0x00}, {0x21, 0x04}, {0x21, 0x01}, {0x21, 0xff}}) outb(uint16_t(p), uint8_t(v));
  outb(0x43, 0x34);
  outb(0x40, 0x9c);
  outb(0x40, 0x2e);
  EXPECT_EQ(board.next_event_ns(now), UINT64_MAX) << "IRQ0 is masked";
  outb(0x21, 0xfe);
  const uint64_t wake = board.next_event_ns(now);
  EXPECT_EQ(wake, 10'000'151u);  // 11932 ticks of 1.193182 MHz
  EXPECT_EQ(board.hw_interrupts(wake), 1);
}

TEST_F(Board, I8042ProbeAnswers) {
  outb(0x64, 0xaa);
  EXPECT_EQ(inb(0x64) & 0x01, 0x01);
  EXPECT_EQ(inb(0x60), 0x55);
  outb(0x64, 0x20);
  const uint8_t ctr = inb(0x60);
  outb(0x64, 0x60);
  outb(0x60, ctr & ~0x01);
  outb(0x64, 0x20);
  EXPECT_EQ(inb(0x60), ctr & ~0x01);
  outb(0x64, 0xd3);  // AUX loopback
  outb(0x60, 0x5a);
  EXPECT_EQ(inb(0x64) & 0x21, 0x21);
  EXPECT_EQ(inb(0x60), 0x5a);
  outb(0x60, 0xf2);  // to the (absent) keyboard
  EXPECT_EQ(inb(0x64) & 0x41, 0x41) << "time-out";
  EXPECT_EQ(inb(0x60), 0xff);
}

TEST_F(Board, DmaMaskWritesAreAccepted) {
  outb(0xd4, 0x00);  // DMA-2 single mask: unmask channel 4 (cascade)
  outb(0x0a, 0x05);
  outb(0x81, 0x12);
  EXPECT_EQ(inb(0x81), 0x12);
  EXPECT_EQ(board.unclaimed_accesses(), 0u);
}

TEST_F(Board, UnclaimedAccessesAndBusErrors) {
  EXPECT_EQ(inb(0x278), 0xff);  // no parallel port
  EXPECT_EQ(inb(0x278), 0xff);
  EXPECT_EQ(rd(0x10000000), 0xffffffffu) << "PCI memory: nobody answers";
  EXPECT_EQ(rd(kCause) & kMasterAbort, kMasterAbort);
  EXPECT_EQ(board.unclaimed_accesses(), 3u);
  uint32_t v = 0;
  EXPECT_FALSE(board.read(0x20000000, 4, v, now));
  EXPECT_FALSE(board.write(0x40000000, 4, 0, now));
}

TEST_F(Board, CbusUartProbesWithRegisterShift3) {
  wr(0x1f000900 + (7 << 3), 0x5a);
  EXPECT_EQ(rd(0x1f000900 + (7 << 3)), 0x5au);
  wr(0x1f000900 + (2 << 3), 0x01);
  EXPECT_EQ(rd(0x1f000900 + (2 << 3)) >> 6, 3u);
  wr(0x1f000900 + (1 << 3), 0x02);
  EXPECT_EQ(board.hw_interrupts(now), 1u << 2) << "IP4";
}

// Random register traffic over every device window: the board must survive it (STYLE habit 9).
TEST(MaltaBoardFuzz, RandomRegisterTrafficNeverCrashes) {
  const auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::err);  // thousands of once-per-address warnings are expected here
  MaltaBoard board(BoardConfig{}, [](uint8_t) {});
  board.apply_yamon_state();
  std::mt19937 rng(12345);
  const uint32_t bases[] = {0x1be00000, 0x18000000, 0x18001000, 0x1f000000, 0x1f000900, 0x1fc00000, 0x10000000};
  uint64_t now = 0;
  for (int i = 0; i < 200000; ++i) {
    const unsigned size = 1u << (rng() % 3);
    const uint32_t pa = (bases[rng() % std::size(bases)] + rng() % 0x1000) & ~(size - 1);
    uint32_t v = rng();
    if (rng() & 1) board.write(pa, size, v, now);
    else board.read(pa, size, v, now);
    now += rng() % 100000;
    board.hw_interrupts(now);
    if (board.next_event_ns(now) < now) FAIL() << "next event in the past";
  }
  EXPECT_GT(board.unclaimed_accesses(), 0u);
  spdlog::set_level(level);
}

TEST_F(Board, IsaIoPortsTakeTheirBusTimeAndNothingElseDoes) {
  EXPECT_EQ(board.bus_ns(0x18000070), 1000u) << "RTC index port, through the PCI I/O window";
  EXPECT_EQ(board.bus_ns(0x180003f8), 1000u) << "COM1";
  EXPECT_EQ(board.bus_ns(0x1be00000), 0u) << "GT-64120 registers";
  EXPECT_EQ(board.bus_ns(0x1f000900), 0u) << "the FPGA's CBUS UART";
  EXPECT_EQ(board.bus_ns(0x10000000), 0u) << "PCI memory";
  MaltaBoard fast(BoardConfig{.isa_io_ns = 0}, nullptr);
  fast.apply_yamon_state();
  EXPECT_EQ(fast.bus_ns(0x18000070), 0u);
}

}  // namespace
}  // namespace disco::malta
