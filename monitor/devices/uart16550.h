// A 16550A UART (National PC16550D data sheet): COM1/COM2 in the SMSC super-I/O on the ISA bus
// and the board's CBUS UART. Transmission is instantaneous (a written byte goes straight to the
// sink, so THRE/TEMT stay set); received bytes come from the host through a thread-safe queue
// and enter the 16-byte receive FIFO when the guest can take them. Loopback mode, the divisor
// latch, FIFO control, the scratch register and the interrupt identification register behave as
// the data sheet says, so Linux's 8250 autoconfig identifies a 16550A.
//
// Call sequence: read/write(register, value) with register 0..7 (the board removes the register
// shift); irq() is the INTR pin; host_input() may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

#include "monitor/devices/guest_errors.h"

namespace disco::malta {

class Uart16550 {
 public:
  // sink gets every transmitted byte; an empty sink drops them (a probed-only port).
  explicit Uart16550(std::function<void(uint8_t)> sink) : sink_(std::move(sink)) {}
  uint8_t read(unsigned reg);
  void write(unsigned reg, uint8_t value);
  bool irq();
  void host_input(uint8_t byte);
  // Host bytes wait to enter the receive FIFO: irq() may change without a register access.
  bool host_input_pending() const { return host_pending_.load(std::memory_order_acquire); }
  uint64_t dropped_input() const { return dropped_input_.load(); }
  uint64_t guest_errors() const { return errors_.count(); }
  // MCR OUT2, which gates the interrupt onto the ISA bus on a PC-style super-I/O.
  bool out2() const { return mcr_ & 0x08; }

 private:
  static constexpr size_t kFifoSize = 16;
  static constexpr size_t kHostQueueLimit = 64 * 1024;
  uint8_t interrupt_id() const;  // IIR bits 3..0 of the highest-priority pending source
  void receive(uint8_t byte);
  void pull_host_input();
  uint8_t modem_status_lines() const;
  void update_modem_status();
  size_t rx_capacity() const { return (fcr_ & 0x01) ? kFifoSize : 1; }

  std::function<void(uint8_t)> sink_;
  GuestErrors errors_{"uart16550"};
  std::deque<uint8_t> rx_fifo_;
  uint8_t ier_ = 0, lcr_ = 0, mcr_ = 0, lsr_errors_ = 0, scr_ = 0, fcr_ = 0;
  uint16_t divisor_ = 12;  // 9600 baud at 1.8432 MHz, as left by a boot ROM
  uint8_t msr_ = 0xb0;         // CTS, DSR, DCD: a terminal is attached and ready
  bool thr_interrupt_ = false;  // the THRE interrupt, cleared by the IIR read reporting it

  std::mutex host_mutex_;  // guards host_queue_ against the terminal-reader thread
  std::deque<uint8_t> host_queue_;
  std::atomic<bool> host_pending_{false};
  std::atomic<uint64_t> dropped_input_{0};
};

}  // namespace disco::malta
