// The second-level software TLB of a vcpu (the paper's section 4.2.2): guest TLB entries the
// guest's own 16-entry TLB has let go, kept by the monitor so that a later miss on them is
// answered without entering the guest ("virtual machines appear to have much larger TLBs").
//
// It holds what the guest wrote, guest physical frames and all, so it stays right whatever
// happens to machine memory; the monitor translates to machine pages when it fills the machine
// TLB from it. Only 4 KiB page pairs are kept (PageMask 0: every user mapping of the stock
// kernel); set-associative, 4 ways, round-robin in a set.
//
// What may sit here is what the guest can no longer tell is cached, under these rules (the
// monitor's, vcpu_monitor.cpp): an entry TLBWR evicted comes here; an entry TLBWI overwrote does
// not (the guest meant it to go); TLBP and every newly written entry drop what they match; a
// guest that overwrites every TLB entry with TLBWI (Linux's local_flush_tlb_all) clears it.
#pragma once

#include <cstdint>
#include <vector>

#include "monitor/cpu/tlb.h"

namespace disco {

class L2Tlb {
 public:
  static constexpr unsigned kWays = 4;
  // `entries`: a multiple of 4 whose quarter is a power of two, or 0 (no L2TLB).
  explicit L2Tlb(unsigned entries);
  static bool valid_size(unsigned entries);

  // The kept entry that maps vaddr in address space `asid`, or nullptr.
  const mips::TlbEntry* lookup(uint32_t vaddr, uint8_t asid) const;
  // Keeps `e` (a 4 KiB pair that translates something; others are ignored).
  void insert(const mips::TlbEntry& e);
  // Drops the entries that `e` would match or overlap (its range, its ASID or global).
  void drop_overlapping(const mips::TlbEntry& e);
  void clear();
  unsigned capacity() const { return static_cast<unsigned>(slots_.size()); }

 private:
  struct Slot {
    mips::TlbEntry entry;
    bool used = false;
  };
  Slot* set_of(uint32_t vpn2) { return &slots_[((vpn2 >> 13) & set_mask_) * kWays]; }
  const Slot* set_of(uint32_t vpn2) const { return &slots_[((vpn2 >> 13) & set_mask_) * kWays]; }

  std::vector<Slot> slots_;
  std::vector<uint8_t> victim_;
  uint32_t set_mask_ = 0;
};

}  // namespace disco
