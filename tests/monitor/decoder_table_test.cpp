// The decode table and its dispatch (STYLE habit 6): every pattern well formed; no two lines
// match one word unless one is strictly more specific, and then it wins; every slot of the
// two-level dispatch decodes to a line that matches the word or to Reserved, agreeing with a
// linear search of the table; every Op is reachable; fields come out where the manual puts them.
#include <gtest/gtest.h>

#include <bit>
#include <random>
#include <set>
#include <string>

#include "monitor/cpu/decoder.h"
#include "monitor/cpu/dispatch.h"

namespace disco::mips {
namespace {

constexpr uint32_t kSeed = 20240601;  // printed by every randomised test through SCOPED_TRACE

// The oracle: a linear search of the pattern text (not make_line's masks) for the line that
// fixes the most bits. The table test below proves "most bits" is unambiguous.
Op reference_decode(uint32_t word) {
  const IsaLine* best = nullptr;
  for (const IsaLine& line : kIsa) {
    if (matches(line.pattern, word) && (best == nullptr || std::popcount(line.mask) > std::popcount(best->mask))) {
      best = &line;
    }
  }
  return best == nullptr ? Op::Reserved : best->op;
}

// A word of the line's pattern, with its '-' bits taken from noise.
uint32_t word_of(const IsaLine& line, uint32_t noise) { return line.value | (noise & ~line.mask); }

std::string hex(uint32_t word) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", word);
  return text;
}

TEST(IsaTable, PatternsAreWellFormedAndCompiledFaithfully) {
  std::mt19937 rng(kSeed);
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  for (const IsaLine& line : kIsa) {
    ASSERT_EQ(line.pattern.size(), 32u) << name(line.op);
    EXPECT_EQ(line.pattern.find_first_not_of("01-"), std::string_view::npos) << name(line.op);
    EXPECT_EQ(kOpcodeField.of(line.mask), 0x3fu) << name(line.op) << ": the primary opcode must be fixed";
    for (int i = 0; i < 64; ++i) {
      const uint32_t word = i % 2 ? uint32_t(rng()) : word_of(line, uint32_t(rng()));
      EXPECT_EQ(matches(line, word), matches(line.pattern, word)) << name(line.op) << " " << hex(word);
    }
  }
}

TEST(IsaTable, NamesAreUniqueAndFollowTheTable) {
  std::set<std::string_view> names{name(Op::Reserved)};
  EXPECT_EQ(name(Op::Reserved), "Reserved");
  for (std::size_t i = 0; i < kIsa.size(); ++i) {
    EXPECT_EQ(kIsa[i].op, static_cast<Op>(i + 1));
    EXPECT_EQ(&isa_line(kIsa[i].op), &kIsa[i]);
    EXPECT_TRUE(names.insert(name(kIsa[i].op)).second) << name(kIsa[i].op);
  }
  EXPECT_EQ(names.size(), kOpCount);
}

TEST(IsaTable, OverlappingLinesAreStrictlyNestedAndTheMoreSpecificWins) {
  std::mt19937 rng(kSeed);
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  for (const IsaLine& a : kIsa) {
    for (const IsaLine& b : kIsa) {
      if (&a == &b || ((a.value ^ b.value) & a.mask & b.mask) != 0) continue;  // no common word
      const bool a_in_b = (a.mask & b.mask) == b.mask && a.mask != b.mask;    // a fixes more
      const bool b_in_a = (a.mask & b.mask) == a.mask && a.mask != b.mask;
      ASSERT_TRUE(a_in_b || b_in_a) << name(a.op) << " and " << name(b.op) << " match a common word";
      const IsaLine& specific = a_in_b ? a : b;
      for (int i = 0; i < 16; ++i) {
        const uint32_t word = word_of(specific, uint32_t(rng()));
        EXPECT_EQ(decode(word).op, specific.op) << hex(word);
      }
    }
  }
}

// The dispatch on a hand-made table whose lines nest, listed least specific first: the build
// must sort each slot's run, and reject a table where two lines overlap without nesting.
TEST(Dispatch, MoreSpecificLineWinsAndAmbiguityIsRejected) {
  static constexpr std::array kNested = {
      make_line(Op::SLL, "000000--------------------------", 0),  // all of SPECIAL
      make_line(Op::ADD, "000000---------------00000100000", 0),  // one funct of it
      make_line(Op::ADDU, "00000000000000000000000000100000", 0), // one word of that
      make_line(Op::J, "000010--------------------------", 0),
  };
  constexpr auto nested = build_dispatch<count_candidates(kNested)>(kNested);
  EXPECT_EQ(nested.find(0x00000020), 2);  // all three match: the exact word wins
  EXPECT_EQ(nested.find(0x00641020), 1);  // add $2, $3, $4
  EXPECT_EQ(nested.find(0x00641021), 0);  // addu: only the catch-all
  EXPECT_EQ(nested.find(0x08000123), 3);
  EXPECT_EQ(nested.find(0x0c000000), nested.kNone);  // jal: no line

  static constexpr std::array kAmbiguous = {
      make_line(Op::SLL, "000000-----00000----------------", 0),  // rt = 0
      make_line(Op::SRL, "000000----------00000-----------", 0),  // rd = 0: neither nests
  };
  EXPECT_THROW((void)build_dispatch<count_candidates(kAmbiguous)>(kAmbiguous), const char*);
  static constexpr std::array kDuplicate = {
      make_line(Op::SLL, "000010--------------------------", 0),
      make_line(Op::SRL, "000010--------------------------", 0),
  };
  EXPECT_THROW((void)build_dispatch<count_candidates(kDuplicate)>(kDuplicate), const char*);
  EXPECT_THROW((void)make_line(Op::SLL, "00000", 0), const char*);
  EXPECT_THROW((void)make_line(Op::SLL, "000000-------------------------x", 0), const char*);
}

TEST(Dispatch, CandidateListsAreShort) {
  static constexpr auto dispatch = build_dispatch<count_candidates(kIsa)>(kIsa);
  unsigned longest = 0;
  for (const auto& slot : dispatch.slots) longest = std::max<unsigned>(longest, slot.count);
  EXPECT_LE(longest, 4u);  // BC1F/BC1T/BC1FL/BC1TL share every funct slot of COP1 rs=BC
  EXPECT_EQ(kDispatchSlots, 57 + 64 + 32 + 2048 + 2048 + 64 + 64 + 64);
}

// Habit 6's proof: every slot of every level maps to a line that matches the word or to
// Reserved, and agrees with the linear search.
TEST(Dispatch, EverySlotDecodesToAMatchingLineOrReserved) {
  std::mt19937 rng(kSeed);
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  std::set<Op> seen;
  unsigned slots = 0, reserved_samples = 0;
  for (uint32_t opcode = 0; opcode < 64; ++opcode) {
    Field hi, lo;  // the second-level index, read from kGroups (not from the dispatch)
    for (const OpcodeGroup& group : kGroups) {
      if (group.opcode != opcode) continue;
      hi = group.hi;
      lo = group.lo;
    }
    const uint32_t fixed = kOpcodeField.mask() | hi.mask() | lo.mask();
    for (uint32_t index = 0; index < (1u << (hi.bits + lo.bits)); ++index, ++slots) {
      const uint32_t slot_bits = opcode << 26 | (index >> lo.bits) << hi.shift | (index & ((1u << lo.bits) - 1)) << lo.shift;
      std::vector<uint32_t> samples = {slot_bits, slot_bits | ~fixed};
      for (int i = 0; i < 8; ++i) samples.push_back(slot_bits | (uint32_t(rng()) & ~fixed));
      for (const IsaLine& line : kIsa) {  // words of each line that can live in this slot
        const uint32_t word = slot_bits | (word_of(line, uint32_t(rng())) & ~fixed);
        if (matches(line, word)) samples.push_back(word);
      }
      for (const uint32_t word : samples) {
        const Decoded d = decode(word);
        if (d.op == Op::Reserved) {
          ++reserved_samples;
          EXPECT_EQ(d.flags, 0);
        } else {
          EXPECT_TRUE(matches(isa_line(d.op).pattern, word)) << name(d.op) << " " << hex(word);
          EXPECT_EQ(d.flags, isa_line(d.op).flags);
          seen.insert(d.op);
        }
        EXPECT_EQ(d.op, reference_decode(word)) << hex(word) << " decodes as " << name(d.op);
      }
    }
  }
  EXPECT_EQ(slots, kDispatchSlots);
  EXPECT_GT(reserved_samples, 0u);
  EXPECT_EQ(seen.size(), kIsa.size()) << "some Op is not reachable from its slots";
}

TEST(Dispatch, EveryOpIsReachableFromItsPattern) {
  std::mt19937 rng(kSeed);
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  for (const IsaLine& line : kIsa) {
    for (const uint32_t noise : {0u, ~0u, uint32_t(rng()), uint32_t(rng()), uint32_t(rng())}) {
      const uint32_t word = word_of(line, noise);
      EXPECT_EQ(decode(word).op, line.op) << hex(word);
    }
  }
}

TEST(Dispatch, RandomWordsAgreeWithLinearSearch) {
  std::mt19937 rng(kSeed);
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  for (int i = 0; i < 200000; ++i) {
    const uint32_t word = uint32_t(rng());
    ASSERT_EQ(decode(word).op, reference_decode(word)) << hex(word);
  }
}

// Words from GNU as (see all_instructions.S for how to make more).
TEST(Decoded, FieldsComeFromWhereTheManualPutsThem) {
  const Decoded addiu = decode(0x27bdffe0);  // addiu $sp, $sp, -32
  EXPECT_EQ(addiu.op, Op::ADDIU);
  EXPECT_EQ(addiu.rs, 29);
  EXPECT_EQ(addiu.rt, 29);
  EXPECT_EQ(addiu.imm, 0xffe0);
  EXPECT_EQ(addiu.simm, -32);

  const Decoded add = decode(0x00641020);  // add $2, $3, $4
  EXPECT_EQ(add.op, Op::ADD);
  EXPECT_EQ(add.rs, 3);
  EXPECT_EQ(add.rt, 4);
  EXPECT_EQ(add.rd, 2);
  EXPECT_EQ(add.sa, 0);
  EXPECT_EQ(add.funct, 0x20);

  const Decoded sll = decode(0x000317c0);  // sll $2, $3, 31
  EXPECT_EQ(sll.op, Op::SLL);
  EXPECT_EQ(sll.rt, 3);
  EXPECT_EQ(sll.rd, 2);
  EXPECT_EQ(sll.sa, 31);

  const Decoded ori = decode(0x35ee8000);  // ori $14, $15, 0x8000
  EXPECT_EQ(ori.op, Op::ORI);
  EXPECT_EQ(ori.imm, 0x8000);
  EXPECT_EQ(ori.simm, -32768);

  const Decoded lw = decode(0x8d28fffc);  // lw $8, -4($9)
  EXPECT_EQ(lw.op, Op::LW);
  EXPECT_EQ(lw.rs, 9);
  EXPECT_EQ(lw.rt, 8);
  EXPECT_EQ(lw.simm, -4);
  EXPECT_EQ(lw.flags, kLoad);

  const Decoded jal = decode(0x0fabcdef);  // jal, instr_index 0x3abcdef
  EXPECT_EQ(jal.op, Op::JAL);
  EXPECT_EQ(jal.target(), 0x3abcdefu);
  EXPECT_EQ(jal.flags, kBranch | kLink);

  const Decoded mfc0 = decode(0x40047801);  // mfc0 $4, $15, 1 (EBase)
  EXPECT_EQ(mfc0.op, Op::MFC0);
  EXPECT_EQ(mfc0.rt, 4);
  EXPECT_EQ(mfc0.rd, 15);
  EXPECT_EQ(mfc0.funct & 7, 1);
  EXPECT_EQ(mfc0.flags, kPrivileged);

  const Decoded ext = decode(0x7ca430c0);  // ext $4, $5, 3, 7: msbd = 6, lsb = 3
  EXPECT_EQ(ext.op, Op::EXT);
  EXPECT_EQ(ext.rs, 5);
  EXPECT_EQ(ext.rt, 4);
  EXPECT_EQ(ext.rd, 6);
  EXPECT_EQ(ext.sa, 3);

  const Decoded cngt = decode(0x4622073f);  // c.ngt.d $fcc7, $f0, $f2
  EXPECT_EQ(cngt.op, Op::C_COND_D);
  EXPECT_EQ(cngt.rt, 2);          // ft
  EXPECT_EQ(cngt.rd, 0);          // fs
  EXPECT_EQ(cngt.sa >> 2, 7);     // cc
  EXPECT_EQ(cngt.funct & 15, 15); // ngt

  const Decoded bc1tl = decode(0x45170001);  // bc1tl $fcc5, .+8
  EXPECT_EQ(bc1tl.op, Op::BC1TL);
  EXPECT_EQ(bc1tl.rt >> 2, 5);
  EXPECT_EQ(bc1tl.simm, 1);
  EXPECT_EQ(bc1tl.flags, kBranch | kLikely | kFpu);

  const Decoded movt = decode(0x012d4001);  // movt $8, $9, $fcc3
  EXPECT_EQ(movt.op, Op::MOVT);
  EXPECT_EQ(movt.rt >> 2, 3);
  EXPECT_EQ(movt.flags, kFpu);

  const Decoded jalr_hb = decode(0x00a0fc09);  // jalr.hb $5 (rd = 31)
  EXPECT_EQ(jalr_hb.op, Op::JALR);
  EXPECT_EQ(jalr_hb.rd, 31);
  EXPECT_EQ(jalr_hb.sa, 0x10);

  const Decoded maddd = decode(0x4cca4121);  // madd.d $f4, $f6, $f8, $f10
  EXPECT_EQ(maddd.op, Op::MADD_D);
  EXPECT_EQ(maddd.rs, 6);   // fr
  EXPECT_EQ(maddd.rt, 10);  // ft
  EXPECT_EQ(maddd.rd, 8);   // fs
  EXPECT_EQ(maddd.sa, 4);   // fd

  EXPECT_EQ(decode(0x46201025).flags, kFpu | kFr1);  // cvt.l.d $f0, $f2
}

TEST(Decoded, ReservedWords) {
  const Decoded bad = decode(0xfc641020);  // opcode 111111: SD on MIPS64, nothing on MIPS32
  EXPECT_EQ(bad.op, Op::Reserved);
  EXPECT_EQ(bad.flags, 0);
  EXPECT_EQ(bad.rd, 2);                                // fields still extracted
  EXPECT_EQ(decode(0x00641060).op, Op::Reserved);      // add with sa = 1: must-be-zero field
  EXPECT_EQ(decode(0x48000000).op, Op::Reserved);      // COP2: no CP2
  EXPECT_EQ(decode(0x74000000).op, Op::Reserved);      // JALX: no MIPS16e
  EXPECT_EQ(decode(0x46c01006).op, Op::Reserved);      // mov.ps $f0, $f2: no paired single
  EXPECT_EQ(decode(0x7e0000b8).op, Op::Reserved);      // SPECIAL3 funct 0x38: DSP ASE
}

}  // namespace
}  // namespace disco::mips
