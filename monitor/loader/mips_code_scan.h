// Pattern scans over little-endian MIPS32 code, used to read facts out of a kernel that has no
// symbol table: the address the decompressor jumps to, a constant it materialises, the bss range
// the kernel's kernel_entry clears. Each scan reads only inside the span it is given.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>

namespace disco::boot {

// The first target of `lui t9,hi; addiu|ori t9,t9,lo; jr|jalr t9` in `code` (what PTR_LA/PTR_LI
// t9 followed by a jump assemble to) that `accept` takes.
std::optional<uint32_t> find_t9_jump(std::span<const uint8_t> code, const std::function<bool(uint32_t)>& accept);

// True if `code` builds `value` in a register: `lui r,hi` alone (when the low half is 0), or
// followed within a few instructions by `addiu|ori r,r,lo` (the compiler interleaves).
bool materialises_constant(std::span<const uint8_t> code, uint32_t value);

struct BssRange {
  uint32_t start = 0, end = 0;  // kseg0, end exclusive
};

inline constexpr size_t kBssScanWords = 64;  // kernel_entry reaches its bss loop within ~16 words

// The range MIPS kernel_entry (arch/mips/kernel/head.S) zeroes: `sw zero,0(rA)` with rA built as
// a constant S, then a loop closed by `bne rA,rB` with rB built as the constant E: [S, E + 4).
// Straight-line constant tracking over the first kBssScanWords instructions of `code`.
std::optional<BssRange> find_bss_clear(std::span<const uint8_t> code);

}  // namespace disco::boot
