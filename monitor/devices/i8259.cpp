#include "monitor/devices/i8259.h"

namespace disco::malta {

namespace {
// ICW1/OCW bits (8259A data sheet, "Programming the 8259A").
constexpr uint8_t kIcw1 = 0x10, kIcw1NeedsIcw4 = 0x01, kIcw1Single = 0x02;
constexpr uint8_t kIcw4Mode8086 = 0x01, kIcw4AutoEoi = 0x02;
constexpr uint8_t kOcw3 = 0x08, kOcw3ReadRegister = 0x02, kOcw3ReadIsr = 0x01, kOcw3Poll = 0x04;
constexpr uint8_t kOcw3SetSpecialMask = 0x40, kOcw3SpecialMaskValue = 0x20;
}  // namespace

void I8259::set_irq(unsigned input, bool level) {
  const uint8_t bit = uint8_t(1u << input);
  if ((elcr_ | cascade_input_mask_) & bit) {
    irr_ = level ? (irr_ | bit) : (irr_ & ~bit);
  } else if (level && !(input_levels_ & bit)) {
    irr_ |= bit;  // edge sense latches the rising edge; a falling edge leaves IRR alone
  }
  input_levels_ = level ? (input_levels_ | bit) : (input_levels_ & ~bit);
}

int I8259::highest_in_service(uint8_t mask) const {
  const uint8_t service = isr_ & mask;
  for (unsigned p = 0; p < 8; ++p) {
    const unsigned input = (lowest_priority_ + 1 + p) & 7;
    if (service & (1u << input)) return int(input);
  }
  return -1;
}

int I8259::highest_request() const {
  const uint8_t requests = irr_ & ~imr_;
  if (!requests) return -1;
  int best = -1;
  for (unsigned p = 0; p < 8 && best < 0; ++p) {
    const unsigned input = (lowest_priority_ + 1 + p) & 7;
    if (requests & (1u << input)) best = int(input);
  }
  // In special mask mode, masked in-service levels no longer hold off lower priorities.
  const int busy = highest_in_service(special_mask_ ? uint8_t(~imr_) : uint8_t(0xff));
  if (busy >= 0 && priority_of(unsigned(best)) >= priority_of(unsigned(busy))) return -1;
  return best;
}

unsigned I8259::acknowledge() {
  const int winner = highest_request();
  if (winner < 0) return 7;
  const uint8_t bit = uint8_t(1u << winner);
  if (!((elcr_ | cascade_input_mask_) & bit)) irr_ &= ~bit;
  if (auto_eoi_) {
    if (rotate_on_auto_eoi_) lowest_priority_ = uint8_t(winner);
  } else {
    isr_ |= bit;
  }
  return unsigned(winner);
}

void I8259::end_of_interrupt(int input, bool rotate) {
  if (input < 0) return;
  isr_ &= ~uint8_t(1u << input);
  if (rotate) lowest_priority_ = uint8_t(input);
}

void I8259::init_icw1(uint8_t value) {
  // ICW1 clears the mask, ISR and special mask mode, selects IRR for reads and makes IR7 the
  // lowest priority; the edge sense restarts, so a request must rise again to be seen.
  irr_ = isr_ = imr_ = 0;
  input_levels_ = 0;
  lowest_priority_ = 7;
  read_isr_ = poll_ = special_mask_ = auto_eoi_ = rotate_on_auto_eoi_ = false;
  needs_icw4_ = value & kIcw1NeedsIcw4;
  single_ = value & kIcw1Single;
  step_ = InitStep::Icw2;
}

uint8_t I8259::read(unsigned a0) {
  if (a0) return imr_;
  if (poll_) {
    // A poll read is an acknowledge: bit 7 says whether anything was pending.
    poll_ = false;
    if (highest_request() < 0) return 0;
    return uint8_t(0x80 | acknowledge());
  }
  return read_isr_ ? isr_ : irr_;
}

void I8259::write(unsigned a0, uint8_t value, GuestErrors& errors) {
  if (!a0) {
    if (value & kIcw1) {
      init_icw1(value);
    } else if (value & kOcw3) {
      if (value & kOcw3ReadRegister) read_isr_ = value & kOcw3ReadIsr;
      poll_ = value & kOcw3Poll;
      if (value & kOcw3SetSpecialMask) special_mask_ = value & kOcw3SpecialMaskValue;
    } else {
      const unsigned level = value & 7;
      switch (value >> 5) {  // OCW2: R, SL, EOI
        case 0b001: end_of_interrupt(highest_in_service(0xff), false); break;
        case 0b011: end_of_interrupt(int(level), false); break;
        case 0b101: end_of_interrupt(highest_in_service(0xff), true); break;
        case 0b111: end_of_interrupt(int(level), true); break;
        case 0b100: rotate_on_auto_eoi_ = true; break;
        case 0b000: rotate_on_auto_eoi_ = false; break;
        case 0b110: lowest_priority_ = uint8_t(level); break;
        default: break;  // 0b010 is the data sheet's no-operation
      }
    }
    return;
  }
  switch (step_) {
    case InitStep::Ready: imr_ = value; break;
    case InitStep::Icw2:
      vector_base_ = value & 0xf8;
      step_ = single_ ? (needs_icw4_ ? InitStep::Icw4 : InitStep::Ready) : InitStep::Icw3;
      break;
    case InitStep::Icw3:  // the cascade wiring is fixed on the PIIX4
      step_ = needs_icw4_ ? InitStep::Icw4 : InitStep::Ready;
      break;
    case InitStep::Icw4:
      if (!(value & kIcw4Mode8086)) errors.report(1, "ICW4 selects 8080 mode (PIIX4 is 8086 only)");
      auto_eoi_ = value & kIcw4AutoEoi;
      step_ = InitStep::Ready;
      break;
  }
}

void I8259Pair::set_irq(unsigned irq, bool level) {
  if (irq >= 16) return;
  if (irq < 8) {
    master_.set_irq(irq, level);
  } else {
    slave_.set_irq(irq - 8, level);
    update_cascade();
  }
}

uint8_t I8259Pair::acknowledge() {
  update_cascade();
  const unsigned input = master_.acknowledge();
  if (input != kCascadeInput) return uint8_t(master_.vector_base() + input);
  const unsigned slave_input = slave_.acknowledge();
  update_cascade();
  return uint8_t(slave_.vector_base() + slave_input);
}

bool I8259Pair::irq_masked(unsigned irq) const {
  if (irq < 8) return master_.imr() & (1u << irq);
  return (slave_.imr() & (1u << (irq - 8))) || (master_.imr() & (1u << kCascadeInput));
}

bool I8259Pair::claims(uint16_t port) const {
  return port == 0x20 || port == 0x21 || port == 0xa0 || port == 0xa1 || port == 0x4d0 || port == 0x4d1;
}

uint8_t I8259Pair::read(uint16_t port) {
  switch (port) {
    case 0x20: case 0x21: {
      const uint8_t v = master_.read(port & 1);
      update_cascade();
      return v;
    }
    case 0xa0: case 0xa1: {
      const uint8_t v = slave_.read(port & 1);
      update_cascade();
      return v;
    }
    case 0x4d0: return master_.elcr();
    default: return slave_.elcr();
  }
}

void I8259Pair::write(uint16_t port, uint8_t value) {
  // ELCR bits for IRQ0-2, IRQ8 and IRQ13 are reserved: those lines are always edge-triggered.
  constexpr uint8_t kElcr1Mask = 0xf8, kElcr2Mask = 0xde;
  switch (port) {
    case 0x20: case 0x21: master_.write(port & 1, value, errors_); break;
    case 0xa0: case 0xa1: slave_.write(port & 1, value, errors_); break;
    case 0x4d0: master_.set_elcr(value & kElcr1Mask); break;
    default: slave_.set_elcr(value & kElcr2Mask); break;
  }
  update_cascade();
}

}  // namespace disco::malta
