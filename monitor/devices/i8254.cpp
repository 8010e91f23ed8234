#include "monitor/devices/i8254.h"

#include <limits>

#include "monitor/devices/virtual_clock.h"

namespace disco::malta {

namespace {
uint16_t from_bcd(uint16_t v) {
  return uint16_t((v >> 12 & 0xf) * 1000 + (v >> 8 & 0xf) * 100 + (v >> 4 & 0xf) * 10 + (v & 0xf));
}
uint16_t to_bcd(uint16_t v) {
  return uint16_t((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | (v % 10));
}
}  // namespace

uint64_t I8254::ticks(const Counter& c, uint64_t now_ns) const {
  if (now_ns <= c.start_ns) return 0;
  return ticks_in(now_ns - c.start_ns, kInputHz);
}

uint16_t I8254::current_count(const Counter& c, uint64_t now_ns) const {
  const uint32_t modulus = c.bcd ? 10000 : 0x10000;
  uint32_t value = c.reload % modulus;
  if (c.counting) {
    const uint64_t t = ticks(c, now_ns);
    switch (c.mode) {
      case 2: value = uint32_t(c.reload - t % c.reload) % modulus; break;
      case 3: value = uint32_t(c.reload - (2 * t) % c.reload) % modulus; break;
      default: value = uint32_t((c.reload + modulus - t % modulus) % modulus); break;
    }
  }
  return c.bcd ? to_bcd(uint16_t(value)) : uint16_t(value);
}

bool I8254::output(const Counter& c, uint64_t now_ns) const {
  if (!c.counting) return c.mode != 0;  // mode 0 drives OUT low from its control word on
  const uint64_t t = ticks(c, now_ns);
  switch (c.mode) {
    case 0: return t >= c.reload;
    case 2: return t % c.reload != c.reload - 1;
    case 3: return t % c.reload < (c.reload + 1) / 2;
    case 4: return t != c.reload;
    default: return true;  // modes 1 and 5 wait for a gate trigger, which Malta never gives
  }
}

uint64_t I8254::rising_edges(const Counter& c, uint64_t tick_count) const {
  switch (c.mode) {
    case 0: return tick_count >= c.reload ? 1 : 0;
    case 2:
    case 3: return tick_count / c.reload;
    case 4: return tick_count >= c.reload + 1 ? 1 : 0;
    default: return 0;
  }
}

bool I8254::take_irq0_edge(uint64_t now_ns) {
  Counter& c = counters_[0];
  if (!c.counting) return false;
  const uint64_t edges = rising_edges(c, ticks(c, now_ns));
  if (edges <= c.edges_seen) return false;
  c.edges_seen = edges;  // edges the board did not look at in between merge, as in the 8259's IRR
  return true;
}

uint64_t I8254::next_irq0_edge_ns(uint64_t now_ns) const {
  const Counter& c = counters_[0];
  if (!c.counting) return std::numeric_limits<uint64_t>::max();
  const uint64_t edges = rising_edges(c, ticks(c, now_ns));
  if (edges > c.edges_seen) return now_ns;
  uint64_t tick;
  switch (c.mode) {
    case 0: if (edges) return std::numeric_limits<uint64_t>::max(); tick = c.reload; break;
    case 2:
    case 3: tick = (edges + 1) * c.reload; break;
    case 4: if (edges) return std::numeric_limits<uint64_t>::max(); tick = c.reload + 1; break;
    default: return std::numeric_limits<uint64_t>::max();
  }
  // The first nanosecond at which ticks() reaches `tick`.
  return c.start_ns + ns_for(tick, kInputHz);
}

void I8254::load(Counter& c, uint16_t raw, uint64_t now_ns) {
  // A new count restarts the period at once; the data sheet defers it to the end of the current
  // period in modes 2 and 3, which no Malta guest can tell apart.
  const uint32_t value = c.bcd ? from_bcd(raw) : raw;
  c.reload = value ? value : (c.bcd ? 10000 : 0x10000);
  c.counting = true;
  c.start_ns = now_ns;
  c.edges_seen = 0;
}

void I8254::control(uint8_t value, uint64_t now_ns) {
  const unsigned select = value >> 6;
  if (select == 3) {  // read-back: bit 5 clear latches counts, bit 4 clear latches status
    for (unsigned i = 0; i < 3; ++i) {
      if (!(value & (2u << i))) continue;
      Counter& c = counters_[i];
      if (!(value & 0x20)) latch(c, now_ns);
      if (!(value & 0x10) && !c.status_latched) {
        c.latched_status = uint8_t((output(c, now_ns) ? 0x80 : 0) | (c.counting ? 0 : 0x40) |
                                   unsigned(c.access) << 4 | c.mode << 1 | (c.bcd ? 1 : 0));
        c.status_latched = true;
      }
    }
    return;
  }
  Counter& c = counters_[select];
  const auto access = Access((value >> 4) & 3);
  if (access == Access::Latch) {
    latch(c, now_ns);
    return;
  }
  c.access = access;
  c.mode = (value >> 1) & 7;
  if (c.mode >= 6) c.mode -= 4;  // 110 and 111 are modes 2 and 3
  c.bcd = value & 1;
  c.counting = false;
  c.write_msb_next = c.read_msb_next = false;
  c.count_latched = c.status_latched = false;
  c.edges_seen = 0;
}

uint8_t I8254::read(uint16_t port, uint64_t now_ns) {
  if (port == 0x43) {
    errors_.report(port, "read of the write-only control word");
    return 0xff;
  }
  Counter& c = counters_[port - 0x40];
  if (c.status_latched) {
    c.status_latched = false;
    return c.latched_status;
  }
  const uint16_t count = c.count_latched ? c.latched_count : current_count(c, now_ns);
  bool high = c.access == Access::Msb;
  bool done = true;
  if (c.access == Access::LsbMsb) {
    high = c.read_msb_next;
    done = c.read_msb_next;
    c.read_msb_next = !c.read_msb_next;
  }
  if (done) c.count_latched = false;
  return high ? uint8_t(count >> 8) : uint8_t(count);
}

void I8254::write(uint16_t port, uint8_t value, uint64_t now_ns) {
  if (port == 0x43) {
    control(value, now_ns);
    return;
  }
  Counter& c = counters_[port - 0x40];
  switch (c.access) {
    case Access::Lsb: load(c, value, now_ns); break;
    case Access::Msb: load(c, uint16_t(value << 8), now_ns); break;
    default:
      if (!c.write_msb_next) {
        c.write_lsb = value;
        if (c.mode == 0) c.counting = false;  // the first byte stops a mode-0 count
      } else {
        load(c, uint16_t(c.write_lsb | value << 8), now_ns);
      }
      c.write_msb_next = !c.write_msb_next;
      break;
  }
}

}  // namespace disco::malta
