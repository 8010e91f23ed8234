#include "monitor/devices/uart16550.h"

namespace disco::malta {

namespace {
// Register bits (PC16550D data sheet, table III).
constexpr uint8_t kIerRx = 0x01, kIerThre = 0x02, kIerLineStatus = 0x04, kIerModemStatus = 0x08;
constexpr uint8_t kIirNone = 0x01, kIirModemStatus = 0x00, kIirThre = 0x02, kIirRx = 0x04, kIirLineStatus = 0x06,
                  kIirRxTimeout = 0x0c, kIirFifosOn = 0xc0;
constexpr uint8_t kFcrEnable = 0x01, kFcrClearRx = 0x02;
constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08, kMcrLoop = 0x10;
constexpr uint8_t kLsrDataReady = 0x01, kLsrOverrun = 0x02, kLsrThre = 0x20, kLsrTemt = 0x40;
constexpr uint8_t kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40, kMsrDcd = 0x80;
constexpr uint8_t kMsrDcts = 0x01, kMsrDdsr = 0x02, kMsrTeri = 0x04, kMsrDdcd = 0x08;
constexpr uint8_t kTriggerLevels[4] = {1, 4, 8, 14};
}  // namespace

void Uart16550::host_input(uint8_t byte) {
  std::lock_guard lock(host_mutex_);
  if (host_queue_.size() >= kHostQueueLimit) {
    ++dropped_input_;
    return;
  }
  host_queue_.push_back(byte);
  host_pending_.store(true, std::memory_order_release);
}

void Uart16550::pull_host_input() {
  // The serial input is disconnected in loopback; bytes wait for the guest to leave it.
  if (!host_pending_.load(std::memory_order_acquire) || (mcr_ & kMcrLoop)) return;
  std::lock_guard lock(host_mutex_);
  while (!host_queue_.empty() && rx_fifo_.size() < rx_capacity()) {
    rx_fifo_.push_back(host_queue_.front());
    host_queue_.pop_front();
  }
  host_pending_.store(!host_queue_.empty(), std::memory_order_release);
}

void Uart16550::receive(uint8_t byte) {
  if (rx_fifo_.size() >= rx_capacity()) {
    lsr_errors_ |= kLsrOverrun;  // the FIFO keeps its bytes; the new one is lost
    return;
  }
  rx_fifo_.push_back(byte);
}

uint8_t Uart16550::modem_status_lines() const {
  if (!(mcr_ & kMcrLoop)) return kMsrCts | kMsrDsr | kMsrDcd;
  // Loopback wires the modem outputs back to the inputs (data sheet, MCR bit 4).
  return uint8_t(((mcr_ & kMcrRts) ? kMsrCts : 0) | ((mcr_ & kMcrDtr) ? kMsrDsr : 0) |
                 ((mcr_ & kMcrOut1) ? kMsrRi : 0) | ((mcr_ & kMcrOut2) ? kMsrDcd : 0));
}

void Uart16550::update_modem_status() {
  const uint8_t lines = modem_status_lines(), old = msr_ & 0xf0, changed = lines ^ old;
  uint8_t deltas = msr_ & 0x0f;
  if (changed & kMsrCts) deltas |= kMsrDcts;
  if (changed & kMsrDsr) deltas |= kMsrDdsr;
  if (changed & kMsrDcd) deltas |= kMsrDdcd;
  if ((old & kMsrRi) && !(lines & kMsrRi)) deltas |= kMsrTeri;  // trailing edge only
  msr_ = lines | deltas;
}

uint8_t Uart16550::interrupt_id() const {
  if ((ier_ & kIerLineStatus) && lsr_errors_) return kIirLineStatus;
  if ((ier_ & kIerRx) && !rx_fifo_.empty()) {
    // Below the trigger level, the FIFO reports the character timeout instead.
    if ((fcr_ & kFcrEnable) && rx_fifo_.size() < kTriggerLevels[fcr_ >> 6]) return kIirRxTimeout;
    return kIirRx;
  }
  if ((ier_ & kIerThre) && thr_interrupt_) return kIirThre;
  if ((ier_ & kIerModemStatus) && (msr_ & 0x0f)) return kIirModemStatus;
  return kIirNone;
}

bool Uart16550::irq() {
  pull_host_input();
  return interrupt_id() != kIirNone;
}

uint8_t Uart16550::read(unsigned reg) {
  pull_host_input();
  switch (reg) {
    case 0: {
      if (lcr_ & kLcrDlab) return uint8_t(divisor_);
      if (rx_fifo_.empty()) return 0;
      const uint8_t byte = rx_fifo_.front();
      rx_fifo_.pop_front();
      pull_host_input();
      return byte;
    }
    case 1: return (lcr_ & kLcrDlab) ? uint8_t(divisor_ >> 8) : ier_;
    case 2: {
      const uint8_t id = interrupt_id();
      if (id == kIirThre) thr_interrupt_ = false;
      return uint8_t(id | ((fcr_ & kFcrEnable) ? kIirFifosOn : 0));
    }
    case 3: return lcr_;
    case 4: return mcr_;
    case 5: {
      const uint8_t lsr = uint8_t(kLsrThre | kLsrTemt | (rx_fifo_.empty() ? 0 : kLsrDataReady) | lsr_errors_);
      lsr_errors_ = 0;
      return lsr;
    }
    case 6: {
      const uint8_t msr = msr_;
      msr_ &= 0xf0;
      return msr;
    }
    default: return scr_;
  }
}

void Uart16550::write(unsigned reg, uint8_t value) {
  switch (reg) {
    case 0:
      if (lcr_ & kLcrDlab) {
        divisor_ = uint16_t((divisor_ & 0xff00) | value);
        return;
      }
      if (mcr_ & kMcrLoop) {
        receive(value);
      } else if (sink_) {
        sink_(value);
      }
      thr_interrupt_ = true;  // the byte left at once: THR is empty again
      return;
    case 1:
      if (lcr_ & kLcrDlab) {
        divisor_ = uint16_t((divisor_ & 0x00ff) | value << 8);
        return;
      }
      // Enabling the THRE interrupt with THR empty raises it at once (data sheet, IER bit 1).
      if ((value & kIerThre) && !(ier_ & kIerThre)) thr_interrupt_ = true;
      ier_ = value & 0x0f;
      return;
    case 2:
      // Turning the FIFOs on or off, or bit 1, empties the receive FIFO.
      if (((value ^ fcr_) & kFcrEnable) || (value & kFcrClearRx)) rx_fifo_.clear();
      fcr_ = value & 0xc9;
      return;
    case 3: lcr_ = value; return;
    case 4:
      mcr_ = value & 0x1f;
      update_modem_status();
      return;
    case 7: scr_ = value; return;
    default: errors_.report(reg, "write to a read-only status register"); return;
  }
}

}  // namespace disco::malta
