#include "monitor/cpu/machine_tlb.h"

namespace disco::mips {

std::string_view name(TlbSwitch s) { return s == TlbSwitch::Flush ? "flush" : "asid"; }

MachineTlb::MachineTlb(TlbSwitch mode, unsigned entries)
    : mode_(mode), ways_(entries <= kFullyAssociativeUpTo ? entries : 4), set_mask_(entries / ways_ - 1),
      entries_(entries), keys_(entries, kEmpty), victims_(entries / ways_, 0) {}

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
  const unsigned set = set_of(e.vpn), first = set * ways_, end = first + ways_;
  unsigned slot = end;
  for (unsigned i = first; i < end && slot == end; ++i)
    if (keys_[i] == k) slot = i;
  for (unsigned i = first; i < end && slot == end; ++i)
    if (keys_[i] == kEmpty) slot = i;
  if (slot == end) {
    slot = first + victims_[set];
    victims_[set] = static_cast<uint8_t>((victims_[set] + 1) % ways_);
  }
  drop(slot);
  entries_[slot] = e;
  keys_[slot] = k;
}

void MachineTlb::drop_range(uint16_t owner, uint32_t first_vpn, uint32_t last_vpn, bool any_asid, uint8_t guest_asid) {
  const auto drop_if = [&](unsigned i) {
    const MachineTlbEntry& e = entries_[i];
    if (keys_[i] != kEmpty && e.owner == owner && e.vpn >= first_vpn && e.vpn <= last_vpn &&
        (any_asid || e.guest_asid == guest_asid))
      drop(i);
  };
  // A range narrower than the sets touches only its pages' sets (a 4 KiB pair: two); a wider
  // one (a 16 MiB page) every entry.
  if (last_vpn - first_vpn <= set_mask_) {
    for (uint32_t vpn = first_vpn;; ++vpn) {
      const unsigned first = first_way(vpn);
      for (unsigned i = first; i < first + ways_; ++i) drop_if(i);
      if (vpn == last_vpn) break;
    }
  } else {
    for (unsigned i = 0; i < entries(); ++i) drop_if(i);
  }
}

void MachineTlb::drop_owner(uint16_t owner) {
  for (unsigned i = 0; i < entries(); ++i)
    if (keys_[i] != kEmpty && entries_[i].owner == owner) drop(i);
}

void MachineTlb::drop_machine_page(uint64_t machine_page) {
  for (unsigned i = 0; i < entries(); ++i)
    if (keys_[i] != kEmpty && entries_[i].machine_page == machine_page) drop(i);
}

void MachineTlb::flush() {
  for (unsigned i = 0; i < entries(); ++i) drop(i);
  ++flushes_;
}

}  // namespace disco::mips
