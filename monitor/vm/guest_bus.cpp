#include "monitor/vm/guest_bus.h"

namespace disco {

uint64_t GuestBus::cycles_at_ns(uint64_t ns) const {
  if (ns == UINT64_MAX) return UINT64_MAX;
  return (ns * cpu_mhz_ + 999) / 1000;
}

bool GuestBus::device_load(uint32_t pa, unsigned size, uint32_t& out) {
  if (pa < kRamWindow) {  // RAM the VM does not have: nothing answers
    ++unbacked_;
    out = 0;
    return false;
  }
  const bool ok = board_.read(pa, size, out, now_ns());
  device_accessed(pa);
  return ok;
}

bool GuestBus::device_store(uint32_t pa, unsigned size, uint32_t value) {
  if (pa < kRamWindow) {
    ++unbacked_;
    return false;
  }
  const bool ok = board_.write(pa, size, value, now_ns());
  device_accessed(pa);
  return ok;
}

void GuestBus::device_accessed(uint32_t pa) {
  vcpu_.cycles += cycles_at_ns(board_.bus_ns(pa));  // the access completes after its bus time
  sample_interrupts();
}

bool GuestBus::load_linked(uint32_t pa, uint32_t& out) {
  if (pa >= ram_bytes_) return false;  // LL/SC on a device or unbacked memory: a bus error
  const bool ok = port_.load_linked(ram(pa), out);
  memory_failed_ |= !ok;
  return ok;
}

bool GuestBus::store_conditional(uint32_t pa, uint32_t value, bool& stored) {
  stored = false;
  if (pa >= ram_bytes_) return false;
  const bool ok = port_.store_conditional(ram(pa), value, stored);
  memory_failed_ |= !ok;
  return ok;
}

}  // namespace disco
