#include "monitor/cpu/tlb.h"

#include <algorithm>

namespace disco::mips {
Tlb::Tlb(unsigned entries) : entries_(entries), next_(entries, -1) {
  unsigned bits = 2;
  while ((1u << bits) < 4 * entries) ++bits;  // a quarter full at most: chains of about one
  bucket_shift_ = 32 - bits;
  head_.assign(1u << bits, -1);
  for (unsigned i = entries; i-- > 0;) link(i);  // each at the head: in index order
}

std::vector<std::pair<uint32_t, unsigned>>::iterator Tlb::mask_in_use(uint32_t mask) {
  return std::find_if(masks_.begin(), masks_.end(), [&](const auto& m) { return m.first == mask; });
}

void Tlb::link(unsigned index) {
  const TlbEntry& e = entries_[index];
  int16_t* at = &head_[bucket_of(e.vpn2)];
  while (*at >= 0 && *at < static_cast<int16_t>(index)) at = &next_[*at];
  next_[index] = *at;
  *at = static_cast<int16_t>(index);
  auto m = mask_in_use(e.mask);
  if (m == masks_.end())
    masks_.emplace_back(e.mask, 1);
  else
    ++m->second;
}

void Tlb::unlink(unsigned index) {
  const TlbEntry& e = entries_[index];
  int16_t* at = &head_[bucket_of(e.vpn2)];
  while (*at != static_cast<int16_t>(index)) at = &next_[*at];
  *at = next_[index];
  auto m = mask_in_use(e.mask);
  if (--m->second == 0) masks_.erase(m);
}

int Tlb::match(uint32_t vaddr, uint8_t asid) const {
  int found = -1;  // the lowest matching index over the masks' buckets
  for (const auto& [mask, count] : masks_) {
    for (int i = head_[bucket_of(vaddr & kVpn2Mask & ~mask)]; i >= 0 && (found < 0 || i < found); i = next_[i]) {
      if (matches(entries_[i], vaddr, asid)) {
        found = i;
        break;
      }
    }
  }
  return found;
}

TlbTranslation Tlb::translate(unsigned index, uint32_t vaddr, bool store) const {
  return mips::translate(entries_[index], vaddr, store);
}

TlbTranslation translate(const TlbEntry& e, uint32_t vaddr, bool store) {
  // The pair covers 2 * page_bytes; the bit just above a page's offset picks even or odd.
  const uint32_t page_bytes = (e.mask + 0x2000u) >> 1;
  const uint32_t lo = e.lo[(vaddr & page_bytes) ? 1 : 0];
  if (!(lo & EntryLoBits::V)) return {.fault = TlbFault::Invalid, .page_bytes = page_bytes};
  if (store && !(lo & EntryLoBits::D)) return {.fault = TlbFault::Modified, .page_bytes = page_bytes};
  const uint32_t frame = ((lo & EntryLoBits::Pfn) >> EntryLoBits::PfnShift) << 12;
  return {.paddr = (frame & ~(page_bytes - 1)) | (vaddr & (page_bytes - 1)), .page_bytes = page_bytes};
}

void Tlb::probe(Cp0& cp0) const {
  const uint32_t hi = cp0.raw(cp0::EntryHi);
  const int i = match(hi & kVpn2Mask, static_cast<uint8_t>(hi & kAsidMask));
  cp0.raw(cp0::Index) = i < 0 ? kIndexProbeFailed : static_cast<uint32_t>(i);
}

void Tlb::read(Cp0& cp0) const {
  const TlbEntry& e = entries_[cp0.raw(cp0::Index) % entries_.size()];
  const uint32_t g = e.global ? EntryLoBits::G : 0;
  cp0.raw(cp0::EntryHi) = e.vpn2 | e.asid;
  cp0.raw(cp0::PageMask) = e.mask;
  cp0.raw(cp0::EntryLo0) = e.lo[0] | g;
  cp0.raw(cp0::EntryLo1) = e.lo[1] | g;
}

void Tlb::write(const Cp0& cp0, unsigned index) {
  index %= entries_.size();
  unlink(index);
  TlbEntry& e = entries_[index];
  const uint32_t hi = cp0.raw(cp0::EntryHi);
  const uint32_t lo0 = cp0.raw(cp0::EntryLo0), lo1 = cp0.raw(cp0::EntryLo1);
  e.mask = cp0.raw(cp0::PageMask) & kVpn2Mask;
  e.vpn2 = hi & kVpn2Mask & ~e.mask;
  e.asid = static_cast<uint8_t>(hi & kAsidMask);
  e.global = (lo0 & lo1 & EntryLoBits::G) != 0;
  e.lo = {lo0 & ~EntryLoBits::G, lo1 & ~EntryLoBits::G};
  link(index);
  ++generation_;
}

}  // namespace disco::mips
