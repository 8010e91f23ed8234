// The joint TLB of the emulated 24Kf (MD00090 §4.3 and ch. 9): entries of a pair of pages
// (even/odd) with a page mask, an ASID and a global bit, and the four TLB instructions on the
// CP0 registers they read and write. Translation itself (segments, faults, the soft TLB in
// front of this) is the interpreter's; this file only matches and fills entries.
//
// Call sequence: the interpreter calls match() on a miss of its soft TLB and translate() to
// turn a match into a physical address or a fault; TLBP/TLBR/TLBWI/TLBWR call probe/read/write.
// generation() changes on every write: translations cached from older entries are stale.
//
// Two entries matching one address is a machine check on the 24K; Linux never writes such a
// pair (it parks unused entries at distinct kseg0 VPNs, which never translate), so match()
// takes the first and the condition is not modelled. match() is a hashed lookup (the entries
// are indexed by VPN2 as they are written), not a scan of the entries.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "monitor/cpu/cp0.h"

namespace disco::mips {

struct TlbEntry {
  uint32_t mask = 0;  // PageMask[28:13] as written: the VPN bits the match ignores
  uint32_t vpn2 = 0;  // EntryHi[31:13], with the masked bits cleared
  uint8_t asid = 0;
  bool global = false;  // G: matches any ASID (EntryLo0.G & EntryLo1.G at write time)
  std::array<uint32_t, 2> lo{};  // EntryLo0/1 (PFN, C, D, V), G cleared
};

enum class TlbFault : uint8_t { None, Refill, Invalid, Modified };

struct TlbTranslation {
  TlbFault fault = TlbFault::None;
  uint32_t paddr = 0;
  uint32_t page_bytes = 0;  // the size of the page the address fell in (4 KiB .. 256 MiB)
};

// EntryHi's fields, and Index.P (set by a TLBP that found nothing).
inline constexpr uint32_t kVpn2Mask = 0xffffe000u;  // EntryHi[31:13]
inline constexpr uint32_t kAsidMask = 0xffu;
inline constexpr uint32_t kIndexProbeFailed = 1u << 31;

// EntryLo fields.
struct EntryLoBits {
  static constexpr uint32_t G = 1u << 0, V = 1u << 1, D = 1u << 2, C = 7u << 3;
  static constexpr unsigned PfnShift = 6;
  static constexpr uint32_t Pfn = 0xfffffu << PfnShift;
};

// Whether entry `e` maps `vaddr` in address space `asid`.
inline bool matches(const TlbEntry& e, uint32_t vaddr, uint8_t asid) {
  return ((vaddr & 0xffffe000u) & ~e.mask) == e.vpn2 && (e.global || e.asid == asid);
}
// The physical address of `vaddr` through entry `e` (which matches it), or the fault.
TlbTranslation translate(const TlbEntry& e, uint32_t vaddr, bool store);
// The virtual pages (address >> 12) [first, last] the pair of entry `e` spans.
inline std::pair<uint32_t, uint32_t> pages_of(const TlbEntry& e) {
  const uint32_t first = e.vpn2 >> 12;
  return {first, first + ((e.mask + 0x2000u) >> 12) - 1};
}
// Whether either page of the pair is valid (an entry that can translate something).
inline bool any_valid(const TlbEntry& e) { return ((e.lo[0] | e.lo[1]) & EntryLoBits::V) != 0; }

class Tlb {
 public:
  explicit Tlb(unsigned entries = 16);

  unsigned size() const { return static_cast<unsigned>(entries_.size()); }
  const TlbEntry& entry(unsigned i) const { return entries_[i]; }

  // The first entry mapping `vaddr` in address space `asid`, or -1 (a refill).
  int match(uint32_t vaddr, uint8_t asid) const;
  // The physical address of `vaddr` through entry `index` (from match), or the fault.
  TlbTranslation translate(unsigned index, uint32_t vaddr, bool store) const;

  // TLBP: Index = the matching entry of EntryHi, or Index.P set.
  void probe(Cp0& cp0) const;
  // TLBR: EntryHi, EntryLo0/1 and PageMask from entry Index (an index beyond the TLB wraps, as the
  // 24K decodes only the low bits).
  void read(Cp0& cp0) const;
  // TLBWI (index = Index) and TLBWR (index = Random).
  void write(const Cp0& cp0, unsigned index);

  uint64_t generation() const { return generation_; }

 private:
  // The index that makes match() a lookup, not a scan of every entry: entries are chained, in
  // index order, in the bucket of their VPN2 (its bits above the entry's own page mask), and
  // match() looks in one bucket per page mask in use (Linux uses one: 4 KiB).
  unsigned bucket_of(uint32_t vpn2) const { return (vpn2 >> 13) * 0x9e3779b1u >> bucket_shift_; }
  void link(unsigned index);
  void unlink(unsigned index);
  // masks_'s row for `mask`, or its end.
  std::vector<std::pair<uint32_t, unsigned>>::iterator mask_in_use(uint32_t mask);

  std::vector<TlbEntry> entries_;
  uint64_t generation_ = 0;
  unsigned bucket_shift_;
  std::vector<int16_t> head_;  // per bucket: its first entry, or -1
  std::vector<int16_t> next_;  // per entry: the next in its bucket, or -1
  std::vector<std::pair<uint32_t, unsigned>> masks_;  // the page masks in use, with their entries
};

}  // namespace disco::mips
