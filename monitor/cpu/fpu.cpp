#include "monitor/cpu/fpu.h"

#include <bit>
#include <xmmintrin.h>
#include <cmath>
#include <functional>
#include <limits>
#include <type_traits>

namespace disco::mips {
namespace {

// An FPR operand's raw storage: a word for .S and .W, an even/odd pair for .D.
template <typename T>
using Raw = std::conditional_t<sizeof(T) == 8, uint64_t, uint32_t>;
template <typename T>
constexpr Raw<T> kSignBit = Raw<T>{1} << (sizeof(T) * 8 - 1);

template <typename T>
Raw<T> get_raw(const Fpu& f, unsigned reg) {
  if constexpr (sizeof(T) == 8) return f.read_double(reg);
  else return f.fpr[reg];
}
template <typename T>
void put_raw(Fpu& f, unsigned reg, Raw<T> bits) {
  if constexpr (sizeof(T) == 8) f.write_double(reg, bits);
  else f.fpr[reg] = bits;
}
template <typename T>
T get(const Fpu& f, unsigned reg) { return std::bit_cast<T>(get_raw<T>(f, reg)); }
template <typename T>
void put(Fpu& f, unsigned reg, T value) { put_raw<T>(f, reg, std::bit_cast<Raw<T>>(value)); }

// A .D operand must name an even register: an odd one is UNPREDICTABLE (MD00086), RI in QEMU.
template <typename T>
bool fits(unsigned reg) { return sizeof(T) == 4 || reg % 2 == 0; }

// Legacy (pre-2008) NaNs: the top fraction bit set means signalling; the default NaN is quiet
// with every other fraction bit set.
template <typename T>
bool is_nan(T v) {
  if constexpr (std::is_integral_v<T>) return false;
  else return std::isnan(v);
}
template <typename T>
bool is_snan(T v) {
  if constexpr (std::is_integral_v<T>) return false;
  else return is_nan(v) && (std::bit_cast<Raw<T>>(v) >> (std::numeric_limits<T>::digits - 2) & 1);
}
template <typename T>
T default_nan() {
  if constexpr (sizeof(T) == 8) return std::bit_cast<T>(uint64_t{0x7ff7ffffffffffff});
  else return std::bit_cast<T>(uint32_t{0x7fbfffff});
}

// A result with the IEEE exceptions (FpException bits) its computation raised.
template <typename T>
struct Computed {
  T value;
  uint32_t cause = 0;
};

// The host's SSE control and status register (MXCSR): its rounding field, and its exception
// flags. Set and read directly rather than through <cfenv>, whose feclearexcept and fesetround
// save and reload the x87 environment as well (a few hundred cycles per guest FPU operation;
// doubles are SSE arithmetic on x86-64).
constexpr uint32_t kMxcsrRounding[4] = {0u << 13, 3u << 13, 2u << 13, 1u << 13};  // FCSR.RM 0..3: nearest, zero, +inf, -inf
constexpr uint32_t kMxcsrRoundingField = 3u << 13;
constexpr uint32_t kMxcsrInvalid = 1u << 0, kMxcsrDivideByZero = 1u << 2, kMxcsrOverflow = 1u << 3,
                   kMxcsrUnderflow = 1u << 4, kMxcsrInexact = 1u << 5, kMxcsrFlags = 0x3fu;

// A read through a volatile: keeps the host operation after the MXCSR write (the compiler may
// otherwise move floating-point arithmetic across it).
template <typename T>
T opaque(T v) {
  volatile T copy = v;
  return copy;
}

// Runs fn() on the host FPU in rounding mode `rm` (FCSR.RM encoding); returns its result and
// the IEEE exceptions it raised. The host's rounding mode is restored and its flags cleared.
template <typename Fn>
auto on_host(uint32_t rm, Fn&& fn) {
  using R = decltype(fn());
  const uint32_t saved = _mm_getcsr();
  _mm_setcsr((saved & ~(kMxcsrRoundingField | kMxcsrFlags)) | kMxcsrRounding[rm & 3]);
  const volatile R value = fn();  // a volatile store: done before the flags are read
  const uint32_t raised = _mm_getcsr();
  _mm_setcsr(saved);
  const uint32_t cause = (raised & kMxcsrInexact ? kInexact : 0u) | (raised & kMxcsrUnderflow ? kUnderflow : 0u) |
                         (raised & kMxcsrOverflow ? kOverflow : 0u) | (raised & kMxcsrDivideByZero ? kDivideByZero : 0u) |
                         (raised & kMxcsrInvalid ? kInvalid : 0u);
  return Computed<R>{value, cause};
}

// One IEEE operation of the guest: NaN operands give the default NaN (Invalid if one signals),
// a NaN result is the default NaN, and FS flushes tiny results (see fpu.h).
template <typename R, typename Fn, typename... Operands>
Computed<R> ieee(uint32_t fcsr, Fn fn, Operands... x) {
  if ((is_nan(x) || ...)) return {default_nan<R>(), (is_snan(x) || ...) ? kInvalid : 0u};
  Computed<R> r = on_host(fcsr & FcsrBits::RM, [&] { return static_cast<R>(fn(opaque(x)...)); });
  if (is_nan(r.value)) return {default_nan<R>(), r.cause};
  if ((fcsr & FcsrBits::FS) && (std::fpclassify(r.value) == FP_SUBNORMAL || (r.cause & kUnderflow)))
    return {std::copysign(R{0}, r.value), r.cause & ~(kUnderflow | kInexact)};
  return r;
}

// `fn` as a guest operation producing R: (fcsr, operands...) -> Computed<R>.
template <typename R, typename Fn>
auto guest_op(Fn fn) {
  return [fn](uint32_t fcsr, auto... x) { return ieee<R>(fcsr, fn, x...); };
}
constexpr auto kSqrt = [](auto x) { return std::sqrt(x); };
constexpr auto kReciprocal = [](auto x) { return 1 / x; };
constexpr auto kConvert = [](auto x) { return x; };  // the conversion is ieee<R>'s cast to R

// RSQRT: sqrt, then 1/x, each rounded (QEMU's helper_float_rsqrt).
template <typename T>
Computed<T> reciprocal_sqrt(uint32_t fcsr, T x) {
  const Computed<T> root = ieee<T>(fcsr, kSqrt, x);
  const Computed<T> r = ieee<T>(fcsr, kReciprocal, root.value);
  return {r.value, root.cause | r.cause};
}

// Float -> word in rounding mode `rm`: out of range or NaN is 0x7fffffff with Invalid alone.
template <typename T>
Computed<int32_t> to_word(uint32_t rm, T x) {
  constexpr Computed<int32_t> kOutOfRange{std::numeric_limits<int32_t>::max(), kInvalid};
  if (is_nan(x)) return kOutOfRange;
  const T rounded = on_host(rm, [&] { return std::nearbyint(opaque(x)); }).value;
  if (rounded < T(-2147483648.0) || rounded >= T(2147483648.0)) return kOutOfRange;
  return {static_cast<int32_t>(rounded), rounded != x ? kInexact : 0u};
}

// Sets FCSR.Cause to `cause` (FpException bits). An enabled one, or Unimplemented, traps:
// returns false. Otherwise ORs the cause into Flags and returns true.
bool signal(Fpu& f, uint32_t cause) {
  f.fcsr = (f.fcsr & ~FcsrBits::Cause) | cause << FcsrBits::kCauseShift;
  const uint32_t enabled = (f.fcsr & FcsrBits::Enables) >> FcsrBits::kEnablesShift | kUnimplemented;
  if (cause & enabled) return false;
  f.fcsr |= cause << FcsrBits::kFlagsShift & FcsrBits::Flags;
  return true;
}

template <typename T>
FpuOutcome commit(Fpu& f, unsigned fd, const Computed<T>& r) {
  if (!signal(f, r.cause)) return FpuOutcome::FloatingPointException;
  put<T>(f, fd, r.value);
  return FpuOutcome::Done;
}

// fd <- op(fs): fd is sa, fs is rd.
template <typename To, typename From, typename Op>
FpuOutcome unary(Fpu& f, const Decoded& d, Op op) {
  if (!fits<To>(d.sa) || !fits<From>(d.rd)) return FpuOutcome::ReservedInstruction;
  return commit(f, d.sa, op(f.fcsr, get<From>(f, d.rd)));
}

// fd <- op(fs, ft): ft is rt.
template <typename T, typename Op>
FpuOutcome binary(Fpu& f, const Decoded& d, Op op) {
  if (!fits<T>(d.sa) || !fits<T>(d.rd) || !fits<T>(d.rt)) return FpuOutcome::ReservedInstruction;
  return commit(f, d.sa, op(f.fcsr, get<T>(f, d.rd), get<T>(f, d.rt)));
}

template <typename T>
FpuOutcome to_word_op(Fpu& f, const Decoded& d, uint32_t rm) {
  return unary<int32_t, T>(f, d, [rm](uint32_t, T x) { return to_word(rm, x); });
}

// MADD/MSUB/NMADD/NMSUB.fmt fd, fr, fs, ft (COP1X: fr is rs): fs * ft +/- fr, unfused, the
// N forms negated afterwards (a NaN too: QEMU's float32_chs).
template <typename T>
FpuOutcome multiply_add(Fpu& f, const Decoded& d, bool subtract, bool negate) {
  if (!fits<T>(d.sa) || !fits<T>(d.rs) || !fits<T>(d.rd) || !fits<T>(d.rt)) return FpuOutcome::ReservedInstruction;
  const Computed<T> product = ieee<T>(f.fcsr, std::multiplies<>{}, get<T>(f, d.rd), get<T>(f, d.rt));
  Computed<T> r = subtract ? ieee<T>(f.fcsr, std::minus<>{}, product.value, get<T>(f, d.rs))
                           : ieee<T>(f.fcsr, std::plus<>{}, product.value, get<T>(f, d.rs));
  if (negate) r.value = std::bit_cast<T>(std::bit_cast<Raw<T>>(r.value) ^ kSignBit<T>);
  r.cause |= product.cause;
  return commit(f, d.sa, r);
}

// MOV/ABS/NEG and the conditional moves: bit operations, no exceptions, Cause untouched.
template <typename T>
FpuOutcome move(Fpu& f, const Decoded& d, bool condition, Raw<T> clear = 0, Raw<T> flip = 0) {
  if (!fits<T>(d.sa) || !fits<T>(d.rd)) return FpuOutcome::ReservedInstruction;
  if (condition) put_raw<T>(f, d.sa, (get_raw<T>(f, d.rd) & ~clear) ^ flip);
  return FpuOutcome::Done;
}

// C.cond.fmt cc, fs, ft. cond bits: 0 true if unordered, 1 if equal, 2 if less; 3 makes the
// predicate signalling (Invalid on a QNaN too; an SNaN is Invalid for every cond).
template <typename T>
FpuOutcome compare(Fpu& f, const Decoded& d) {
  if (!fits<T>(d.rd) || !fits<T>(d.rt)) return FpuOutcome::ReservedInstruction;
  const T a = get<T>(f, d.rd), b = get<T>(f, d.rt);
  const unsigned cond = d.funct & 15;
  const bool unordered = is_nan(a) || is_nan(b);
  const bool invalid = is_snan(a) || is_snan(b) || (unordered && (cond & 8));
  const bool holds =
      ((cond & 1) && unordered) || ((cond & 2) && !unordered && a == b) || ((cond & 4) && !unordered && a < b);
  if (!signal(f, invalid ? kInvalid : 0u)) return FpuOutcome::FloatingPointException;
  const uint32_t bit = fcc_bit(d.sa >> 2);
  f.fcsr = holds ? f.fcsr | bit : f.fcsr & ~bit;
  return FpuOutcome::Done;
}

void set_gpr(std::array<uint32_t, 32>& gpr, unsigned reg, uint32_t value) {
  if (reg != 0) gpr[reg] = value;
}

// CFC1 (helper_cfc1 of QEMU): FCCR (25), FEXR (26) and FENR (28) are views of FCSR.
uint32_t read_control(const Fpu& f, unsigned reg) {
  const uint32_t c = f.fcsr;
  switch (reg) {
    case 0: return Fpu::kFir;
    case 1: case 5: return 0;  // UFR and FRE: absent (FIR.UFRP = 0, Config5.FRE = 0)
    case 25: return (c >> 24 & 0xfe) | (c >> 23 & 1);
    case 26: return c & (FcsrBits::Cause | FcsrBits::Flags);
    case 28: return (c & (FcsrBits::Enables | FcsrBits::RM)) | (c & FcsrBits::FS ? 4u : 0u);
    default: return c;
  }
}

// CTC1 (helper_ctc1 of QEMU). Returns false when nothing was written: an unknown register, or
// reserved bits set in a FCCR/FEXR/FENR value.
bool write_control(Fpu& f, unsigned reg, uint32_t v) {
  constexpr uint32_t kFexrFenrReserved = 0x007c0000;
  uint32_t& c = f.fcsr;
  switch (reg) {
    case 25:
      if (v & ~0xffu) return false;
      c = (c & ~(FcsrBits::FCC0 | FcsrBits::FCC1_7)) | (v & 0xfe) << 24 | (v & 1) << 23;
      return true;
    case 26:
      if (v & kFexrFenrReserved) return false;
      c = (c & ~(FcsrBits::Cause | FcsrBits::Flags)) | (v & (FcsrBits::Cause | FcsrBits::Flags));
      return true;
    case 28:
      if (v & kFexrFenrReserved) return false;
      c = (c & ~(FcsrBits::Enables | FcsrBits::RM | FcsrBits::FS)) | (v & (FcsrBits::Enables | FcsrBits::RM)) |
          (v & 4) << 22;
      return true;
    case 31:
      c = (c & ~FcsrBits::kWriteMask) | (v & FcsrBits::kWriteMask);
      return true;
    default:
      return false;
  }
}

constexpr uint32_t kRoundNearest = 0, kRoundZero = 1, kRoundUp = 2, kRoundDown = 3;  // FCSR.RM

}  // namespace

FpuOutcome execute_fpu(Fpu& fpu, std::array<uint32_t, 32>& gpr, const Decoded& d) {
  using enum FpuOutcome;
  if (d.flags & kFr1) return ReservedInstruction;
  const uint32_t rm = fpu.fcsr & FcsrBits::RM;
  switch (d.op) {
    case Op::MFC1: set_gpr(gpr, d.rt, fpu.fpr[d.rd]); return Done;
    case Op::MTC1: fpu.fpr[d.rd] = gpr[d.rt]; return Done;
    case Op::MFHC1:
      if (d.rd & 1) return ReservedInstruction;
      set_gpr(gpr, d.rt, fpu.fpr[d.rd + 1]);
      return Done;
    case Op::MTHC1:
      if (d.rd & 1) return ReservedInstruction;
      fpu.fpr[d.rd + 1] = gpr[d.rt];
      return Done;
    case Op::CFC1: set_gpr(gpr, d.rt, read_control(fpu, d.rd)); return Done;
    case Op::CTC1: {
      if (!write_control(fpu, d.rd, gpr[d.rt])) return Done;
      const uint32_t cause = (fpu.fcsr & FcsrBits::Cause) >> FcsrBits::kCauseShift;
      const uint32_t enabled = (fpu.fcsr & FcsrBits::Enables) >> FcsrBits::kEnablesShift | kUnimplemented;
      return (cause & enabled) ? FloatingPointException : Done;
    }
    case Op::MOVF:
    case Op::MOVT:
      if (fpu_condition(fpu, d.rt >> 2) == (d.op == Op::MOVT)) set_gpr(gpr, d.rd, gpr[d.rs]);
      return Done;

    case Op::ADD_S: return binary<float>(fpu, d, guest_op<float>(std::plus<>{}));
    case Op::ADD_D: return binary<double>(fpu, d, guest_op<double>(std::plus<>{}));
    case Op::SUB_S: return binary<float>(fpu, d, guest_op<float>(std::minus<>{}));
    case Op::SUB_D: return binary<double>(fpu, d, guest_op<double>(std::minus<>{}));
    case Op::MUL_S: return binary<float>(fpu, d, guest_op<float>(std::multiplies<>{}));
    case Op::MUL_D: return binary<double>(fpu, d, guest_op<double>(std::multiplies<>{}));
    case Op::DIV_S: return binary<float>(fpu, d, guest_op<float>(std::divides<>{}));
    case Op::DIV_D: return binary<double>(fpu, d, guest_op<double>(std::divides<>{}));
    case Op::SQRT_S: return unary<float, float>(fpu, d, guest_op<float>(kSqrt));
    case Op::SQRT_D: return unary<double, double>(fpu, d, guest_op<double>(kSqrt));
    case Op::RECIP_S: return unary<float, float>(fpu, d, guest_op<float>(kReciprocal));
    case Op::RECIP_D: return unary<double, double>(fpu, d, guest_op<double>(kReciprocal));
    case Op::RSQRT_S: return unary<float, float>(fpu, d, reciprocal_sqrt<float>);
    case Op::RSQRT_D: return unary<double, double>(fpu, d, reciprocal_sqrt<double>);

    case Op::MADD_S: return multiply_add<float>(fpu, d, false, false);
    case Op::MADD_D: return multiply_add<double>(fpu, d, false, false);
    case Op::MSUB_S: return multiply_add<float>(fpu, d, true, false);
    case Op::MSUB_D: return multiply_add<double>(fpu, d, true, false);
    case Op::NMADD_S: return multiply_add<float>(fpu, d, false, true);
    case Op::NMADD_D: return multiply_add<double>(fpu, d, false, true);
    case Op::NMSUB_S: return multiply_add<float>(fpu, d, true, true);
    case Op::NMSUB_D: return multiply_add<double>(fpu, d, true, true);

    case Op::MOV_S: return move<float>(fpu, d, true);
    case Op::MOV_D: return move<double>(fpu, d, true);
    case Op::ABS_S: return move<float>(fpu, d, true, kSignBit<float>);
    case Op::ABS_D: return move<double>(fpu, d, true, kSignBit<double>);
    case Op::NEG_S: return move<float>(fpu, d, true, 0, kSignBit<float>);
    case Op::NEG_D: return move<double>(fpu, d, true, 0, kSignBit<double>);
    case Op::MOVZ_S: return move<float>(fpu, d, gpr[d.rt] == 0);
    case Op::MOVZ_D: return move<double>(fpu, d, gpr[d.rt] == 0);
    case Op::MOVN_S: return move<float>(fpu, d, gpr[d.rt] != 0);
    case Op::MOVN_D: return move<double>(fpu, d, gpr[d.rt] != 0);
    case Op::MOVF_S: return move<float>(fpu, d, !fpu_condition(fpu, d.rt >> 2));
    case Op::MOVF_D: return move<double>(fpu, d, !fpu_condition(fpu, d.rt >> 2));
    case Op::MOVT_S: return move<float>(fpu, d, fpu_condition(fpu, d.rt >> 2));
    case Op::MOVT_D: return move<double>(fpu, d, fpu_condition(fpu, d.rt >> 2));

    case Op::ROUND_W_S: return to_word_op<float>(fpu, d, kRoundNearest);
    case Op::ROUND_W_D: return to_word_op<double>(fpu, d, kRoundNearest);
    case Op::TRUNC_W_S: return to_word_op<float>(fpu, d, kRoundZero);
    case Op::TRUNC_W_D: return to_word_op<double>(fpu, d, kRoundZero);
    case Op::CEIL_W_S: return to_word_op<float>(fpu, d, kRoundUp);
    case Op::CEIL_W_D: return to_word_op<double>(fpu, d, kRoundUp);
    case Op::FLOOR_W_S: return to_word_op<float>(fpu, d, kRoundDown);
    case Op::FLOOR_W_D: return to_word_op<double>(fpu, d, kRoundDown);
    case Op::CVT_W_S: return to_word_op<float>(fpu, d, rm);
    case Op::CVT_W_D: return to_word_op<double>(fpu, d, rm);
    case Op::CVT_S_D: return unary<float, double>(fpu, d, guest_op<float>(kConvert));
    case Op::CVT_S_W: return unary<float, int32_t>(fpu, d, guest_op<float>(kConvert));
    case Op::CVT_D_S: return unary<double, float>(fpu, d, guest_op<double>(kConvert));
    case Op::CVT_D_W: return unary<double, int32_t>(fpu, d, guest_op<double>(kConvert));

    case Op::C_COND_S: return compare<float>(fpu, d);
    case Op::C_COND_D: return compare<double>(fpu, d);

    default: return ReservedInstruction;  // loads, stores, PREFX, BC1*: the interpreter's
  }
}

}  // namespace disco::mips
