// The JTLB and address translation (MD00090 §4.3, ch. 6 for the TLB exceptions): matching with
// page masks, ASIDs and the global bit, the TLB instructions on their CP0 registers, the
// segments, the three TLB exceptions with what they leave in CP0 and where they vector, and a
// Linux-shaped refill handler that walks a page table and retries the faulting load.
#include <gtest/gtest.h>

#include <iterator>
#include <random>

#include "monitor/cpu/interpreter.h"
#include "tests/monitor/kseg_memory.h"

namespace disco::mips {
namespace {

using namespace test;

constexpr uint32_t kEbase = 0x80000000;
constexpr uint32_t kHandlerCode = 0x80010000;  // kernel code lives in kseg0

uint32_t entry_lo(uint32_t pa, uint32_t bits) { return (pa >> 12) << EntryLoBits::PfnShift | bits; }
constexpr uint32_t kValid = EntryLoBits::V, kDirty = EntryLoBits::D, kGlobal = EntryLoBits::G;

// Writes TLB entry `index` through CP0 as TLBWI would.
void write_entry(Vcpu& v, unsigned index, uint32_t entry_hi, uint32_t lo0, uint32_t lo1, uint32_t page_mask = 0) {
  v.cp0.raw(cp0::EntryHi) = entry_hi;
  v.cp0.raw(cp0::EntryLo0) = lo0;
  v.cp0.raw(cp0::EntryLo1) = lo1;
  v.cp0.raw(cp0::PageMask) = page_mask;
  v.tlb.write(v.cp0, index);
}

// Kernel mode with EXL/ERL/BEV clear, so kuseg is mapped (and empty); code in kseg0.
struct Cpu : KsegCpu {
  Cpu() : KsegCpu(0, false, kHandlerCode) {}
};

TEST(Tlb, MatchesByPageMaskAsidAndGlobal) {
  Vcpu v;
  write_entry(v, 0, 0x00400000 | 5, entry_lo(0x00100000, kValid), entry_lo(0x00200000, kValid));
  write_entry(v, 1, 0x10000000 | 7, entry_lo(0x01000000, kValid | kGlobal), entry_lo(0x01400000, kValid | kGlobal),
              0x007fe000);  // 4 MiB pages: the pair covers 8 MiB
  EXPECT_EQ(v.tlb.match(0x00400abc, 5), 0);
  EXPECT_EQ(v.tlb.match(0x00401abc, 5), 0) << "the odd page of the pair";
  EXPECT_EQ(v.tlb.match(0x00402000, 5), -1) << "past the pair";
  EXPECT_EQ(v.tlb.match(0x00400abc, 6), -1) << "another ASID";
  EXPECT_EQ(v.tlb.match(0x107fffff, 200), 1) << "global: any ASID, anywhere in the 8 MiB";
  EXPECT_EQ(v.tlb.match(0x10800000, 7), -1);

  EXPECT_EQ(v.tlb.translate(0, 0x00400abc, false).paddr, 0x00100abcu);
  EXPECT_EQ(v.tlb.translate(0, 0x00401abc, false).paddr, 0x00200abcu);
  EXPECT_EQ(v.tlb.translate(1, 0x10123456, false).paddr, 0x01123456u);
  EXPECT_EQ(v.tlb.translate(1, 0x10523456, false).paddr, 0x01523456u) << "odd 4 MiB page";
  EXPECT_EQ(v.tlb.translate(1, 0x10523456, false).page_bytes, 4u << 20);
  EXPECT_EQ(v.tlb.translate(0, 0x00400000, true).fault, TlbFault::Modified) << "D clear";

  write_entry(v, 2, 0x00600000, entry_lo(0x3000, kValid | kDirty), 0);
  EXPECT_EQ(v.tlb.translate(2, 0x00600010, true).fault, TlbFault::None);
  EXPECT_EQ(v.tlb.translate(2, 0x00601010, false).fault, TlbFault::Invalid) << "V clear on the odd page";
}

// match() is a hashed lookup: over random writes (few VPN2s, so entries collide; every page
// size and stray mask bits; ASIDs and global entries), it answers what a scan of the entries in
// index order answers, for addresses in and around every entry, and for a copy of the TLB.
TEST(Tlb, MatchFindsTheFirstMatchingEntryAsAScanWould) {
  std::mt19937 rng(7);
  const uint32_t masks[] = {0, 0x6000, 0x1e000, 0x7e000, 0x1fe000, 0x7fe000, 0x1ffe000, 0x7ffe000, 0x1fffe000, 0x12000};
  Vcpu v;
  const auto scan = [](const Tlb& tlb, uint32_t vaddr, uint8_t asid) {
    for (unsigned i = 0; i < tlb.size(); ++i)
      if (matches(tlb.entry(i), vaddr, asid)) return static_cast<int>(i);
    return -1;
  };
  for (int round = 0; round < 3000; ++round) {
    const uint32_t hi = (rng() % 24) << 13 | (rng() % 4) << 28 | (rng() % 3);  // VPN2s that repeat; ASID 0..2
    const uint32_t mask = rng() % 4 == 0 ? masks[rng() % std::size(masks)] : 0;
    const uint32_t g = rng() % 5 == 0 ? kGlobal : 0;
    write_entry(v, rng() % v.tlb.size(), hi, entry_lo(0x100000, kValid | g), entry_lo(0x200000, kValid | g), mask);
    const Tlb copy = v.tlb;
    for (unsigned i = 0; i < v.tlb.size(); ++i) {
      const TlbEntry& e = v.tlb.entry(i);
      for (const uint32_t vaddr : {e.vpn2, e.vpn2 + 0x1ffc, e.vpn2 + e.mask + 0x1000, e.vpn2 + e.mask + 0x2000,
                                   e.vpn2 - 4, static_cast<uint32_t>(rng())})
        for (uint8_t asid = 0; asid < 3; ++asid) {
          ASSERT_EQ(v.tlb.match(vaddr, asid), scan(v.tlb, vaddr, asid)) << std::hex << vaddr << " round " << std::dec << round;
          ASSERT_EQ(copy.match(vaddr, asid), scan(v.tlb, vaddr, asid));
        }
    }
  }
}

TEST(Tlb, ProbeReadAndWriteGoThroughCp0) {
  Vcpu v;
  write_entry(v, 3, 0x7fff2000 | 9, entry_lo(0x5000, kValid | kDirty | kGlobal), entry_lo(0x6000, kValid | kGlobal),
              0x00006000);  // 16 KiB pages
  v.cp0.raw(cp0::EntryHi) = 0x7fff4000 | 1;  // same 32 KiB pair: global matches ASID 1
  v.tlb.probe(v.cp0);
  EXPECT_EQ(v.cp0.raw(cp0::Index), 3u);
  v.cp0.raw(cp0::EntryHi) = 0x12340000;
  v.tlb.probe(v.cp0);
  EXPECT_EQ(v.cp0.raw(cp0::Index), 0x80000000u) << "Index.P on a miss";

  v.cp0.raw(cp0::Index) = 3;
  v.tlb.read(v.cp0);
  EXPECT_EQ(v.cp0.raw(cp0::EntryHi), 0x7fff0000u | 9) << "VPN2 bits under the mask read back as 0";
  EXPECT_EQ(v.cp0.raw(cp0::PageMask), 0x00006000u);
  EXPECT_EQ(v.cp0.raw(cp0::EntryLo0), entry_lo(0x5000, kValid | kDirty | kGlobal));
  EXPECT_EQ(v.cp0.raw(cp0::EntryLo1), entry_lo(0x6000, kValid | kGlobal));

  // G is the AND of both halves: one non-global half makes the entry ASID-bound.
  write_entry(v, 4, 0x00800000 | 2, entry_lo(0x7000, kValid | kGlobal), entry_lo(0x8000, kValid));
  EXPECT_EQ(v.tlb.match(0x00800000, 3), -1);
  EXPECT_EQ(v.tlb.match(0x00800000, 2), 4);
}

TEST(Tlb, SegmentsAndUserModeChecks) {
  Cpu t;
  t.memory.set_word(0x2000, 0x11111111);
  t.v.gpr[1] = 0x80002000;
  t.v.gpr[2] = 0xa0002000;
  t.code({lw(3, 1, 0), lw(4, 2, 0), lw(5, 2, 4)});
  EXPECT_EQ(t.run().exc, Exception::None);
  EXPECT_EQ(t.run().exc, Exception::None);
  EXPECT_EQ(t.v.gpr[3], 0x11111111u) << "kseg0";
  EXPECT_EQ(t.v.gpr[4], 0x11111111u) << "kseg1 is the same physical memory";

  // With ERL set kuseg is unmapped: reset code runs before any TLB entry exists.
  t.v.cp0.raw(cp0::Status) = StatusBits::ERL;
  t.v.gpr[6] = 0x2000;
  t.code({lw(7, 6, 0)});
  EXPECT_EQ(t.run().exc, Exception::None);
  EXPECT_EQ(t.v.gpr[7], 0x11111111u);

  // A user-mode load from kseg0 is an address error, even though kseg0 needs no TLB.
  t.v.cp0.raw(cp0::Status) = StatusBits::UM;
  write_entry(t.v, 0, 0x00400000, entry_lo(0x10000, kValid | kGlobal), entry_lo(0x11000, kValid | kGlobal));
  t.memory.set_word(0x10000, lw(3, 1, 0));
  t.interpreter.invalidate_page(0x10000);
  t.v.jump_to(0x00400000);
  const StepResult r = t.interpreter.step(t.v, t.memory);
  EXPECT_EQ(r.exc, Exception::AddressErrorLoad);
  EXPECT_EQ(r.bad_vaddr, 0x80002000u);
}

TEST(Tlb, RefillInvalidAndModifiedSetCp0AndVector) {
  struct Case {
    const char* what;
    uint32_t lo1;  // the odd page of the pair at 0x00402000 (the even one is absent: refill)
    uint32_t va;
    bool store;
    uint32_t status;
    uint32_t exc_code;
    uint32_t vector;
  };
  const Case cases[] = {
      {"load refill", 0, 0x00400010, false, 0, 2, kEbase + 0x000},
      {"store refill", 0, 0x00400010, true, 0, 3, kEbase + 0x000},
      {"refill with EXL set goes to the general vector", 0, 0x00400010, false, StatusBits::EXL, 2, kEbase + 0x180},
      {"refill with BEV", 0, 0x00400010, false, StatusBits::BEV, 2, 0xbfc00200},
      {"invalid", entry_lo(0x9000, kDirty), 0x00403010, false, 0, 2, kEbase + 0x180},
      {"modified", entry_lo(0x9000, kValid), 0x00403010, true, 0, 1, kEbase + 0x180},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.what);
    Cpu t;
    t.v.cp0.raw(cp0::Status) = k.status;
    write_entry(t.v, 0, 0x00402000 | 0x42, 0, k.lo1);
    t.v.cp0.raw(cp0::EntryHi) = 0x42;  // the current ASID, kept by the exception
    t.v.cp0.raw(cp0::Context) = 0xc0000000;
    t.v.gpr[1] = k.va;
    t.code({k.store ? sw(2, 1, 0) : lw(2, 1, 0)});
    t.run();
    EXPECT_EQ((t.reg(cp0::Cause) >> 2) & 0x1f, k.exc_code);
    EXPECT_EQ(t.reg(cp0::BadVAddr), k.va);
    EXPECT_EQ(t.reg(cp0::Context), 0xc0000000u | (k.va >> 13) << 4);
    EXPECT_EQ(t.reg(cp0::EntryHi), (k.va & 0xffffe000u) | 0x42);
    EXPECT_EQ(t.v.pc, k.vector);
    if (!(k.status & StatusBits::EXL)) {
      EXPECT_EQ(t.reg(cp0::EPC), kHandlerCode);
    }
  }
}

TEST(Tlb, RewritingAnEntryRetiresCachedTranslations) {
  Cpu t;
  t.memory.set_word(0x20000, 0xaaaa);
  t.memory.set_word(0x30000, 0xbbbb);
  write_entry(t.v, 0, 0x00400000, entry_lo(0x20000, kValid | kGlobal), entry_lo(0x21000, kValid | kGlobal));
  t.v.gpr[1] = 0x00400000;
  t.code({lw(2, 1, 0), kTlbwi, lw(3, 1, 0)});
  EXPECT_EQ(t.run().exc, Exception::None);
  EXPECT_EQ(t.v.gpr[2], 0xaaaau);
  // The guest rewrites entry 0 to another frame with tlbwi.
  t.v.cp0.raw(cp0::Index) = 0;
  t.v.cp0.raw(cp0::EntryLo0) = entry_lo(0x30000, kValid | kGlobal);
  t.v.cp0.raw(cp0::EntryLo1) = entry_lo(0x31000, kValid | kGlobal);
  EXPECT_EQ(t.run().exc, Exception::None);
  EXPECT_EQ(t.run().exc, Exception::None);
  EXPECT_EQ(t.v.gpr[3], 0xbbbbu) << "a translation cached before the tlbwi was used";
}

// A TLBWI retires exactly the translations of the entry it replaced and of the one it wrote,
// whatever their page sizes (4 KiB to 16 MiB), loads and stores alike; the other entries'
// translations stay right.
TEST(Tlb, AWriteRetiresTheTranslationsOfBothEntriesAndKeepsTheOthers) {
  for (const uint32_t old_mask : {0u, 0x01ffe000u})    // the replaced entry: 4 KiB or 16 MiB pages
  for (const uint32_t new_mask : {0u, 0x00006000u, 0x01ffe000u}) {  // the new one: 4, 16 KiB, 16 MiB
    Cpu t;
    const std::string what = "masks " + std::to_string(old_mask) + " -> " + std::to_string(new_mask);
    for (uint32_t f = 0; f < 8; ++f) t.memory.set_word(0x100000 + f * 0x1000, 0xa0 + f);
    t.memory.set_word(0x400000, 0xb0);
    t.memory.set_word(0x300000, 0xc0);
    // Entry 0 maps the pair at 0x02000000, entry 1 0x00400000 -> 0x400000, and the new entry
    // the pair at 0x04000000; a 16 MiB page's frame is 0, so its accesses are 0x101000 and
    // 0x300000 into it. The old entry's access is on its odd 4 KiB page, so that it and the
    // new entry's hash to different slots of the soft TLB.
    const bool old_large = old_mask != 0, new_large = new_mask == 0x01ffe000u;
    write_entry(t.v, 0, 0x02000000, entry_lo(old_large ? 0 : 0x100000, kValid | kDirty | kGlobal),
                entry_lo(old_large ? 0x1000000 : 0x101000, kValid | kDirty | kGlobal), old_mask);
    write_entry(t.v, 1, 0x00400000, entry_lo(0x400000, kValid | kDirty | kGlobal), 0);
    t.v.gpr[1] = 0x02000000 + (old_large ? 0x101000 : 0x1000);
    t.v.gpr[2] = 0x00400000;
    t.v.gpr[3] = 0x04000000 + (new_large ? 0x300000 : 0);
    t.code({lw(4, 1, 0), sw(4, 1, 4), lw(5, 2, 0), kTlbwi, lw(6, 2, 0), lw(7, 3, 0), sw(7, 3, 8), lw(8, 1, 0)});
    for (int i = 0; i < 3; ++i) ASSERT_EQ(t.run().exc, Exception::None) << what;
    EXPECT_EQ(t.v.gpr[4], 0xa1u) << what;
    t.v.cp0.raw(cp0::Index) = 0;
    t.v.cp0.raw(cp0::EntryHi) = 0x04000000;
    t.v.cp0.raw(cp0::EntryLo0) = entry_lo(new_large ? 0 : 0x300000, kValid | kDirty | kGlobal);
    t.v.cp0.raw(cp0::EntryLo1) = 0;
    t.v.cp0.raw(cp0::PageMask) = new_mask;
    ASSERT_EQ(t.run().exc, Exception::None) << what;  // tlbwi
    ASSERT_EQ(t.run().exc, Exception::None) << what;
    EXPECT_EQ(t.v.gpr[6], 0xb0u) << what << ": entry 1 still translates";
    ASSERT_EQ(t.run().exc, Exception::None) << what;
    EXPECT_EQ(t.v.gpr[7], 0xc0u) << what << ": the new entry translates";
    ASSERT_EQ(t.run().exc, Exception::None) << what << ": a store through the new entry";
    EXPECT_EQ(t.run().exc, Exception::TlbLoad) << what << ": the replaced entry's page was still cached";
  }
}

// Bare mode's L2TLB (l2tlb.h): an entry TLBWR evicted still translates without a refill; a TLBP
// that misses it makes the guest's belief true (the next access refills); with no L2TLB the
// evicted entry is gone at once.
TEST(Tlb, TlbwrKeepsTheEvictedEntryInTheL2TlbUntilAProbeMisses) {
  for (const unsigned kept : {0u, 64u}) {
    Cpu t;
    t.v.l2tlb = L2Tlb(kept);
    t.v.cp0.raw(cp0::Wired) = 15;  // Random is 15: TLBWR writes entry 15
    t.memory.set_word(0x20000, 0x11);
    t.memory.set_word(0x30000, 0x22);
    write_entry(t.v, 15, 0x00400000, entry_lo(0x20000, kValid | kGlobal), 0);
    t.v.gpr[1] = 0x00400000;
    t.v.gpr[2] = 0x00600000;
    t.code({lw(3, 1, 0), kTlbwr, lw(4, 2, 0), lw(5, 1, 0), kTlbp, lw(6, 1, 0)});
    ASSERT_EQ(t.run().exc, Exception::None);
    t.v.cp0.raw(cp0::EntryHi) = 0x00600000;  // the pair TLBWR writes
    t.v.cp0.raw(cp0::EntryLo0) = entry_lo(0x30000, kValid | kGlobal);
    t.v.cp0.raw(cp0::EntryLo1) = 0;
    ASSERT_EQ(t.run().exc, Exception::None);  // tlbwr over 0x00400000's entry
    ASSERT_EQ(t.run().exc, Exception::None);
    EXPECT_EQ(t.v.gpr[4], 0x22u);
    if (kept == 0) {
      EXPECT_EQ(t.run().exc, Exception::TlbLoad) << "no L2TLB: the evicted page refills";
      continue;
    }
    ASSERT_EQ(t.run().exc, Exception::None) << "the L2TLB answers for the evicted entry";
    EXPECT_EQ(t.v.gpr[5], 0x11u);
    EXPECT_EQ(t.interpreter.l2tlb_hits(), 1u);
    t.v.cp0.raw(cp0::EntryHi) = 0x00400000;
    ASSERT_EQ(t.run().exc, Exception::None);  // tlbp: misses the JTLB
    EXPECT_TRUE(t.v.cp0.raw(cp0::Index) & kIndexProbeFailed);
    EXPECT_EQ(t.run().exc, Exception::TlbLoad) << "after a probe missed it the page is not cached anywhere";
  }
}

TEST(Tlb, AsidSelectsTheAddressSpace) {
  Cpu t;
  t.memory.set_word(0x40000, 1);
  t.memory.set_word(0x50000, 2);
  write_entry(t.v, 0, 0x00400000 | 1, entry_lo(0x40000, kValid), 0);
  write_entry(t.v, 1, 0x00400000 | 2, entry_lo(0x50000, kValid), 0);
  t.v.gpr[1] = 0x00400000;
  t.v.gpr[4] = 2;
  // lw (ASID 1); mtc0 EntryHi <- 2 (a context switch); lw again; mtc0 EntryHi <- 3; lw: refill.
  t.v.cp0.raw(cp0::EntryHi) = 1;
  t.v.gpr[5] = 3;
  t.code({lw(2, 1, 0), mtc0(4, cp0::EntryHi), lw(3, 1, 0), mtc0(5, cp0::EntryHi), lw(6, 1, 0)});
  for (int i = 0; i < 4; ++i) EXPECT_EQ(t.run().exc, Exception::None);
  EXPECT_EQ(t.v.gpr[2], 1u);
  EXPECT_EQ(t.v.gpr[3], 2u) << "the soft TLB answered for the old ASID";
  EXPECT_EQ(t.run().exc, Exception::TlbLoad);
}

// Linux's refill handler shape (arch/mips/mm/tlbex.c, 32-bit, no huge pages): Context holds
// PTEBase | BadVPN2 << 4, i.e. the address of the even/odd PTE pair of the faulting page pair in
// a linear page table; load both, shift them into EntryLo form, tlbwr, eret. The load then
// succeeds at its second try.
TEST(Tlb, ALinuxShapedRefillHandlerMapsThePageAndTheLoadRetries) {
  Cpu t;
  constexpr uint32_t kPageTable = 0x80100000;  // the table: PTEBase = 0x80100000 (>> 4 fits Context[31:23])
  constexpr uint32_t kVa = 0x00402010;
  // PTE format of this test: the EntryLo value itself (the real kernel shifts; same instructions).
  const uint32_t pte_base = kPageTable;
  const uint32_t pte_pair = pte_base + ((kVa >> 13) << 3);
  t.memory.set_word(pte_pair & 0x1fffffff, entry_lo(0x60000, kValid | kDirty));
  t.memory.set_word((pte_pair + 4) & 0x1fffffff, entry_lo(0x61000, kValid | kDirty));
  t.memory.set_word(0x60010, 0x5a5a5a5a);
  t.v.cp0.raw(cp0::Context) = pte_base << 0;  // PTEBase field: Context[31:23] holds bits 31:23
  t.v.cp0.raw(cp0::Wired) = 1;
  // Refill handler at EBase + 0: mfc0 k0, Context; srl k0, 1 (BadVPN2<<4 -> pair offset <<3); or in PTEBase...
  // Context = PTEBase | BadVPN2 << 4; the pair is 8 bytes, so the offset is BadVPN2 << 3.
  const uint32_t k0 = 26, k1 = 27;
  const uint32_t srl_k1_k0_1 = r_type(0, k0, k1, 0x02) | 1u << 6;
  t.code(
      {
          mfc0(k0, cp0::Context),
          srl_k1_k0_1,                                    // srl  k1, k0, 1: BadVPN2 << 3 (and PTEBase >> 1)
          i_type(0b001111, 0, k0, 0x007f),                // lui  k0, 0x007f
          i_type(0b001101, k0, k0, 0xfff8),               // ori  k0, k0, 0xfff8: mask of the BadVPN2 << 3 bits
          r_type(k1, k0, k1, 0x24),                       // and  k1, k1, k0
          i_type(0b001111, 0, k0, kPageTable >> 16),      // lui  k0, PTEBase
          r_type(k0, k1, k1, 0x21),                       // addu k1, k0, k1
          lw(k0, k1, 0), lw(k1, k1, 4),
          mtc0(k0, cp0::EntryLo0), mtc0(k1, cp0::EntryLo1),
          kTlbwr, kEret,
      },
      kEbase);
  t.v.gpr[1] = kVa;
  t.code({lw(2, 1, 0)});
  EXPECT_EQ(t.run().exc, Exception::TlbLoad);
  EXPECT_EQ(t.v.pc, kEbase);
  for (int i = 0; i < 13 && t.v.pc != kHandlerCode; ++i) ASSERT_EQ(t.run().exc, Exception::None) << "handler step " << i;
  EXPECT_EQ(t.v.pc, kHandlerCode) << "eret returns to the load";
  EXPECT_EQ(t.run().exc, Exception::None);
  EXPECT_EQ(t.v.gpr[2], 0x5a5a5a5au);
  t.v.cp0.raw(cp0::EntryHi) = kVa & 0xffffe000;
  t.v.tlb.probe(t.v.cp0);
  EXPECT_GE(t.reg(cp0::Index), 1u) << "tlbwr wrote at or above Wired";
  EXPECT_LT(t.reg(cp0::Index), 16u);
}

}  // namespace
}  // namespace disco::mips
