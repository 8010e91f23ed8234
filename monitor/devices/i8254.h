// The PIIX4's 8254 programmable interval timer (ISA ports 0x40-0x43). Source: Intel 82C54 data
// sheet (231244). The counters run on the guest's virtual clock at 1.193182 MHz and are computed
// lazily from now_ns; only channel 0's output matters on Malta (IRQ0). Linux programs it and
// shuts it down (MALTA.md), using the CPU's Count/Compare timer instead.
//
// Call sequence: read/write(port, value, now_ns) for the ports; the board asks take_irq0_edge()
// whether channel 0's output rose since it last asked, and next_irq0_edge_ns() when to ask next.
#pragma once

#include <array>
#include <cstdint>

#include "monitor/devices/guest_errors.h"

namespace disco::malta {

class I8254 {
 public:
  static constexpr uint64_t kInputHz = 1193182;

  bool claims(uint16_t port) const { return port >= 0x40 && port <= 0x43; }
  uint8_t read(uint16_t port, uint64_t now_ns);
  void write(uint16_t port, uint8_t value, uint64_t now_ns);
  bool take_irq0_edge(uint64_t now_ns);
  uint64_t next_irq0_edge_ns(uint64_t now_ns) const;  // UINT64_MAX when channel 0 will not rise
  uint64_t guest_errors() const { return errors_.count(); }

 private:
  enum class Access : uint8_t { Latch = 0, Lsb = 1, Msb = 2, LsbMsb = 3 };
  struct Counter {
    uint8_t mode = 0;
    Access access = Access::LsbMsb;
    bool bcd = false;
    bool counting = false;       // a count has been written since the control word
    bool write_msb_next = false;  // the LSB/MSB flip-flop for writes
    bool read_msb_next = false;   // ... and for reads
    uint8_t write_lsb = 0;
    uint32_t reload = 0x10000;  // the count as written; 0 means 65536 (10000 in BCD)
    uint64_t start_ns = 0;
    bool count_latched = false, status_latched = false;
    uint16_t latched_count = 0;
    uint8_t latched_status = 0;
    uint64_t edges_seen = 0;  // rising output edges already reported (channel 0)
  };
  uint64_t ticks(const Counter& c, uint64_t now_ns) const;
  uint16_t current_count(const Counter& c, uint64_t now_ns) const;
  bool output(const Counter& c, uint64_t now_ns) const;
  uint64_t rising_edges(const Counter& c, uint64_t tick_count) const;  // in ticks [0, tick_count]
  void load(Counter& c, uint16_t raw, uint64_t now_ns);
  void control(uint8_t value, uint64_t now_ns);
  void latch(Counter& c, uint64_t now_ns) {
    if (!c.count_latched) {
      c.latched_count = current_count(c, now_ns);
      c.count_latched = true;
    }
  }

  std::array<Counter, 3> counters_;
  GuestErrors errors_{"i8254"};
};

}  // namespace disco::malta
