#include "monitor/devices/malta_board.h"

#include <algorithm>

namespace disco::malta {

namespace {
constexpr uint16_t kCom1Base = 0x3f8, kCom2Base = 0x2f8, kUartPorts = 8;
constexpr unsigned kCbusUartShift = 3;

uint32_t size_mask(unsigned size) { return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1; }
// The bytes of a 32-bit register that an access of `size` at `pa` sees.
uint32_t lanes_of(uint32_t word, uint32_t pa, unsigned size) { return (word >> (8 * (pa & 3))) & size_mask(size); }
}  // namespace

MaltaBoard::MaltaBoard(const BoardConfig& config, std::function<void(uint8_t)> console_out)
    : isa_io_ns_(config.isa_io_ns),
      gt_(pci_, [this] { return pic_.acknowledge(); }),
      rtc_(config.rtc_epoch_seconds),
      com1_(std::move(console_out)),
      com2_(nullptr),
      cbus_uart_(nullptr) {
  // The lines start where the devices' reset state drives them.
  for (IsaDevice d : {IsaDevice::Pit, IsaDevice::Rtc, IsaDevice::Keyboard, IsaDevice::Com1, IsaDevice::Com2}) settle(d, 0);
  cbus_irq_ = cbus_uart_.irq();
}

void MaltaBoard::apply_yamon_state() { gt_.apply_yamon_state(); }

void MaltaBoard::console_input(uint8_t byte) { com1_.host_input(byte); }

PowerEvent MaltaBoard::power_event() const {
  if (pm_.power_off_requested()) return PowerEvent::PowerOff;
  if (fpga_.reset_requested()) return PowerEvent::Reset;
  return PowerEvent::None;
}

uint64_t MaltaBoard::guest_errors() const {
  return pic_.guest_errors() + pit_.guest_errors() + rtc_.guest_errors() + keyboard_.guest_errors() +
         gt_.guest_errors() + com1_.guest_errors() + com2_.guest_errors() + cbus_uart_.guest_errors();
}

void MaltaBoard::drive(unsigned irq, bool level) {
  if (bool(lines_ >> irq & 1) == level) return;  // the i8259 has this level already
  lines_ ^= uint16_t(1u << irq);
  pic_.set_irq(irq, level);
}

void MaltaBoard::redrive() {
  // ICW1 clears the i8259's input latches and an ELCR write changes how it senses them: a line
  // that stays up must be presented again, as it was when every access re-drove every line.
  for (unsigned irq : kLevelIrqs) pic_.set_irq(irq, lines_ >> irq & 1);
}

void MaltaBoard::sample_rtc(uint64_t now_ns) {
  drive(kRtcIrq, rtc_.irq(now_ns));
  rtc_due_ns_ = rtc_.next_event_ns(now_ns);
}

void MaltaBoard::sample_pit(uint64_t now_ns) {
  if (pit_.take_irq0_edge(now_ns)) {  // a pulse: the i8259 latches the rising edge
    pic_.set_irq(kPitIrq, true);
    pic_.set_irq(kPitIrq, false);
  }
  pit_due_ns_ = pit_.next_irq0_edge_ns(now_ns);
}

void MaltaBoard::settle(IsaDevice device, uint64_t now_ns) {
  switch (device) {
    case IsaDevice::Pic: redrive(); break;
    case IsaDevice::Pit: sample_pit(now_ns); break;
    case IsaDevice::Rtc: sample_rtc(now_ns); break;
    case IsaDevice::Keyboard:
      drive(kKeyboardIrq, keyboard_.irq1());
      drive(kMouseIrq, keyboard_.irq12());
      break;
    // On the super-I/O a COM port drives its IRQ only while the driver holds MCR OUT2.
    case IsaDevice::Com1: drive(kCom1Irq, com1_.irq() && com1_.out2()); break;
    case IsaDevice::Com2: drive(kCom2Irq, com2_.irq() && com2_.out2()); break;
    case IsaDevice::None:
    case IsaDevice::Dma:
    case IsaDevice::Pm: break;  // no interrupt
  }
}

void MaltaBoard::catch_up(uint64_t now_ns) {
  if (now_ns >= rtc_due_ns_) sample_rtc(now_ns);
  if (now_ns >= pit_due_ns_) sample_pit(now_ns);
  if (com1_.host_input_pending()) settle(IsaDevice::Com1, now_ns);
}

uint8_t MaltaBoard::hw_interrupts(uint64_t now_ns) {
  catch_up(now_ns);
  return uint8_t((pic_.intr() ? kIp2 : 0) | (cbus_irq_ ? kIp4 : 0));
}

uint64_t MaltaBoard::next_event_ns(uint64_t now_ns) {
  catch_up(now_ns);
  return pic_.irq_masked(kPitIrq) ? rtc_due_ns_ : std::min(rtc_due_ns_, pit_due_ns_);
}

MaltaBoard::IsaDevice MaltaBoard::claimant(uint32_t port) const {
  if (port > 0xffff) return IsaDevice::None;  // ISA and the PIIX4 decode 16-bit ports
  const auto p = uint16_t(port);
  const auto pm_base = pci_.pm_io_base();
  if (pic_.claims(p)) return IsaDevice::Pic;
  if (pit_.claims(p)) return IsaDevice::Pit;
  if (rtc_.claims(p)) return IsaDevice::Rtc;
  if (keyboard_.claims(p)) return IsaDevice::Keyboard;
  if (dma_.claims(p)) return IsaDevice::Dma;
  if (p >= kCom1Base && p < kCom1Base + kUartPorts) return IsaDevice::Com1;
  if (p >= kCom2Base && p < kCom2Base + kUartPorts) return IsaDevice::Com2;
  if (pm_base && p >= *pm_base && p < *pm_base + Piix4Pm::kSize) return IsaDevice::Pm;
  return IsaDevice::None;
}

bool MaltaBoard::io_read_byte(uint32_t port, uint8_t& out, uint64_t now_ns) {
  const IsaDevice device = claimant(port);
  const auto p = uint16_t(port);
  switch (device) {
    case IsaDevice::None: return false;
    case IsaDevice::Pic: out = pic_.read(p); break;
    case IsaDevice::Pit: out = pit_.read(p, now_ns); break;
    case IsaDevice::Rtc: out = rtc_.read(p, now_ns); break;
    case IsaDevice::Keyboard: out = keyboard_.read(p); break;
    case IsaDevice::Dma: out = dma_.read(p); break;
    case IsaDevice::Com1: out = com1_.read(p - kCom1Base); break;
    case IsaDevice::Com2: out = com2_.read(p - kCom2Base); break;
    case IsaDevice::Pm: out = pm_.read(p - *pci_.pm_io_base(), now_ns); break;
  }
  settle(device, now_ns);
  return true;
}

bool MaltaBoard::io_write_byte(uint32_t port, uint8_t value, uint64_t now_ns) {
  const IsaDevice device = claimant(port);
  const auto p = uint16_t(port);
  switch (device) {
    case IsaDevice::None: return false;
    case IsaDevice::Pic: pic_.write(p, value); break;
    case IsaDevice::Pit: pit_.write(p, value, now_ns); break;
    case IsaDevice::Rtc: rtc_.write(p, value, now_ns); break;
    case IsaDevice::Keyboard: keyboard_.write(p, value); break;
    case IsaDevice::Dma: dma_.write(p, value); break;
    case IsaDevice::Com1: com1_.write(p - kCom1Base, value); break;
    case IsaDevice::Com2: com2_.write(p - kCom2Base, value); break;
    case IsaDevice::Pm: pm_.write(p - *pci_.pm_io_base(), value); break;
  }
  settle(device, now_ns);
  return true;
}

// Wider I/O accesses reach the 8-bit ISA devices as consecutive byte cycles, as the PIIX4 splits
// them; write() does the same.
bool MaltaBoard::io_read(uint32_t port, unsigned size, uint32_t& out, uint64_t now_ns) {
  out = 0;
  bool claimed = false;
  for (unsigned i = 0; i < size; ++i) {
    uint8_t byte = 0xff;  // nothing drives the ISA bus: it floats high
    claimed |= io_read_byte(port + i, byte, now_ns);
    out |= uint32_t(byte) << (8 * i);
  }
  return claimed;
}

bool MaltaBoard::read(uint32_t pa, unsigned size, uint32_t& out, uint64_t now_ns) {
  catch_up(now_ns);
  out = size_mask(size);  // what an unclaimed cycle returns
  if (pa >= kBusErrorAbove) {
    unclaimed_.report(pa, "read beyond the GT-64120's decode: bus error");
    return false;
  }
  const uint32_t isd = gt_.isd_base();
  if (pa - isd < Gt64120::kRegisterWindow) {
    out = gt_.read(pa - isd, size);
    return true;
  }
  if (pa - MaltaFpga::kBase < MaltaFpga::kSize) {
    const uint32_t offset = pa - MaltaFpga::kBase, uart = offset - MaltaFpga::kUartOffset;
    if (uart < MaltaFpga::kUartSize && uart % (1u << kCbusUartShift) == 0) {
      out = cbus_uart_.read(uart >> kCbusUartShift);
      cbus_irq_ = cbus_uart_.irq();
      return true;
    }
    if (auto word = fpga_.read(offset & ~3u)) {
      out = lanes_of(*word, pa, size);
      return true;
    }
  } else if ((pa & ~3u) == MaltaFpga::kRevisionAddress) {
    out = lanes_of(MaltaFpga::kRevision, pa, size);
    return true;
  } else if (auto pci = gt_.decode(pa)) {
    if (pci->space == Gt64120::Space::Io && io_read(pci->address, size, out, now_ns)) return true;
    if (pci->space == Gt64120::Space::Memory) gt_.master_abort();  // no PCI memory target on this board
  }
  unclaimed_.report(pa, "read no device claims");
  return true;
}

bool MaltaBoard::write(uint32_t pa, unsigned size, uint32_t value, uint64_t now_ns) {
  catch_up(now_ns);
  value &= size_mask(size);
  if (pa >= kBusErrorAbove) {
    unclaimed_.report(pa, "write beyond the GT-64120's decode: bus error");
    return false;
  }
  const uint32_t isd = gt_.isd_base();
  if (pa - isd < Gt64120::kRegisterWindow) {
    gt_.write(pa - isd, size, value);
    return true;
  }
  if (pa - MaltaFpga::kBase < MaltaFpga::kSize) {
    const uint32_t offset = pa - MaltaFpga::kBase, uart = offset - MaltaFpga::kUartOffset;
    if (uart < MaltaFpga::kUartSize && uart % (1u << kCbusUartShift) == 0) {
      cbus_uart_.write(uart >> kCbusUartShift, uint8_t(value));
      cbus_irq_ = cbus_uart_.irq();
      return true;
    }
    if (fpga_.write(offset & ~3u, value << (8 * (pa & 3)))) return true;
  } else if (auto pci = gt_.decode(pa)) {
    if (pci->space == Gt64120::Space::Io) {
      // An ISA write nobody decodes still completes; it is logged once like any other.
      bool claimed = false;
      for (unsigned i = 0; i < size; ++i) claimed |= io_write_byte(pci->address + i, uint8_t(value >> (8 * i)), now_ns);
      if (claimed) return true;
    } else {
      gt_.master_abort();
    }
  }
  unclaimed_.report(pa, "write no device claims");
  return true;
}

}  // namespace disco::malta
