#include "monitor/cpu/l2tlb.h"

#include <bit>

namespace disco::mips {

bool L2Tlb::valid_size(unsigned entries) {
  return entries == 0 || (entries % kWays == 0 && std::has_single_bit(entries / kWays) && entries <= kMaxEntries);
}

L2Tlb::L2Tlb(unsigned entries)
    : slots_(valid_size(entries) ? entries : 0), victim_(slots_.size() / kWays),
      set_mask_(slots_.empty() ? 0 : static_cast<uint32_t>(slots_.size() / kWays - 1)) {}

const TlbEntry* L2Tlb::lookup(uint32_t vaddr, uint8_t asid) const {
  if (slots_.empty()) return nullptr;
  const Slot* set = set_of(vaddr & kVpn2Mask);
  for (unsigned w = 0; w < kWays; ++w)
    if (set[w].used && matches(set[w].entry, vaddr, asid)) return &set[w].entry;
  return nullptr;
}

void L2Tlb::insert(const TlbEntry& e) {
  if (slots_.empty() || e.mask != 0 || !any_valid(e)) return;
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

void L2Tlb::drop_overlapping(const TlbEntry& e) {
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

bool L2Tlb::tlb_written(const Tlb& tlb, unsigned index, const TlbEntry& replaced, bool random, unsigned wired) {
  const TlbEntry& written = tlb.entry(index);
  bool cleared = false;
  if (random) {
    insert(replaced);  // evicted by the hardware's choice: the guest cannot tell it is kept
  } else {
    // A guest that invalidated every entry it does not wire with TLBWI has flushed its TLB: all
    // of it goes, here too. A valid entry written since takes its index out of the count.
    wired %= tlb.size();
    const uint64_t all = (tlb.size() >= 64 ? ~uint64_t{0} : (uint64_t{1} << tlb.size()) - 1) & ~((uint64_t{1} << wired) - 1);
    if (any_valid(written))
      written_by_tlbwi_ &= ~(uint64_t{1} << index);
    else
      written_by_tlbwi_ |= uint64_t{1} << index;
    if ((written_by_tlbwi_ & all) == all) {
      clear();
      written_by_tlbwi_ = 0;
      cleared = true;
    }
  }
  drop_overlapping(written);
  return cleared;
}

void L2Tlb::probe_missed(uint32_t hi) {
  drop_overlapping({.vpn2 = hi & kVpn2Mask, .asid = static_cast<uint8_t>(hi & kAsidMask)});
}

}  // namespace disco::mips
