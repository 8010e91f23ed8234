// The MIPS32r2 instruction decoder (STYLE habit 6). mips_isa.inc lists every encoding we execute
// as a bit pattern; dispatch.h turns that list into a two-level dispatch table at compile time;
// decode() maps a word to its Op, flags and fields. Call sequence: the interpreter predecodes a
// guest page once, decode(word) per word, and executes from the array of Decoded.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace disco::mips {

// What the interpreter must check before (or instead of) executing an encoding: MD00086's
// "Exceptions" and "Restrictions" paragraphs, reduced to bits.
enum InstFlags : uint16_t {
  kPrivileged = 1u << 0,  // CP0 instruction: Coprocessor Unusable (CE=0) in user mode unless Status.CU0
  kBranch = 1u << 1,      // transfers control after a delay slot
  kLikely = 1u << 2,      // branch-likely: the delay slot is annulled when the branch is not taken
  kLink = 1u << 3,        // writes a return address (GPR 31, or rd for JALR)
  kLoad = 1u << 4,        // reads data memory: address error / TLB load exceptions
  kStore = 1u << 5,       // writes data memory: address error / TLB store exceptions
  kFpu = 1u << 6,         // Coprocessor Unusable (CE=1) unless Status.CU1
  kTrap = 1u << 7,        // conditional trap (TGE..TNEI): Trap exception when the condition holds
  kFr1 = 1u << 8,         // needs 64-bit FPRs (Status.FR=1): Reserved Instruction on our FR=0 FPU
};

// One enumerator per line of mips_isa.inc, in table order, after Reserved.
enum class Op : uint16_t {
  Reserved,  // no line matches: Reserved Instruction exception
#define INST(id, pattern, flags) id,
#include "monitor/cpu/mips_isa.inc"
#undef INST
};
std::string_view name(Op op);  // the enumerator's spelling: "ADD_S", "C_COND_D", "Reserved"

// A bit field of the instruction word.
struct Field {
  uint8_t shift = 0;
  uint8_t bits = 0;
  constexpr uint32_t mask() const { return bits == 0 ? 0 : ((1u << bits) - 1) << shift; }
  constexpr uint32_t of(uint32_t word) const { return (word & mask()) >> shift; }
};
inline constexpr Field kOpcodeField{26, 6};
inline constexpr Field kRsField{21, 5};
inline constexpr Field kRtField{16, 5};
inline constexpr Field kRdField{11, 5};
inline constexpr Field kSaField{6, 5};
inline constexpr Field kFunctField{0, 6};

// One line of the table, with its pattern compiled to mask/value.
struct IsaLine {
  Op op;
  std::string_view pattern;  // as written: 32 of '0', '1', '-', bit 31 first
  uint16_t flags;            // InstFlags
  uint32_t mask;             // the bits the pattern fixes
  uint32_t value;            // their values
};

// Compiles a pattern. A malformed one throws, which inside the constant-evaluated kIsa below is
// a compile error: a typo in mips_isa.inc never reaches run time.
constexpr IsaLine make_line(Op op, std::string_view pattern, unsigned flags) {
  if (pattern.size() != 32) throw "mips_isa.inc: a pattern must have 32 characters";
  uint32_t mask = 0, value = 0;
  for (char c : pattern) {
    if (c != '0' && c != '1' && c != '-') throw "mips_isa.inc: a pattern is made of 0, 1 and -";
    mask = mask << 1 | (c != '-');
    value = value << 1 | (c == '1');
  }
  return {.op = op, .pattern = pattern, .flags = static_cast<uint16_t>(flags), .mask = mask, .value = value};
}

inline constexpr std::array kIsa = {
#define INST(id, pattern, flags) make_line(Op::id, pattern, flags),
#include "monitor/cpu/mips_isa.inc"
#undef INST
};
inline constexpr std::size_t kOpCount = kIsa.size() + 1;  // with Reserved

// The table line of a non-Reserved op (Op i is line i-1).
constexpr const IsaLine& isa_line(Op op) { return kIsa[static_cast<std::size_t>(op) - 1]; }

constexpr bool matches(const IsaLine& line, uint32_t word) { return (word & line.mask) == line.value; }

// The same test read straight from the pattern text, for tests that must not trust make_line.
constexpr bool matches(std::string_view pattern, uint32_t word) {
  if (pattern.size() != 32) return false;
  for (std::size_t i = 0; i < 32; ++i) {
    const bool bit = (word >> (31 - i)) & 1;
    if ((pattern[i] == '0' && bit) || (pattern[i] == '1' && !bit)) return false;
  }
  return true;
}

// Opcode groups and the fields that index their second level: hi then lo, concatenated. The
// other 57 primary opcodes have one slot each. COP0 and COP1 take rs and funct together (2048
// slots each) so that every slot's candidate list stays at a handful of lines.
struct OpcodeGroup {
  uint8_t opcode = 0;
  std::string_view name;
  Field hi{};  // bits == 0: unused
  Field lo{};
};
inline constexpr std::array kGroups = {
    OpcodeGroup{.opcode = 0b000000, .name = "SPECIAL", .lo = kFunctField},
    OpcodeGroup{.opcode = 0b000001, .name = "REGIMM", .lo = kRtField},
    OpcodeGroup{.opcode = 0b010000, .name = "COP0", .hi = kRsField, .lo = kFunctField},
    OpcodeGroup{.opcode = 0b010001, .name = "COP1", .hi = kRsField, .lo = kFunctField},
    OpcodeGroup{.opcode = 0b010011, .name = "COP1X", .lo = kFunctField},
    OpcodeGroup{.opcode = 0b011100, .name = "SPECIAL2", .lo = kFunctField},
    OpcodeGroup{.opcode = 0b011111, .name = "SPECIAL3", .lo = kFunctField},
};

// CACHE op field (rt): bits 4..2 the operation, 1..0 the cache; 0b100'00 is Hit_Invalidate on the
// primary I-cache, which Linux's flush_icache_range issues per line after writing code. It is the
// one cache operation the guest can see here: the code it rewrote must run anew (the machine has
// no other caches a guest could tell are there).
inline constexpr uint8_t kHitInvalidateI = 0b10000;

// A decoded word: what the interpreter's predecoded array holds. Every field is extracted for
// every word; which ones mean something depends on op. 16 bytes.
struct Decoded {
  Op op = Op::Reserved;
  uint16_t flags = 0;  // the line's InstFlags, so execution needs no table lookup
  uint8_t rs = 0;      // bits 25..21: rs/base; COP1 fmt; COP1X fr (MADD.fmt) or base
  uint8_t rt = 0;      // bits 20..16: rt; COP1 ft; COP1X index; BC1 and MOVF/MOVT cc<<2 | nd<<1 | tf
  uint8_t rd = 0;      // bits 15..11: rd; COP1 fs; CP0 register; EXT msbd, INS msb
  uint8_t sa = 0;      // bits 10..6: sa; COP1 fd; EXT/INS lsb; JR/JALR hint; SYNC stype; C.cond cc<<2
  uint8_t funct = 0;   // bits 5..0: MFC0/MTC0 sel = funct & 7; C.cond.fmt cond = funct & 15
  uint16_t imm = 0;    // bits 15..0, zero-extended (ANDI, ORI, XORI, LUI)
  int32_t simm = 0;    // bits 15..0, sign-extended (ADDIU, loads, stores, branch offsets in words)
  constexpr uint32_t target() const {  // bits 25..0: J/JAL instr_index
    return uint32_t{rs} << 21 | uint32_t{rt} << 16 | imm;
  }
};
static_assert(sizeof(Decoded) == 16);

// Never fails: a word no line matches is Op::Reserved (flags 0), its fields still extracted.
Decoded decode(uint32_t word);

// The bytes LB..LW and SB..SW move (1 for the byte forms).
constexpr unsigned access_bytes(Op op) {
  return op == Op::LW || op == Op::SW ? 4 : op == Op::LH || op == Op::LHU || op == Op::SH ? 2 : 1;
}

}  // namespace disco::mips
