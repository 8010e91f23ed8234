// Coprocessor 1 of the emulated 24Kf: the MIPS32r2 floating-point unit with Status.FR = 0
// (32 single registers; a double lives in an even/odd pair), legacy (pre-2008) NaN encoding.
//
// Call sequence: the interpreter checks Status.CU1 (kFpu lines), raises RI for kFr1 lines, does
// the memory ops (LWC1..SDXC1, PREFX) and branches (BC1*) itself with read_double/write_double
// and fpu_condition, and hands every other kFpu op to execute_fpu. A FloatingPointException
// outcome is ExcCode 15 with FCSR.Cause already set; nothing else of the instruction happened,
// except for CTC1, whose write stands (the architecture writes, then traps on Cause & Enables).
//
// Sources: MIPS32 Architecture For Programmers Vol. I (MD00082) ch. 5-6 (FCSR, exceptions, NaN
// encodings) and Vol. II (MD00086) instruction pages; MIPS32 24K Software User's Manual (MD00343).
// Where they leave room, the choice is QEMU's 24Kf (target/mips, legacy-NaN mode), checked
// against qemu-mipsel 7.2; tests/monitor/fpu_test.cpp pins each choice:
// - Any NaN result is the default NaN (QEMU's default_nan_mode for legacy NaNs): a QNaN operand
//   gives it quietly, an SNaN operand or an invalid operation gives it with Invalid. NMADD and
//   NMSUB negate after the add, so their NaN is the default NaN with the sign flipped, as QEMU.
// - ABS, NEG, MOV and the conditional moves are bit operations: no exception, Cause untouched
//   (QEMU's non-ABS2008 abs/neg are float32_abs/chs too).
// - Float -> word out of range or NaN: 0x7fffffff with Invalid only (QEMU's FP_TO_INT32_OVERFLOW).
// - MADD/MSUB/NMADD/NMSUB are unfused (multiply, round, add, round) as on the 24K; RECIP is 1/x
//   and RSQRT 1/sqrt(x) with two roundings, both exact IEEE unlike the 24K's looser spec.
// - FS = 1 flushes tiny results (a subnormal, or one the host flagged Underflow) to a zero of
//   the same sign without Underflow or Inexact; operands are not flushed (QEMU honours FS for
//   results only). QEMU flushes what is tiny before rounding, so a result that rounds up to the
//   smallest normal is flushed there and kept here: the one known difference.
// - Tininess is detected after rounding, as QEMU's MIPS and x86-64 SSE do, and Underflow needs
//   Inexact too, even when enabled (QEMU; the architecture would trap on an exact tiny result).
// - Unimplemented Operation (Cause.E) is never raised by arithmetic: denormals are done in
//   "hardware". Only CTC1 can set it, which then traps, as QEMU.
// - MFHC1/MTHC1 with FR=0 move the odd register of the even pair named by fs (MD00086's
//   ValueFPR for a doubleword); an odd fs raises RI, as does any odd register a .D operation
//   names (QEMU's check_cp1_registers).
// - CFC1 of registers other than 0, 25, 26, 28 and 31 reads 0 for 1 and 5 (UFR/FRE absent) and
//   FCSR for the rest; CTC1 to them is ignored; CTC1 to 25/26/28 with reserved bits set is
//   ignored. All as QEMU's helper_cfc1/helper_ctc1.
// The host FPU does the IEEE arithmetic (x86-64 SSE; an AArch64 host would detect tininess
// before rounding): MXCSR set to the guest's rounding mode with clear flags around each
// operation, the flags read back as Cause, then MXCSR restored.
#pragma once

#include <array>
#include <cstdint>

#include "monitor/cpu/decoder.h"

namespace disco::mips {

// FCSR (CP1 control register 31) fields, MD00082 figure 5.12. An exception field holds, from its
// low bit: Inexact, Underflow, Overflow, DivideByZero, Invalid, and (Cause only) Unimplemented.
struct FcsrBits {
  static constexpr uint32_t RM = 3u << 0, Flags = 0x1fu << 2, Enables = 0x1fu << 7, Cause = 0x3fu << 12,
                            FCC0 = 1u << 23, FS = 1u << 24, FCC1_7 = 0x7fu << 25;
  static constexpr unsigned kFlagsShift = 2, kEnablesShift = 7, kCauseShift = 12;
  // What CTC1 can change: not NAN2008/ABS2008 (bits 18, 19: read-only 0 on a pre-2008 FPU) nor
  // the reserved bits 22..20. QEMU's 24Kf fcr31_rw_bitmask.
  static constexpr uint32_t kWriteMask = 0xff83ffffu;
};

// One exception in the low bits of an FCSR exception field.
enum FpException : uint32_t {
  kInexact = 1u << 0,
  kUnderflow = 1u << 1,
  kOverflow = 1u << 2,
  kDivideByZero = 1u << 3,
  kInvalid = 1u << 4,
  kUnimplemented = 1u << 5,  // Cause.E: no Flag or Enable bit; always traps
};

struct Fpu {
  std::array<uint32_t, 32> fpr{};  // FR=0: a double is the pair (even = low word, odd = high word)
  uint32_t fcsr = 0;               // FCSR; QEMU's 24Kf resets it to 0 (round to nearest, no traps)

  // The double in the pair holding `reg`: (reg & ~1, reg | 1). execute_fpu raises RI for an odd
  // register of a .D op before it gets here; an odd LDC1/SDC1 register (UNPREDICTABLE) gets the
  // pair holding it, as QEMU's gen_store_fpr64/gen_load_fpr64 do.
  uint64_t read_double(unsigned reg) const {
    return uint64_t{fpr[(reg | 1) & 31]} << 32 | fpr[reg & 30];
  }
  void write_double(unsigned reg, uint64_t bits) {
    fpr[reg & 30] = static_cast<uint32_t>(bits);
    fpr[(reg | 1) & 31] = static_cast<uint32_t>(bits >> 32);
  }

  // FIR (CP1 control register 0) as QEMU's 24Kf reports it: F64 | L | W | D | S, ProcessorID
  // 0x93, revision 0. F64 says the 24Kf's FPU has 64-bit registers; ours runs with Status.FR
  // fixed at 0, which Linux finds by reading FR back (__enable_fpu), not from FIR.
  static constexpr uint32_t kFir = 1u << 22 | 1u << 21 | 1u << 20 | 1u << 17 | 1u << 16 | 0x93u << 8;
};
static_assert(Fpu::kFir == 0x00739300u);

enum class FpuOutcome : uint8_t {
  Done,
  ReservedInstruction,     // kFr1 op, an odd register of a .D op, or an op execute_fpu does not take
  FloatingPointException,  // ExcCode 15: Cause & (Enables | E) != 0; FCSR.Cause says why
};

// Executes one kFpu op other than the loads, stores, PREFX and BC1* (those return
// ReservedInstruction: they are the interpreter's). `gpr` is the vcpu's GPR file; $0 is never
// written.
FpuOutcome execute_fpu(Fpu& fpu, std::array<uint32_t, 32>& gpr, const Decoded& d);

// The FCSR bit of condition code cc (0..7): FCC0 is bit 23, FCC1..7 are bits 25..31.
constexpr uint32_t fcc_bit(unsigned cc) { return (cc & 7) == 0 ? FcsrBits::FCC0 : 1u << (24 + (cc & 7)); }

// FCC[cc]: BC1F/BC1T (cc = d.rt >> 2), MOVF/MOVT and their .fmt forms.
inline bool fpu_condition(const Fpu& fpu, unsigned cc) { return (fpu.fcsr & fcc_bit(cc)) != 0; }

}  // namespace disco::mips
