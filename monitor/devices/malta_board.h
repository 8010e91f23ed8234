// The MIPS Malta board as the guest sees it: the GT-64120 system controller and its PCI bus,
// the PIIX4 south bridge (i8259 pair, i8254, MC146818 RTC, DMA, power management), the
// super-I/O's COM1/COM2 and keyboard controller, and the board FPGA with its CBUS UART. One board
// per VM, owned by it; the vcpu drives it through the calls below and nothing runs on its own:
// all time is the guest's virtual time now_ns (STYLE habits 3 and 5).
//
// Physical map (CPU view; kseg1 or TLB already translated):
//   GT-64120 registers   isd_base (0x14000000 at reset, 0x1be00000 after YAMON) .. +4 KiB
//   PCI I/O window       0x18000000-0x181fffff after YAMON: ISA/PCI port N at 0x18000000 + N
//   PCI MEM0/MEM1        0x10000000-0x17ffffff, 0x18200000-0x1bdfffff after YAMON: no devices
//   FPGA                 0x1f000000-0x1f0fffff (CBUS UART at 0x1f000900, register shift 3)
//   revision word        0x1fc00010
// Below 0x20000000 the GT-64120 completes every cycle (unclaimed reads give all-ones); at and
// above 0x20000000 nothing answers and the access is a bus error.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "monitor/devices/gt64120.h"
#include "monitor/devices/guest_errors.h"
#include "monitor/devices/i8042.h"
#include "monitor/devices/i8237_dma.h"
#include "monitor/devices/i8254.h"
#include "monitor/devices/i8259.h"
#include "monitor/devices/malta_fpga.h"
#include "monitor/devices/mc146818_rtc.h"
#include "monitor/devices/pci_bus.h"
#include "monitor/devices/piix4_pm.h"
#include "monitor/devices/uart16550.h"

namespace disco::malta {

struct BoardConfig {
  int64_t rtc_epoch_seconds = 0;  // Unix time the RTC shows at guest time 0 (the caller passes host time, or a fixed value for reproducible runs)
  // How long one CPU access to an ISA I/O port (the PCI I/O window: PIIX4's PIC, PIT, RTC, the
  // COM ports) takes: an 8-bit ISA I/O cycle is about a microsecond, the delay Linux's outb_p to
  // port 0x80 relies on. A guest polling a device spins that much guest time per access. 0: none.
  uint32_t isa_io_ns = 1000;
};

enum class PowerEvent : uint8_t { None, PowerOff, Reset };

class MaltaBoard {
 public:
  static constexpr uint32_t kBusErrorAbove = 0x20000000;  // the GT-64120 decodes the low 512 MiB

  // console_out gets every byte the guest transmits on COM1 (ttyS0), as it is written.
  MaltaBoard(const BoardConfig& config, std::function<void(uint8_t)> console_out);
  // A CPU access to physical address `pa` that is not RAM. size is 1, 2 or 4 and pa is aligned
  // to it; values are little-endian. Returns false for a bus error (the CPU raises DBE/IBE).
  bool read(uint32_t pa, unsigned size, uint32_t& out, uint64_t now_ns);
  bool write(uint32_t pa, unsigned size, uint32_t value, uint64_t now_ns);
  // The bus time of a CPU access to `pa` (BoardConfig::isa_io_ns for the ISA I/O ports, else 0),
  // which the vcpu adds to its clock.
  uint32_t bus_ns(uint32_t pa) const {
    const auto pci = gt_.decode(pa);
    return pci && pci->space == Gt64120::Space::Io ? isa_io_ns_ : 0;
  }
  // The CPU's hardware interrupt inputs: bit 0 = Cause.IP2 (i8259 INTR), bit 2 = IP4 (CBUS UART).
  uint8_t hw_interrupts(uint64_t now_ns);
  // The next guest time at which hw_interrupts() can change without a CPU access, or UINT64_MAX.
  // Host keystrokes (console_input) are not foreseen here: they arrive when they arrive.
  uint64_t next_event_ns(uint64_t now_ns);
  // Thread-safe: called from the terminal-reader thread with the user's keystrokes for COM1.
  void console_input(uint8_t byte);
  // Puts the GT64120 where YAMON leaves it (MALTA.md "Boot contract").
  void apply_yamon_state();
  PowerEvent power_event() const;
  uint64_t unclaimed_accesses() const { return unclaimed_.count(); }
  // Guest errors the devices counted (bad commands, writes to read-only registers...).
  uint64_t guest_errors() const;
  std::string display() const { return fpga_.display(); }

 private:
  static constexpr unsigned kCom1Irq = 4, kCom2Irq = 3, kRtcIrq = 8, kPitIrq = 0, kKeyboardIrq = 1, kMouseIrq = 12;
  static constexpr unsigned kLevelIrqs[] = {kKeyboardIrq, kMouseIrq, kCom1Irq, kCom2Irq, kRtcIrq};  // IRQ0 is a pulse
  static constexpr uint8_t kIp2 = 1u << 0, kIp4 = 1u << 2;
  enum class IsaDevice : uint8_t { None, Pic, Pit, Rtc, Keyboard, Dma, Com1, Com2, Pm };
  IsaDevice claimant(uint32_t port) const;  // who decodes a byte of PCI I/O space, if anyone
  bool io_read(uint32_t port, unsigned size, uint32_t& out, uint64_t now_ns);
  // One byte of PCI I/O space; false when no device decodes the port.
  bool io_read_byte(uint32_t port, uint8_t& out, uint64_t now_ns);
  bool io_write_byte(uint32_t port, uint8_t value, uint64_t now_ns);

  // Interrupt lines. Every device access goes through the board, so a line is looked at again only
  // when it can have moved: after an access to its device (settle), when the RTC's or the PIT's
  // next event is due, or while host input waits for COM1 (catch_up). The guest polls the RTC
  // millions of times while booting; recomputing every line on each access cost more than the poll.
  void settle(IsaDevice device, uint64_t now_ns);
  void catch_up(uint64_t now_ns);
  void sample_rtc(uint64_t now_ns);
  void sample_pit(uint64_t now_ns);
  void drive(unsigned irq, bool level);  // passes a level line to the i8259s when it changed
  void redrive();  // every level line again, after the i8259s were accessed

  uint32_t isa_io_ns_;
  PciBus pci_;
  I8259Pair pic_;
  Gt64120 gt_;
  I8254 pit_;
  Mc146818Rtc rtc_;
  I8237Dma dma_;
  Piix4Pm pm_;
  Uart16550 com1_, com2_, cbus_uart_;
  I8042 keyboard_;
  MaltaFpga fpga_;
  GuestErrors unclaimed_{"board"};
  uint16_t lines_ = 0;  // the level lines, by ISA IRQ, as last driven into the i8259s
  uint64_t rtc_due_ns_ = 0, pit_due_ns_ = 0;  // when the RTC's line or the PIT's IRQ0 can next move by itself
  bool cbus_irq_ = false;  // the CBUS UART's INTR, which changes only when it is accessed
};

}  // namespace disco::malta
