#include "monitor/loader/mips_code_scan.h"

#include <algorithm>
#include <array>

namespace disco::boot {
namespace {

// MIPS32 encodings (MIPS32 Architecture Vol. II, MD00086).
constexpr uint32_t kOpSpecial = 0x00, kOpBne = 0x05, kOpAddiu = 0x09, kOpOri = 0x0d, kOpLui = 0x0f, kOpSw = 0x2b;
constexpr uint32_t kFunctJr = 0x08, kFunctJalr = 0x09;
constexpr uint32_t kT9 = 25;
constexpr size_t kPairWindow = 8;  // how far apart the compiler schedules lui and its addiu/ori

uint32_t word_at(std::span<const uint8_t> code, size_t index) {
  const uint8_t* b = code.data() + 4 * index;
  return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
}

uint32_t op(uint32_t w) { return w >> 26; }
uint32_t rs(uint32_t w) { return (w >> 21) & 31; }
uint32_t rt(uint32_t w) { return (w >> 16) & 31; }
uint32_t rd(uint32_t w) { return (w >> 11) & 31; }
uint32_t imm(uint32_t w) { return w & 0xffff; }
uint32_t simm(uint32_t w) { return uint32_t(int32_t(int16_t(w & 0xffff))); }

// `addiu|ori r,r,lo` applied to the value `high` of r, or nullopt if w is neither on r.
std::optional<uint32_t> apply_low(uint32_t w, uint32_t r, uint32_t high) {
  if (rs(w) != r || rt(w) != r) return std::nullopt;
  if (op(w) == kOpAddiu) return high + simm(w);
  if (op(w) == kOpOri) return high | imm(w);
  return std::nullopt;
}

// The register an instruction may write, for the ones that do (conservative: anything not known
// to leave registers alone clobbers its rt or rd field).
std::optional<uint32_t> written_register(uint32_t w) {
  switch (op(w)) {
    case kOpSpecial: return rd(w);
    case 0x01: case 0x02: case 0x04: case 0x05: case 0x06: case 0x07: return std::nullopt;  // regimm, j, branches
    case 0x03: return 31;                                                                  // jal
    case 0x10: return (rs(w) == 0) ? std::optional<uint32_t>(rt(w)) : std::nullopt;       // mfc0 vs mtc0/co
    case 0x1c: return rd(w);                                                               // special2
    case 0x28: case 0x29: case 0x2a: case 0x2b: case 0x2e: case 0x2f: return std::nullopt; // stores, cache
    case 0x1f: return (w & 0x3f) == 0x3b ? rt(w) : rd(w);                                  // special3 (rdhwr: rt)
    default: return rt(w);
  }
}

}  // namespace

std::optional<uint32_t> find_t9_jump(std::span<const uint8_t> code, const std::function<bool(uint32_t)>& accept) {
  const size_t words = code.size() / 4;
  for (size_t i = 0; i + 3 <= words; ++i) {
    const uint32_t lui = word_at(code, i), low = word_at(code, i + 1), jump = word_at(code, i + 2);
    if (op(lui) != kOpLui || rt(lui) != kT9) continue;
    const std::optional<uint32_t> target = apply_low(low, kT9, imm(lui) << 16);
    if (!target) continue;
    const bool jumps = op(jump) == kOpSpecial && rs(jump) == kT9 && rt(jump) == 0 &&
                       ((jump & 0x3f) == kFunctJr || (jump & 0x3f) == kFunctJalr);
    if (jumps && accept(*target)) return target;
  }
  return std::nullopt;
}

bool materialises_constant(std::span<const uint8_t> code, uint32_t value) {
  const size_t words = code.size() / 4;
  for (size_t i = 0; i < words; ++i) {
    const uint32_t lui = word_at(code, i);
    if (op(lui) != kOpLui || rs(lui) != 0) continue;
    const uint32_t high = imm(lui) << 16;
    if (high == value) return true;
    for (size_t j = i + 1; j < words && j <= i + kPairWindow; ++j)
      if (apply_low(word_at(code, j), rt(lui), high) == value) return true;
  }
  return false;
}

std::optional<BssRange> find_bss_clear(std::span<const uint8_t> code) {
  std::array<std::optional<uint32_t>, 32> known{};
  std::optional<uint32_t> cursor;  // rA: the register the first `sw zero` stored through
  std::optional<uint32_t> start;
  const size_t words = std::min(code.size() / 4, kBssScanWords);
  for (size_t i = 0; i < words; ++i) {
    const uint32_t w = word_at(code, i);
    if (op(w) == kOpLui) {
      known[rt(w)] = imm(w) << 16;
    } else if ((op(w) == kOpAddiu || op(w) == kOpOri) && known[rs(w)]) {
      known[rt(w)] = op(w) == kOpAddiu ? *known[rs(w)] + simm(w) : *known[rs(w)] | imm(w);
    } else if (op(w) == kOpSw && rt(w) == 0 && imm(w) == 0 && !cursor && known[rs(w)]) {
      cursor = rs(w);
      start = known[rs(w)];
    } else if (op(w) == kOpBne && cursor && (rs(w) == *cursor || rt(w) == *cursor)) {
      const std::optional<uint32_t> last = known[rs(w) == *cursor ? rt(w) : rs(w)];
      if (!last || *last < *start || *last > UINT32_MAX - 4) return std::nullopt;
      return BssRange{.start = *start, .end = *last + 4};
    } else if (const std::optional<uint32_t> r = written_register(w)) {
      known[*r].reset();
    }
    known[0] = 0;
  }
  return std::nullopt;
}

}  // namespace disco::boot
