// Test support: the interpreter tests run code and data at kuseg addresses (0x00400000) in
// kernel and user mode, where the CPU translates through the JTLB. Four global 256 MiB page
// pairs map all of kuseg onto the same physical addresses, so those tests see flat memory.
#pragma once

#include "monitor/cpu/vcpu.h"

namespace disco::mips::test {

inline void map_kuseg_identity(Vcpu& v) {
  constexpr uint32_t kPage = 256u << 20;
  constexpr uint32_t kPageMask = 0x1fffe000;  // 256 MiB pages
  const auto lo = [](uint32_t pa) { return (pa >> 12) << EntryLoBits::PfnShift | EntryLoBits::G | EntryLoBits::V | EntryLoBits::D; };
  Cp0 scratch;
  for (unsigned i = 0; i < 4; ++i) {
    const uint32_t va = i * 2 * kPage;
    scratch.raw(cp0::PageMask) = kPageMask;
    scratch.raw(cp0::EntryHi) = va;
    scratch.raw(cp0::EntryLo0) = lo(va);
    scratch.raw(cp0::EntryLo1) = lo(va + kPage);
    v.tlb.write(scratch, i);
  }
}

}  // namespace disco::mips::test
