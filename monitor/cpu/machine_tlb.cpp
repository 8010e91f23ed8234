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

void MachineTlb::drop(MachineTlbEntry& e) {
  if (e.owner == MachineTlbEntry::kNone) return;
  if (on_drop_) on_drop_(e);
  e.owner = MachineTlbEntry::kNone;
}

void MachineTlb::insert(const MachineTlbEntry& e) {
  const unsigned set = e.vpn % kSets;
  std::array<MachineTlbEntry, kWays>& ways = sets_[set];
  MachineTlbEntry* slot = nullptr;
  for (MachineTlbEntry& w : ways)
    if (w.owner != MachineTlbEntry::kNone && w.vpn == e.vpn && w.machine_asid == e.machine_asid) slot = &w;
  for (MachineTlbEntry& w : ways)
    if (slot == nullptr && w.owner == MachineTlbEntry::kNone) slot = &w;
  if (slot == nullptr) {
    slot = &ways[victim_[set]];
    victim_[set] = static_cast<uint8_t>((victim_[set] + 1) % kWays);
  }
  drop(*slot);
  *slot = e;
}

void MachineTlb::drop_range(uint16_t owner, uint32_t first_vpn, uint32_t last_vpn, bool any_asid, uint8_t guest_asid) {
  for (auto& ways : sets_)
    for (MachineTlbEntry& e : ways)
      if (e.owner == owner && e.vpn >= first_vpn && e.vpn <= last_vpn && (any_asid || e.guest_asid == guest_asid))
        drop(e);
}

void MachineTlb::drop_owner(uint16_t owner) {
  for (auto& ways : sets_)
    for (MachineTlbEntry& e : ways)
      if (e.owner == owner) drop(e);
}

void MachineTlb::drop_machine_page(uint64_t machine_page) {
  for (auto& ways : sets_)
    for (MachineTlbEntry& e : ways)
      if (e.owner != MachineTlbEntry::kNone && e.machine_page == machine_page) drop(e);
}

void MachineTlb::flush() {
  for (auto& ways : sets_)
    for (MachineTlbEntry& e : ways) drop(e);
  ++flushes_;
}

}  // namespace disco::mips
