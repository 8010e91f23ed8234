// The PIIX4's two 8259A interrupt controllers, cascaded (slave INT -> master IR2), with the
// PIIX4's edge/level control registers (ELCR, ISA ports 0x4d0/0x4d1). Sources: Intel 8259A data
// sheet (231468); Intel 82371AB PIIX4 data sheet (290562) §3.3.3 and §4.1.
//
// Call sequence: devices drive their request lines with set_irq(irq, level); the board reads
// intr() (the CPU's IP2 on Malta) and, for the GT64120's PCI interrupt-acknowledge cycle,
// acknowledge(). Ports are the chips' own: read/write(port, value) for 0x20/0x21, 0xa0/0xa1,
// 0x4d0/0x4d1.
#pragma once

#include <cstdint>

#include "monitor/devices/guest_errors.h"

namespace disco::malta {

// One 8259A. IRQ numbers here are the chip's own inputs 0..7.
class I8259 {
 public:
  void set_irq(unsigned input, bool level);
  bool intr() const { return highest_request() >= 0; }
  // The INTA sequence: marks the winner in service and returns its input, or 7 when nothing is
  // requested any more (the 8259A's spurious IR7, which sets no ISR bit).
  unsigned acknowledge();
  uint8_t read(unsigned a0);
  void write(unsigned a0, uint8_t value, GuestErrors& errors);
  uint8_t vector_base() const { return vector_base_; }
  uint8_t imr() const { return imr_; }
  void set_elcr(uint8_t elcr) { elcr_ = elcr; }
  uint8_t elcr() const { return elcr_; }
  // The cascade input follows the slave's INT as a level, not an edge: a slave with a second
  // request still pending after its EOI must be able to interrupt the master again.
  void set_cascade_input(unsigned input) { cascade_input_mask_ = uint8_t(1u << input); }

 private:
  enum class InitStep : uint8_t { Ready, Icw2, Icw3, Icw4 };
  int highest_request() const;  // input to interrupt with, or -1
  int highest_in_service(uint8_t mask) const;
  void end_of_interrupt(int input, bool rotate);
  uint8_t priority_of(unsigned input) const { return uint8_t((input - lowest_priority_ - 1) & 7); }
  void init_icw1(uint8_t value);

  uint8_t irr_ = 0, isr_ = 0, imr_ = 0, elcr_ = 0, input_levels_ = 0, cascade_input_mask_ = 0;
  uint8_t vector_base_ = 0;
  uint8_t lowest_priority_ = 7;  // IR7 is lowest after ICW1; rotation moves it
  InitStep step_ = InitStep::Ready;
  bool needs_icw4_ = false, single_ = false, auto_eoi_ = false, rotate_on_auto_eoi_ = false;
  bool read_isr_ = false, poll_ = false, special_mask_ = false;
};

// The master/slave pair as the PIIX4 wires it: ISA IRQ 0..15, the slave on the master's IR2.
class I8259Pair {
 public:
  I8259Pair() { master_.set_cascade_input(kCascadeInput); }
  void set_irq(unsigned irq, bool level);
  bool intr() const { return master_.intr(); }
  // The PCI interrupt-acknowledge cycle the GT64120 runs (read of GT 0xc34): the vector of the
  // highest-priority request, which with Linux's ICW2 values 0x00/0x08 is the ISA IRQ number.
  uint8_t acknowledge();
  bool irq_masked(unsigned irq) const;
  bool claims(uint16_t port) const;
  uint8_t read(uint16_t port);
  void write(uint16_t port, uint8_t value);
  uint64_t guest_errors() const { return errors_.count(); }

 private:
  static constexpr unsigned kCascadeInput = 2;
  void update_cascade() { master_.set_irq(kCascadeInput, slave_.intr()); }
  I8259 master_, slave_;
  GuestErrors errors_{"i8259"};
};

}  // namespace disco::malta
