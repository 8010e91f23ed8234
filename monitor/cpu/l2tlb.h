// The second-level TLB of a vcpu (the Disco paper's section 4.2.2): guest TLB entries the
// guest's own 16-entry JTLB has let go, kept so that a later miss on them is answered without
// entering the guest ("virtual machines appear to have much larger TLBs"). Under the monitor it
// is the monitor's software L2TLB, which fills the machine TLB; in bare mode it stands behind the
// emulated JTLB as QEMU's hidden "shadow" entries do (QEMU keeps up to 112 entries TLBWR evicted),
// so a guest touching more pages than the JTLB maps takes the refills QEMU's would, not 37x as
// many. The interpreter applies the rules below for both (`--l2tlb-entries 0`: a bare JTLB).
//
// It holds what the guest wrote, guest physical frames and all, so it stays right whatever
// happens to machine memory. Only 4 KiB page pairs are kept (PageMask 0: every user mapping of
// the stock kernel); set-associative, 4 ways, round-robin in a set.
//
// What may sit here is what the guest can no longer tell is cached, under these rules: an entry
// TLBWR evicted comes here; an entry TLBWI overwrote does not (the guest meant it to go); a TLBP
// that misses the JTLB and every newly written entry drop what they match; a guest that
// overwrites every TLB entry it does not wire with invalid ones through TLBWI (Linux's
// local_flush_tlb_all) clears it.
#pragma once

#include <cstdint>
#include <vector>

#include "monitor/cpu/tlb.h"

namespace disco::mips {

class L2Tlb {
 public:
  static constexpr unsigned kWays = 4;
  static constexpr unsigned kMaxEntries = 1u << 20;  // 24 MiB of host memory, 8 GiB of reach
  // `entries`: a multiple of 4 whose quarter is a power of two, up to kMaxEntries, or 0 (none).
  explicit L2Tlb(unsigned entries);
  static bool valid_size(unsigned entries);

  // The kept entry that maps vaddr in address space `asid`, or nullptr.
  const TlbEntry* lookup(uint32_t vaddr, uint8_t asid) const;
  // Keeps `e` (a 4 KiB pair that translates something; others are ignored).
  void insert(const TlbEntry& e);
  // Drops the entries that `e` would match or overlap (its range, its ASID or global).
  void drop_overlapping(const TlbEntry& e);
  void clear();
  unsigned capacity() const { return static_cast<unsigned>(slots_.size()); }

  // The rules, applied on the guest's TLB instructions. A TLBWI (random = false) or TLBWR of
  // `tlb`'s entry `index` over `replaced`, with Wired = `wired`: true when that write completed
  // a flush of the whole TLB and everything kept went too.
  bool tlb_written(const Tlb& tlb, unsigned index, const TlbEntry& replaced, bool random, unsigned wired);
  // A TLBP of EntryHi `hi` that missed the JTLB: the guest now believes the page is not cached.
  void probe_missed(uint32_t hi);

 private:
  struct Slot {
    TlbEntry entry;
    bool used = false;
  };
  Slot* set_of(uint32_t vpn2) { return &slots_[((vpn2 >> 13) & set_mask_) * kWays]; }
  const Slot* set_of(uint32_t vpn2) const { return &slots_[((vpn2 >> 13) & set_mask_) * kWays]; }

  std::vector<Slot> slots_;
  std::vector<uint8_t> victim_;
  uint32_t set_mask_ = 0;
  uint64_t written_by_tlbwi_ = 0;  // JTLB indexes TLBWI last wrote invalid (tlb_written's flush)
};

}  // namespace disco::mips
