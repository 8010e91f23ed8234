// The decoder's two-level dispatch, built from an ISA table by the compiler (STYLE habit 6):
// primary opcode -> level; the level's index fields (kGroups) -> slot; slot -> the few lines that
// can match a word of that slot, most specific first. decode() then checks at most those lines'
// masks: no search over the whole table. decoder.cpp builds it for kIsa; tests build it for
// small hand-made tables as well.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "monitor/cpu/decoder.h"

namespace disco::mips {

// Second level of one primary opcode: slot = base + (hi.of(word) << lo.bits | lo.of(word)).
// An opcode outside kGroups has no index fields and a single slot.
struct DispatchLevel {
  Field hi;
  Field lo;
  uint16_t base = 0;
  constexpr unsigned key_bits() const { return hi.bits + lo.bits; }
  constexpr uint32_t key(uint32_t word) const { return hi.of(word) << lo.bits | lo.of(word); }
};

constexpr std::array<DispatchLevel, 64> make_dispatch_levels() {
  std::array<DispatchLevel, 64> levels{};
  unsigned base = 0;
  for (unsigned opcode = 0; opcode < 64; ++opcode) {
    DispatchLevel& level = levels[opcode];
    for (const OpcodeGroup& group : kGroups) {
      if (group.opcode == opcode) level = {.hi = group.hi, .lo = group.lo};
    }
    level.base = static_cast<uint16_t>(base);
    base += 1u << level.key_bits();
  }
  return levels;
}
inline constexpr std::array<DispatchLevel, 64> kDispatchLevels = make_dispatch_levels();
inline constexpr std::size_t kDispatchSlots =
    kDispatchLevels[63].base + (std::size_t{1} << kDispatchLevels[63].key_bits());
static_assert(kDispatchSlots <= 0xffff);

// Calls visit(slot) for every slot whose words the line can match. A line must fix the primary
// opcode; '-' bits inside the index fields put it in several slots (BC1F's offset overlaps
// funct, so it sits in all 64 funct slots of COP1 rs=BC).
template <class Visit>
constexpr void for_each_slot(const IsaLine& line, Visit&& visit) {
  if (kOpcodeField.of(line.mask) != 0x3f) throw "mips_isa.inc: a pattern must fix bits 31..26";
  const DispatchLevel& level = kDispatchLevels[kOpcodeField.of(line.value)];
  const uint32_t all = (1u << level.key_bits()) - 1;
  const uint32_t want = level.key(line.value) & level.key(line.mask);
  const uint32_t free = all & ~level.key(line.mask);
  for (uint32_t sub = free;; sub = (sub - 1) & free) {  // every subset of the free key bits
    visit(level.base + (want | sub));
    if (sub == 0) break;
  }
}

template <std::size_t N>
constexpr std::size_t count_candidates(const std::array<IsaLine, N>& lines) {
  std::size_t count = 0;
  for (const IsaLine& line : lines) for_each_slot(line, [&](std::size_t) { ++count; });
  return count;
}

template <std::size_t Lines, std::size_t Candidates>
struct Dispatch {
  static constexpr uint16_t kNone = 0xffff;
  struct Slot {
    uint16_t first = 0;  // into candidates
    uint16_t count = 0;
  };

  std::array<uint32_t, Lines> mask{};   // per table line, beside each other for the scan
  std::array<uint32_t, Lines> value{};
  std::array<Slot, kDispatchSlots> slots{};
  std::array<uint16_t, Candidates> candidates{};  // table line indices, each slot's run most specific first

  static constexpr std::size_t slot_of(uint32_t word) {
    const DispatchLevel& level = kDispatchLevels[kOpcodeField.of(word)];
    return level.base + level.key(word);
  }
  // The index of the table line that decodes word, or kNone.
  constexpr uint16_t find(uint32_t word) const {
    const Slot slot = slots[slot_of(word)];
    for (unsigned i = slot.first; i < slot.first + slot.count; ++i) {
      const uint16_t line = candidates[i];
      if ((word & mask[line]) == value[line]) return line;
    }
    return kNone;
  }
};

// Builds the dispatch of a table; Candidates must be count_candidates(lines). Throws (a compile
// error when constant-evaluated) if two lines can match one word and neither fixes a strict
// superset of the other's bits: the table would be ambiguous.
template <std::size_t Candidates, std::size_t N>
constexpr Dispatch<N, Candidates> build_dispatch(const std::array<IsaLine, N>& lines) {
  static_assert(N < Dispatch<N, Candidates>::kNone);
  if (count_candidates(lines) != Candidates) throw "build_dispatch: Candidates != count_candidates(lines)";
  Dispatch<N, Candidates> d;
  for (std::size_t i = 0; i < N; ++i) {
    d.mask[i] = lines[i].mask;
    d.value[i] = lines[i].value;
  }

  // Visit lines from the most fixed bits to the fewest (stable), so every slot's run comes out
  // sorted: a line more specific than another fixes strictly more bits.
  std::array<uint16_t, N> order{};
  for (std::size_t i = 0; i < N; ++i) order[i] = static_cast<uint16_t>(i);
  for (std::size_t i = 1; i < N; ++i) {  // insertion sort: constexpr, stable, N is small
    const uint16_t line = order[i];
    std::size_t j = i;
    for (; j > 0 && std::popcount(lines[order[j - 1]].mask) < std::popcount(lines[line].mask); --j) {
      order[j] = order[j - 1];
    }
    order[j] = line;
  }

  for (const IsaLine& line : lines) for_each_slot(line, [&](std::size_t s) { ++d.slots[s].count; });
  unsigned first = 0;
  for (auto& slot : d.slots) {
    slot.first = static_cast<uint16_t>(first);
    first += slot.count;
    slot.count = 0;
  }
  for (const uint16_t index : order) {
    const IsaLine& line = lines[index];
    for_each_slot(line, [&](std::size_t s) {
      auto& slot = d.slots[s];
      for (unsigned k = slot.first; k < slot.first + slot.count; ++k) {
        const IsaLine& earlier = lines[d.candidates[k]];
        const bool overlap = ((earlier.value ^ line.value) & earlier.mask & line.mask) == 0;
        const bool strictly_more_specific = (earlier.mask & line.mask) == line.mask && earlier.mask != line.mask;
        if (overlap && !strictly_more_specific) throw "mips_isa.inc: two lines match one word";
      }
      d.candidates[slot.first + slot.count++] = index;
    });
  }
  return d;
}

}  // namespace disco::mips
