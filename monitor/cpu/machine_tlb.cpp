#include "monitor/cpu/machine_tlb.h"

namespace disco::mips {

std::string_view name(TlbSwitch s) { return s == TlbSwitch::Flush ? "flush" : "asid"; }

uint8_t MachineTlb::machine_asid(uint16_t owner, uint8_t guest_asid) {
  if (mode_ == TlbSwitch::Flush) return guest_asid;
  const size_t key = size_t{owner} << 8 | guest_asid;
  if (key >= asids_.size()) asids_.resize(key + 1);
  AsidSlot& slot = asids_[key];
  if (slot.generation != generation_) {
    if (next_asid_ > 0xff) {  // all handed out in this generation: start again on an empty TLB
      flush();
      ++generation_;
      next_asid_ = 1;
    }
    slot = {.machine = static_cast<uint8_t>(next_asid_++), .generation = generation_};
  }
  return slot.machine;
}

void MachineTlb::drop(unsigned i) {
  if (keys_[i] == kEmpty) return;
  if (on_drop_) on_drop_(entries_[i]);
  keys_[i] = kEmpty;
  entries_[i].owner = MachineTlbEntry::kNone;
}

void MachineTlb::insert(const MachineTlbEntry& e) {
  const uint64_t k = key(e.vpn, e.machine_asid);
  unsigned slot = kEntries;
  for (unsigned i = 0; i < kEntries && slot == kEntries; ++i)
    if (keys_[i] == k) slot = i;
  for (unsigned i = 0; i < kEntries && slot == kEntries; ++i)
    if (keys_[i] == kEmpty) slot = i;
  if (slot == kEntries) {
    slot = victim_;
    victim_ = (victim_ + 1) % kEntries;
  }
  drop(slot);
  entries_[slot] = e;
  keys_[slot] = k;
}

void MachineTlb::drop_range(uint16_t owner, uint32_t first_vpn, uint32_t last_vpn, bool any_asid, uint8_t guest_asid) {
  for (unsigned i = 0; i < kEntries; ++i) {
    const MachineTlbEntry& e = entries_[i];
    if (keys_[i] != kEmpty && e.owner == owner && e.vpn >= first_vpn && e.vpn <= last_vpn &&
        (any_asid || e.guest_asid == guest_asid))
      drop(i);
  }
}

void MachineTlb::drop_owner(uint16_t owner) {
  for (unsigned i = 0; i < kEntries; ++i)
    if (keys_[i] != kEmpty && entries_[i].owner == owner) drop(i);
}

void MachineTlb::drop_machine_page(uint64_t machine_page) {
  for (unsigned i = 0; i < kEntries; ++i)
    if (keys_[i] != kEmpty && entries_[i].machine_page == machine_page) drop(i);
}

void MachineTlb::flush() {
  for (unsigned i = 0; i < kEntries; ++i) drop(i);
  ++flushes_;
}

}  // namespace disco::mips
