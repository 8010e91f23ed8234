#include "monitor/vm/l2tlb.h"

#include <bit>

namespace disco {

bool L2Tlb::valid_size(unsigned entries) {
  return entries == 0 || (entries % kWays == 0 && std::has_single_bit(entries / kWays));
}

L2Tlb::L2Tlb(unsigned entries)
    : slots_(valid_size(entries) ? entries : 0), victim_(slots_.size() / kWays),
      set_mask_(slots_.empty() ? 0 : static_cast<uint32_t>(slots_.size() / kWays - 1)) {}

const mips::TlbEntry* L2Tlb::lookup(uint32_t vaddr, uint8_t asid) const {
  if (slots_.empty()) return nullptr;
  const Slot* set = set_of(vaddr & 0xffffe000u);
  for (unsigned w = 0; w < kWays; ++w)
    if (set[w].used && mips::matches(set[w].entry, vaddr, asid)) return &set[w].entry;
  return nullptr;
}

void L2Tlb::insert(const mips::TlbEntry& e) {
  if (slots_.empty() || e.mask != 0 || !mips::any_valid(e)) return;
  drop_overlapping(e);
  const uint32_t set = (e.vpn2 >> 13) & set_mask_;
  Slot* ways = &slots_[set * kWays];
  Slot* slot = nullptr;
  for (unsigned w = 0; w < kWays && slot == nullptr; ++w)
    if (!ways[w].used) slot = &ways[w];
  if (slot == nullptr) {
    slot = &ways[victim_[set]];
    victim_[set] = static_cast<uint8_t>((victim_[set] + 1) % kWays);
  }
  *slot = {.entry = e, .used = true};
}

void L2Tlb::drop_overlapping(const mips::TlbEntry& e) {
  if (slots_.empty()) return;
  // A kept entry (a 4 KiB pair) overlaps e when its pair lies in e's range and the address
  // spaces meet (either global, or the same ASID).
  const auto overlaps = [&](const Slot& s) {
    return s.used && (s.entry.vpn2 & ~e.mask) == e.vpn2 && (e.global || s.entry.global || s.entry.asid == e.asid);
  };
  if (e.mask == 0) {
    Slot* set = set_of(e.vpn2);
    for (unsigned w = 0; w < kWays; ++w)
      if (overlaps(set[w])) set[w].used = false;
    return;
  }
  for (Slot& s : slots_)  // a large page spans many sets: rare enough to look at all
    if (overlaps(s)) s.used = false;
}

void L2Tlb::clear() {
  for (Slot& s : slots_) s.used = false;
}

}  // namespace disco
