// The COP1 FPU through decoded instruction words: IEEE results in every rounding mode, FCSR
// flags/cause/enables, legacy NaNs, conversions, every c.cond, the moves, the control registers,
// and a random-word survival loop. Expected values are IEEE-754 answers; where fpu.h names a
// QEMU choice, the value is what qemu-mipsel 7.2 (-cpu 24Kf) printed for the same operation.
#include <gtest/gtest.h>

#include <cfenv>
#include <cstdio>
#include <optional>
#include <random>
#include <string>

#include "monitor/cpu/decoder.h"
#include "monitor/cpu/fpu.h"

namespace disco::mips {
namespace {

// Encoders for the words under test; a few were checked against mipsel-linux-gnu-objdump:
// cop1(kD, 2, 0, 4, 3) = 0x46220103 div.d $f4,$f0,$f2; cop1(kD, 4, 2, 3 << 2, 0x35) =
// 0x46241335 c.ult.d $fcc3,$f2,$f4; cop1x(6, 2, 0, 4, 0x20) = 0x4cc20120 madd.s $f4,$f6,$f0,$f2;
// cop1(kD, 5 << 2 | 1, 4, 2, 0x11) = 0x46352091 movt.d $f2,$f4,$fcc5; movci(4, 2 << 2, 3) =
// 0x00881801 movf $3,$4,$fcc2; cop1_move(kMfhc1, 5, 2) = 0x44651000 mfhc1 $5,$f2.
constexpr uint32_t kS = 16, kD = 17, kW = 20;
constexpr uint32_t kMfc1 = 0, kCfc1 = 2, kMfhc1 = 3, kMtc1 = 4, kCtc1 = 6, kMthc1 = 7;
constexpr uint32_t cop1(uint32_t fmt, uint32_t ft, uint32_t fs, uint32_t fd, uint32_t funct) {
  return 0x11u << 26 | fmt << 21 | ft << 16 | fs << 11 | fd << 6 | funct;
}
constexpr uint32_t cop1x(uint32_t fr, uint32_t ft, uint32_t fs, uint32_t fd, uint32_t funct) {
  return 0x13u << 26 | fr << 21 | ft << 16 | fs << 11 | fd << 6 | funct;
}
constexpr uint32_t cop1_move(uint32_t sub, uint32_t rt, uint32_t fs) {
  return 0x11u << 26 | sub << 21 | rt << 16 | fs << 11;
}
constexpr uint32_t movci(uint32_t rs, uint32_t cc_tf, uint32_t rd) { return rs << 21 | cc_tf << 16 | rd << 11 | 1; }

// FCSR exception fields, as FpException bits.
uint32_t cause(uint32_t fcsr) { return (fcsr & FcsrBits::Cause) >> FcsrBits::kCauseShift; }
uint32_t flags(uint32_t fcsr) { return (fcsr & FcsrBits::Flags) >> FcsrBits::kFlagsShift; }
constexpr uint32_t enables(uint32_t e) { return e << FcsrBits::kEnablesShift; }

constexpr uint32_t kOneS = 0x3f800000, kTwoS = 0x40000000, kThreeS = 0x40400000, kHalfS = 0x3f000000;
constexpr uint32_t kQNaNS = 0x7f800001;  // legacy quiet: top fraction bit clear
constexpr uint32_t kSNaNS = 0x7fc00000;  // legacy signalling: top fraction bit set
constexpr uint32_t kDefaultNaNS = 0x7fbfffff, kInfS = 0x7f800000, kMaxS = 0x7f7fffff;
constexpr uint64_t kOneD = 0x3ff0000000000000, kThreeD = 0x4008000000000000;
constexpr uint64_t kSNaND = 0x7ff8000000000000, kQNaND = 0x7ff0000000000001, kDefaultNaND = 0x7ff7ffffffffffff;

class FpuTest : public ::testing::Test {
 protected:
  FpuOutcome run(Op expected, uint32_t word) {
    const Decoded d = decode(word);
    EXPECT_EQ(d.op, expected) << std::hex << word;
    return execute_fpu(fpu, gpr, d);
  }
  // $f4 <- op.S($f0 = a, $f2 = b), or op.S($f0 = a) without b (the ft field is then 0); returns
  // $f4, which was 0xdeadbeef. Cause and Flags are left in fpu.fcsr, the outcome in `last`.
  uint32_t single(Op op, uint32_t funct, uint32_t a, std::optional<uint32_t> b = {}) {
    fpu.fpr[0] = a;
    fpu.fpr[2] = b.value_or(0);
    fpu.fpr[4] = 0xdeadbeef;
    last = run(op, cop1(kS, b ? 2 : 0, 0, 4, funct));
    return fpu.fpr[4];
  }
  uint64_t dbl(Op op, uint32_t funct, uint64_t a, std::optional<uint64_t> b = {}) {
    fpu.write_double(0, a);
    fpu.write_double(2, b.value_or(0));
    fpu.write_double(4, 0xdeadbeefdeadbeef);
    last = run(op, cop1(kD, b ? 2 : 0, 0, 4, funct));
    return fpu.read_double(4);
  }

  Fpu fpu;
  std::array<uint32_t, 32> gpr{};
  FpuOutcome last = FpuOutcome::Done;
};

TEST_F(FpuTest, MovesBetweenGprsAndFprs) {
  gpr[5] = 0x12345678;
  EXPECT_EQ(run(Op::MTC1, cop1_move(kMtc1, 5, 7)), FpuOutcome::Done);
  EXPECT_EQ(fpu.fpr[7], 0x12345678u);
  EXPECT_EQ(run(Op::MFC1, cop1_move(kMfc1, 6, 7)), FpuOutcome::Done);
  EXPECT_EQ(gpr[6], 0x12345678u);
  run(Op::MFC1, cop1_move(kMfc1, 0, 7));
  EXPECT_EQ(gpr[0], 0u);
  // FR=0: the high half of the double in $f2/$f3 is $f3; an odd fs is RI (QEMU).
  gpr[5] = 0xcafef00d;
  EXPECT_EQ(run(Op::MTHC1, cop1_move(kMthc1, 5, 2)), FpuOutcome::Done);
  EXPECT_EQ(fpu.fpr[3], 0xcafef00du);
  EXPECT_EQ(run(Op::MFHC1, cop1_move(kMfhc1, 8, 2)), FpuOutcome::Done);
  EXPECT_EQ(gpr[8], 0xcafef00du);
  EXPECT_EQ(run(Op::MFHC1, cop1_move(kMfhc1, 8, 3)), FpuOutcome::ReservedInstruction);
  EXPECT_EQ(run(Op::MTHC1, cop1_move(kMthc1, 5, 1)), FpuOutcome::ReservedInstruction);
  fpu.write_double(6, 0x0123456789abcdef);
  EXPECT_EQ(fpu.fpr[6], 0x89abcdefu);
  EXPECT_EQ(fpu.fpr[7], 0x01234567u);
  EXPECT_EQ(fpu.read_double(7), 0x0123456789abcdefu);  // odd: the pair holding it
}

TEST_F(FpuTest, ControlRegistersAndTheirWriteMasks) {
  run(Op::CFC1, cop1_move(kCfc1, 2, 0));
  EXPECT_EQ(gpr[2], 0x00739300u);  // qemu-mipsel -cpu 24Kf: cfc1 $0
  // Everything but the Cause field (E would trap): qemu-mipsel reads back ff80007f.
  gpr[3] = ~FcsrBits::Cause & ~FcsrBits::Enables;
  EXPECT_EQ(run(Op::CTC1, cop1_move(kCtc1, 3, 31)), FpuOutcome::Done);
  EXPECT_EQ(fpu.fcsr, 0xff80007fu);
  for (auto [reg, view] : {std::pair{25u, 0xffu}, {26u, 0x7cu}, {28u, 0x07u}, {31u, 0xff80007fu}}) {
    run(Op::CFC1, cop1_move(kCfc1, 2, reg));
    EXPECT_EQ(gpr[2], view) << reg;
  }
  // FCCR, FEXR, FENR write their FCSR fields.
  fpu.fcsr = 0;
  gpr[3] = 0x81;  // FCC7, FCC0
  run(Op::CTC1, cop1_move(kCtc1, 3, 25));
  EXPECT_EQ(fpu.fcsr, 1u << 31 | FcsrBits::FCC0);
  gpr[3] = 0x0003f07c & ~(kUnimplemented << FcsrBits::kCauseShift);
  run(Op::CTC1, cop1_move(kCtc1, 3, 26));
  EXPECT_EQ(fpu.fcsr & ~(1u << 31 | FcsrBits::FCC0), 0x0001f07cu);
  fpu.fcsr = 0;
  gpr[3] = 0x6;  // FS, RM = round toward +inf
  run(Op::CTC1, cop1_move(kCtc1, 3, 28));
  EXPECT_EQ(fpu.fcsr, FcsrBits::FS | 2u);
  // Reserved bits in a FCCR/FENR value: the write is ignored (QEMU).
  gpr[3] = 0x100;
  run(Op::CTC1, cop1_move(kCtc1, 3, 25));
  gpr[3] = 0x00040000;
  run(Op::CTC1, cop1_move(kCtc1, 3, 28));
  EXPECT_EQ(fpu.fcsr, FcsrBits::FS | 2u);
  // Other control registers: CFC1 reads 0 (1, 5) or FCSR; CTC1 ignores them.
  run(Op::CFC1, cop1_move(kCfc1, 2, 1));
  EXPECT_EQ(gpr[2], 0u);
  run(Op::CFC1, cop1_move(kCfc1, 2, 2));
  EXPECT_EQ(gpr[2], fpu.fcsr);
  gpr[3] = ~0u;
  EXPECT_EQ(run(Op::CTC1, cop1_move(kCtc1, 3, 2)), FpuOutcome::Done);
  EXPECT_EQ(fpu.fcsr, FcsrBits::FS | 2u);
}

TEST_F(FpuTest, Ctc1OfAnEnabledCauseTrapsAfterWriting) {
  gpr[3] = enables(kOverflow) | kOverflow << FcsrBits::kCauseShift;
  EXPECT_EQ(run(Op::CTC1, cop1_move(kCtc1, 3, 31)), FpuOutcome::FloatingPointException);
  EXPECT_EQ(fpu.fcsr, gpr[3]);
  gpr[3] = kUnimplemented << FcsrBits::kCauseShift;  // E has no enable: always traps
  EXPECT_EQ(run(Op::CTC1, cop1_move(kCtc1, 3, 26)), FpuOutcome::FloatingPointException);
  gpr[3] = kOverflow << FcsrBits::kCauseShift;  // Overflow no longer enabled
  EXPECT_EQ(run(Op::CTC1, cop1_move(kCtc1, 3, 31)), FpuOutcome::Done);
}

TEST_F(FpuTest, ArithmeticGivesIeeeAnswers) {
  EXPECT_EQ(single(Op::ADD_S, 0, kOneS, kTwoS), kThreeS);
  EXPECT_EQ(single(Op::SUB_S, 1, kOneS, kTwoS), 0xbf800000u);
  EXPECT_EQ(single(Op::MUL_S, 2, kThreeS, kHalfS), 0x3fc00000u);
  EXPECT_EQ(single(Op::DIV_S, 3, kThreeS, kTwoS), 0x3fc00000u);
  EXPECT_EQ(single(Op::SQRT_S, 4, 0x41100000), kThreeS);  // sqrt(9)
  EXPECT_EQ(fpu.fcsr, 0u);
  EXPECT_EQ(dbl(Op::ADD_D, 0, kOneD, kOneD), 0x4000000000000000u);
  EXPECT_EQ(dbl(Op::DIV_D, 3, kOneD, kThreeD), 0x3fd5555555555555u);
  EXPECT_EQ(cause(fpu.fcsr), kInexact);
  EXPECT_EQ(flags(fpu.fcsr), kInexact);
  EXPECT_EQ(dbl(Op::SQRT_D, 4, 0x4000000000000000), 0x3ff6a09e667f3bcdu);
  // The next exact operation clears Cause but not the sticky Flags.
  EXPECT_EQ(dbl(Op::MUL_D, 2, kOneD, kThreeD), kThreeD);
  EXPECT_EQ(cause(fpu.fcsr), 0u);
  EXPECT_EQ(flags(fpu.fcsr), kInexact);
  // -0: x - x is +0 except when rounding down.
  EXPECT_EQ(single(Op::SUB_S, 1, kOneS, kOneS), 0u);
  fpu.fcsr = 3;
  EXPECT_EQ(single(Op::SUB_S, 1, kOneS, kOneS), 0x80000000u);
}

TEST_F(FpuTest, EveryRoundingModeAndTheHostModeRestored) {
  struct Case {
    uint32_t rm;
    uint32_t third, minus_third;  // 1/3 and -1/3 as singles
    uint64_t third_d;
  };
  for (const Case& c : {Case{0, 0x3eaaaaab, 0xbeaaaaab, 0x3fd5555555555555},
                        Case{1, 0x3eaaaaaa, 0xbeaaaaaa, 0x3fd5555555555555},
                        Case{2, 0x3eaaaaab, 0xbeaaaaaa, 0x3fd5555555555556},
                        Case{3, 0x3eaaaaaa, 0xbeaaaaab, 0x3fd5555555555555}}) {
    fpu.fcsr = c.rm;
    EXPECT_EQ(single(Op::DIV_S, 3, kOneS, kThreeS), c.third) << c.rm;
    EXPECT_EQ(single(Op::DIV_S, 3, 0xbf800000, kThreeS), c.minus_third) << c.rm;
    EXPECT_EQ(dbl(Op::DIV_D, 3, kOneD, kThreeD), c.third_d) << c.rm;
    EXPECT_EQ(cause(fpu.fcsr), kInexact);
    EXPECT_EQ(std::fegetround(), FE_TONEAREST);
  }
}

TEST_F(FpuTest, OverflowUnderflowAndFlushToZero) {
  EXPECT_EQ(single(Op::MUL_S, 2, kMaxS, kTwoS), kInfS);
  EXPECT_EQ(cause(fpu.fcsr), kOverflow | kInexact);
  fpu.fcsr = 1;  // toward zero: the largest finite
  EXPECT_EQ(single(Op::MUL_S, 2, kMaxS, kTwoS), kMaxS);
  // qemu-mipsel: an exact subnormal raises nothing; an inexact one Underflow | Inexact.
  fpu.fcsr = 0;
  EXPECT_EQ(single(Op::MUL_S, 2, 0x00800000, kHalfS), 0x00400000u);
  EXPECT_EQ(fpu.fcsr, 0u);
  EXPECT_EQ(single(Op::MUL_S, 2, 0x00800001, kHalfS), 0x00400000u);  // a tie, to even
  EXPECT_EQ(fpu.fcsr, 0x0000300cu);
  fpu.fcsr = 3;
  EXPECT_EQ(single(Op::MUL_S, 2, 0x00800001, 0xbf000000), 0x80400001u);
  EXPECT_EQ(fpu.fcsr, 0x0000300fu);
  // FS: tiny results become zeros with no flags; subnormal operands are used as they are.
  fpu.fcsr = FcsrBits::FS;
  EXPECT_EQ(single(Op::MUL_S, 2, 0x00800000, kHalfS), 0u);
  EXPECT_EQ(single(Op::MUL_S, 2, 0x00800001, 0xbf000000), 0x80000000u);
  EXPECT_EQ(single(Op::MUL_S, 2, 0x00400000, 0x4f800000), 0x10000000u);  // 2^-127 * 2^32
  EXPECT_EQ(fpu.fcsr, FcsrBits::FS);
}

TEST_F(FpuTest, DivideByZeroInvalidAndTheDefaultNaN) {
  EXPECT_EQ(single(Op::DIV_S, 3, kOneS, 0), kInfS);
  EXPECT_EQ(cause(fpu.fcsr), kDivideByZero);
  EXPECT_EQ(single(Op::DIV_S, 3, 0, 0), kDefaultNaNS);
  EXPECT_EQ(cause(fpu.fcsr), kInvalid);
  EXPECT_EQ(single(Op::SUB_S, 1, kInfS, kInfS), kDefaultNaNS);
  EXPECT_EQ(cause(fpu.fcsr), kInvalid);
  EXPECT_EQ(single(Op::SQRT_S, 4, 0xbf800000), kDefaultNaNS);
  EXPECT_EQ(cause(fpu.fcsr), kInvalid);
  EXPECT_EQ(dbl(Op::MUL_D, 2, 0x7ff0000000000000, 0), kDefaultNaND);
  EXPECT_EQ(cause(fpu.fcsr), kInvalid);
  EXPECT_EQ(flags(fpu.fcsr), kInvalid | kDivideByZero);
  // A QNaN operand gives the default NaN quietly, an SNaN one with Invalid (qemu-mipsel).
  fpu.fcsr = 0;
  EXPECT_EQ(single(Op::ADD_S, 0, kQNaNS, kOneS), kDefaultNaNS);
  EXPECT_EQ(single(Op::ADD_S, 0, kOneS, 0x7f800002), kDefaultNaNS);
  EXPECT_EQ(fpu.fcsr, 0u);
  EXPECT_EQ(single(Op::ADD_S, 0, kSNaNS, kOneS), kDefaultNaNS);
  EXPECT_EQ(fpu.fcsr, 0x00010040u);
  EXPECT_EQ(dbl(Op::SUB_D, 1, kOneD, kQNaND), kDefaultNaND);
  EXPECT_EQ(cause(fpu.fcsr), 0u);
  EXPECT_EQ(dbl(Op::SUB_D, 1, kOneD, kSNaND), kDefaultNaND);
  EXPECT_EQ(cause(fpu.fcsr), kInvalid);
}

TEST_F(FpuTest, ReciprocalAndReciprocalSquareRoot) {
  EXPECT_EQ(single(Op::RECIP_S, 0x15, 0x40800000), 0x3e800000u);  // 1/4
  EXPECT_EQ(fpu.fcsr, 0u);
  EXPECT_EQ(single(Op::RECIP_S, 0x15, 0), kInfS);
  EXPECT_EQ(fpu.fcsr, 0x00008020u);
  fpu.fcsr = 0;
  EXPECT_EQ(single(Op::RSQRT_S, 0x16, kTwoS), 0x3f3504f3u);
  EXPECT_EQ(fpu.fcsr, 0x00001004u);
  EXPECT_EQ(single(Op::RSQRT_S, 0x16, 0x80000000), 0xff800000u);
  EXPECT_EQ(cause(fpu.fcsr), kDivideByZero);
  EXPECT_EQ(dbl(Op::RSQRT_D, 0x16, 0x4010000000000000), 0x3fe0000000000000u);  // 1/sqrt(4)
  EXPECT_EQ(dbl(Op::RECIP_D, 0x15, kThreeD), 0x3fd5555555555555u);
}

TEST_F(FpuTest, AnEnabledExceptionTrapsWithoutWritingAnything) {
  fpu.fcsr = enables(kInvalid);
  EXPECT_EQ(single(Op::DIV_S, 3, 0, 0), 0xdeadbeefu);
  EXPECT_EQ(last, FpuOutcome::FloatingPointException);
  EXPECT_EQ(fpu.fcsr, enables(kInvalid) | kInvalid << FcsrBits::kCauseShift);  // Cause only, no Flag
  // Inexact is not enabled: 1/3 completes and sets its Flag.
  EXPECT_EQ(single(Op::DIV_S, 3, kOneS, kThreeS), 0x3eaaaaabu);
  EXPECT_EQ(last, FpuOutcome::Done);
  fpu.fcsr = enables(kInexact);
  EXPECT_EQ(dbl(Op::DIV_D, 3, kOneD, kThreeD), 0xdeadbeefdeadbeefu);
  EXPECT_EQ(last, FpuOutcome::FloatingPointException);
  EXPECT_EQ(cause(fpu.fcsr), kInexact);
  EXPECT_EQ(flags(fpu.fcsr), 0u);
}

TEST_F(FpuTest, ConversionsToWord) {
  struct Case {
    Op op;
    uint32_t funct, in, out, cause;
  };
  // qemu-mipsel: out of range and NaN give 0x7fffffff with Invalid alone, -2^31 is exact.
  for (const Case& c : {Case{Op::CVT_W_S, 0x24, 0xd0000000, 0x7fffffff, kInvalid},
                        Case{Op::CVT_W_S, 0x24, kSNaNS, 0x7fffffff, kInvalid},
                        Case{Op::CVT_W_S, 0x24, kQNaNS, 0x7fffffff, kInvalid},
                        Case{Op::CVT_W_S, 0x24, kInfS, 0x7fffffff, kInvalid},
                        Case{Op::CVT_W_S, 0x24, 0x4f000000, 0x7fffffff, kInvalid},  // 2^31
                        Case{Op::CVT_W_S, 0x24, 0xcf000000, 0x80000000, 0},         // -2^31
                        Case{Op::CVT_W_S, 0x24, 0x3fc00000, 2, kInexact},           // 1.5
                        Case{Op::ROUND_W_S, 0x0c, 0x40200000, 2, kInexact},         // 2.5: to even
                        Case{Op::ROUND_W_S, 0x0c, 0xc0600000, 0xfffffffc, kInexact},  // -3.5
                        Case{Op::TRUNC_W_S, 0x0d, 0xc0600000, 0xfffffffd, kInexact},
                        Case{Op::CEIL_W_S, 0x0e, 0x40200000, 3, kInexact},
                        Case{Op::CEIL_W_S, 0x0e, 0xbf000000, 0, kInexact},  // -0.5 -> -0 -> 0
                        Case{Op::FLOOR_W_S, 0x0f, 0xc0200000, 0xfffffffd, kInexact},
                        Case{Op::FLOOR_W_S, 0x0f, 0x00000001, 0, kInexact},  // subnormal
                        Case{Op::TRUNC_W_S, 0x0d, 0x4effffff, 0x7fffff80, 0}}) {
    fpu.fcsr = 0;
    EXPECT_EQ(single(c.op, c.funct, c.in), c.out) << name(c.op) << " " << std::hex << c.in;
    EXPECT_EQ(cause(fpu.fcsr), c.cause) << name(c.op) << " " << std::hex << c.in;
  }
  // Doubles: 2147483647.5 rounds out of range to nearest, truncates in range.
  const uint64_t just_above = 0x41dfffffffe00000;
  EXPECT_EQ(dbl(Op::ROUND_W_D, 0x0c, just_above) & 0xffffffff, 0x7fffffffu);
  EXPECT_EQ(cause(fpu.fcsr), kInvalid);
  EXPECT_EQ(dbl(Op::TRUNC_W_D, 0x0d, just_above) & 0xffffffff, 0x7fffffffu);
  EXPECT_EQ(cause(fpu.fcsr), kInexact);
  EXPECT_EQ(dbl(Op::CVT_W_D, 0x24, 0xc1e0000000000000) & 0xffffffff, 0x80000000u);  // -2^31
  EXPECT_EQ(cause(fpu.fcsr), 0u);
  fpu.fcsr = 3;  // CVT.W follows FCSR.RM
  EXPECT_EQ(dbl(Op::CVT_W_D, 0x24, 0xbff8000000000000) & 0xffffffff, 0xfffffffeu);  // -1.5 -> -2
  // The integer lands in the even register of fd alone.
  fpu.fpr[5] = 0x55555555;
  dbl(Op::TRUNC_W_D, 0x0d, kThreeD);
  EXPECT_EQ(fpu.fpr[4], 3u);
  // A .W result in an odd register: fine for a double source in an even one.
  fpu.write_double(2, kThreeD);
  EXPECT_EQ(run(Op::TRUNC_W_D, cop1(kD, 0, 2, 7, 0x0d)), FpuOutcome::Done);
  EXPECT_EQ(fpu.fpr[7], 3u);
}

TEST_F(FpuTest, ConversionsBetweenFormats) {
  fpu.fpr[0] = 16777217;  // 2^24 + 1: not a single
  EXPECT_EQ(run(Op::CVT_S_W, cop1(kW, 0, 0, 4, 0x20)), FpuOutcome::Done);
  EXPECT_EQ(fpu.fpr[4], 0x4b800000u);
  EXPECT_EQ(cause(fpu.fcsr), kInexact);
  fpu.fcsr = 2;
  run(Op::CVT_S_W, cop1(kW, 0, 0, 4, 0x20));
  EXPECT_EQ(fpu.fpr[4], 0x4b800001u);
  fpu.fcsr = 0;
  fpu.fpr[0] = 0xffffffff;
  run(Op::CVT_D_W, cop1(kW, 0, 0, 4, 0x21));
  EXPECT_EQ(fpu.read_double(4), 0xbff0000000000000u);
  EXPECT_EQ(fpu.fcsr, 0u);
  // single -> double: exact; NaNs become the default double NaN.
  fpu.fpr[1] = 0x00000001;  // the smallest subnormal single, 2^-149
  run(Op::CVT_D_S, cop1(kS, 0, 1, 4, 0x21));
  EXPECT_EQ(fpu.read_double(4), 0x36a0000000000000u);
  fpu.fpr[1] = kSNaNS;
  run(Op::CVT_D_S, cop1(kS, 0, 1, 4, 0x21));
  EXPECT_EQ(fpu.read_double(4), kDefaultNaND);
  EXPECT_EQ(cause(fpu.fcsr), kInvalid);
  // double -> single: rounding, overflow, the default single NaN.
  fpu.write_double(2, 0x3fd5555555555555);
  run(Op::CVT_S_D, cop1(kD, 0, 2, 5, 0x20));
  EXPECT_EQ(fpu.fpr[5], 0x3eaaaaabu);
  EXPECT_EQ(cause(fpu.fcsr), kInexact);
  fpu.write_double(2, 0x7e37e43c8800759c);  // 1e300
  run(Op::CVT_S_D, cop1(kD, 0, 2, 5, 0x20));
  EXPECT_EQ(fpu.fpr[5], kInfS);
  EXPECT_EQ(cause(fpu.fcsr), kOverflow | kInexact);
  fpu.write_double(2, kQNaND);
  run(Op::CVT_S_D, cop1(kD, 0, 2, 5, 0x20));
  EXPECT_EQ(fpu.fpr[5], kDefaultNaNS);
  EXPECT_EQ(cause(fpu.fcsr), 0u);
}

// MD00086 table "FPU Comparisons Without Special Operand Exceptions": each cond's answer for
// less, equal, unordered (greater is false for all); conds 8..15 signal on unordered.
struct CondRow {
  const char* name;
  bool less, equal, unordered;
};
constexpr CondRow kConds[16] = {
    {"f", 0, 0, 0},   {"un", 0, 0, 1},   {"eq", 0, 1, 0},  {"ueq", 0, 1, 1}, {"olt", 1, 0, 0}, {"ult", 1, 0, 1},
    {"ole", 1, 1, 0}, {"ule", 1, 1, 1},  {"sf", 0, 0, 0},  {"ngle", 0, 0, 1}, {"seq", 0, 1, 0}, {"ngl", 0, 1, 1},
    {"lt", 1, 0, 0},  {"nge", 1, 0, 1},  {"le", 1, 1, 0},  {"ngt", 1, 1, 1}};

TEST_F(FpuTest, EveryCompareConditionOnEveryRelation) {
  enum Relation { kLess, kEqual, kGreater, kUnorderedQuiet, kUnorderedSignalling };
  struct Input {
    Relation relation;
    uint32_t a, b;
    uint64_t ad, bd;
  };
  const Input inputs[] = {{kLess, kOneS, kTwoS, kOneD, kThreeD},
                          {kEqual, 0x80000000, 0, 0x8000000000000000, 0},  // -0 == +0
                          {kGreater, kTwoS, 0xff800000, kThreeD, 0xfff0000000000000},
                          {kUnorderedQuiet, kOneS, kQNaNS, kQNaND, kOneD},
                          {kUnorderedSignalling, kSNaNS, kOneS, kOneD, kSNaND}};
  for (unsigned cond = 0; cond < 16; ++cond) {
    const CondRow& row = kConds[cond];
    for (const Input& in : inputs) {
      const bool unordered = in.relation >= kUnorderedQuiet;
      const bool expected = (in.relation == kLess && row.less) || (in.relation == kEqual && row.equal) ||
                            (unordered && row.unordered);
      const bool invalid = in.relation == kUnorderedSignalling || (unordered && cond >= 8);
      for (const bool is_double : {false, true}) {
        const unsigned cc = is_double ? 0 : 5;
        // Every condition code set, but the one under test the opposite of its answer.
        fpu.fcsr = FcsrBits::FCC1_7 | FcsrBits::FCC0;
        if (expected) fpu.fcsr &= ~fcc_bit(cc);
        const uint32_t others = fpu.fcsr & ~fcc_bit(cc);
        if (is_double) {
          fpu.write_double(2, in.ad);
          fpu.write_double(4, in.bd);
          EXPECT_EQ(run(Op::C_COND_D, cop1(kD, 4, 2, cc << 2, 0x30 | cond)), FpuOutcome::Done);
        } else {
          fpu.fpr[2] = in.a;
          fpu.fpr[4] = in.b;
          EXPECT_EQ(run(Op::C_COND_S, cop1(kS, 4, 2, cc << 2, 0x30 | cond)), FpuOutcome::Done);
        }
        const std::string what = std::string("c.") + row.name + (is_double ? ".d" : ".s") + " relation " +
                                 std::to_string(in.relation);
        EXPECT_EQ(fpu_condition(fpu, cc), expected) << what;
        EXPECT_EQ(fpu.fcsr & ~fcc_bit(cc) & ~(FcsrBits::Cause | FcsrBits::Flags), others) << what;
        EXPECT_EQ(cause(fpu.fcsr), invalid ? kInvalid : 0u) << what;
        EXPECT_EQ(flags(fpu.fcsr), invalid ? kInvalid : 0u) << what;
      }
    }
  }
}

TEST_F(FpuTest, ATrappingCompareLeavesTheConditionAlone) {
  fpu.fcsr = enables(kInvalid) | FcsrBits::FCC0;
  fpu.fpr[2] = kQNaNS;
  EXPECT_EQ(run(Op::C_COND_S, cop1(kS, 4, 2, 0, 0x30 | 12)), FpuOutcome::FloatingPointException);  // c.lt.s
  EXPECT_TRUE(fpu_condition(fpu, 0));
  EXPECT_EQ(cause(fpu.fcsr), kInvalid);
  EXPECT_EQ(run(Op::C_COND_S, cop1(kS, 4, 2, 0, 0x30 | 4)), FpuOutcome::Done);  // c.olt.s: quiet
  EXPECT_FALSE(fpu_condition(fpu, 0));
}

TEST_F(FpuTest, MultiplyAddIsUnfused) {
  fpu.fpr[6] = kOneS;  // fr
  EXPECT_EQ(run(Op::MADD_S, cop1x(6, 2, 0, 4, 0x20)), FpuOutcome::Done);  // fs = ft = 0: 0*0 + 1
  EXPECT_EQ(fpu.fpr[4], kOneS);
  struct Case {
    Op op;
    uint32_t funct, result;
  };
  for (const Case& c : {Case{Op::MADD_S, 0x20, 0x40e00000}, Case{Op::MSUB_S, 0x28, 0x40a00000},
                        Case{Op::NMADD_S, 0x30, 0xc0e00000}, Case{Op::NMSUB_S, 0x38, 0xc0a00000}}) {
    fpu.fpr[0] = kTwoS;
    fpu.fpr[2] = kThreeS;
    fpu.fpr[6] = kOneS;
    EXPECT_EQ(run(c.op, cop1x(6, 2, 0, 4, c.funct)), FpuOutcome::Done);
    EXPECT_EQ(fpu.fpr[4], c.result) << name(c.op);  // 2*3 +/- 1, negated for N
  }
  // (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24 rounds to 1 + 2^-11 (a tie, to even) before the subtract:
  // fused would leave 2^-24.
  fpu.fpr[0] = fpu.fpr[2] = 0x3f800800;
  fpu.fpr[6] = 0x3f801000;
  run(Op::MSUB_S, cop1x(6, 2, 0, 4, 0x28));
  EXPECT_EQ(fpu.fpr[4], 0u);
  EXPECT_EQ(cause(fpu.fcsr), kInexact);
  // qemu-mipsel: nmadd.s of inf * 0 + 1 is the default NaN negated, with Invalid.
  fpu.fpr[0] = kInfS;
  fpu.fpr[2] = 0;
  run(Op::NMADD_S, cop1x(6, 2, 0, 4, 0x30));
  EXPECT_EQ(fpu.fpr[4], 0xffbfffffu);
  EXPECT_EQ(cause(fpu.fcsr), kInvalid);
  fpu.write_double(0, kThreeD);
  fpu.write_double(2, kThreeD);
  fpu.write_double(6, kOneD);
  EXPECT_EQ(run(Op::MADD_D, cop1x(6, 2, 0, 4, 0x21)), FpuOutcome::Done);
  EXPECT_EQ(fpu.read_double(4), 0x4024000000000000u);  // 10
}

TEST_F(FpuTest, MovesAbsAndNegAreBitOperations) {
  fpu.fcsr = kInvalid << FcsrBits::kCauseShift;  // left alone by all of these
  EXPECT_EQ(single(Op::ABS_S, 5, 0xff800001), 0x7f800001u);
  EXPECT_EQ(single(Op::NEG_S, 7, kSNaNS), 0xffc00000u);
  EXPECT_EQ(single(Op::MOV_S, 6, kSNaNS), kSNaNS);
  EXPECT_EQ(dbl(Op::NEG_D, 7, kOneD), 0xbff0000000000000u);
  EXPECT_EQ(dbl(Op::ABS_D, 5, 0xfff8000000000000), kSNaND);
  EXPECT_EQ(dbl(Op::MOV_D, 6, 0x0123456789abcdef), 0x0123456789abcdefu);
  EXPECT_EQ(fpu.fcsr, kInvalid << FcsrBits::kCauseShift);
}

TEST_F(FpuTest, ConditionalMoves) {
  fpu.fpr[0] = 0x11111111;
  gpr[9] = 0;
  fpu.fpr[4] = 0;
  run(Op::MOVN_S, cop1(kS, 9, 0, 4, 0x13));
  EXPECT_EQ(fpu.fpr[4], 0u);
  run(Op::MOVZ_S, cop1(kS, 9, 0, 4, 0x12));
  EXPECT_EQ(fpu.fpr[4], 0x11111111u);
  fpu.write_double(2, 0x2222222233333333);
  gpr[9] = 1;
  run(Op::MOVN_D, cop1(kD, 9, 2, 6, 0x13));
  EXPECT_EQ(fpu.read_double(6), 0x2222222233333333u);
  // .fmt on a condition code: MOVT.D $f8, $f2, $fcc5 and MOVF.S $f10, $f0, $fcc5.
  fpu.fcsr = fcc_bit(5);
  run(Op::MOVT_D, cop1(kD, 5 << 2 | 1, 2, 8, 0x11));
  EXPECT_EQ(fpu.read_double(8), 0x2222222233333333u);
  run(Op::MOVF_S, cop1(kS, 5 << 2, 0, 10, 0x11));
  EXPECT_EQ(fpu.fpr[10], 0u);
  // GPR MOVF/MOVT $3, $4, $fcc2.
  gpr[4] = 0x44;
  fpu.fcsr = fcc_bit(2);
  run(Op::MOVF, movci(4, 2 << 2, 3));
  EXPECT_EQ(gpr[3], 0u);
  run(Op::MOVT, movci(4, 2 << 2 | 1, 3));
  EXPECT_EQ(gpr[3], 0x44u);
  EXPECT_TRUE(fpu_condition(fpu, 2));
  EXPECT_FALSE(fpu_condition(fpu, 0));
}

TEST_F(FpuTest, WhatRaisesReservedInstruction) {
  EXPECT_EQ(run(Op::ADD_D, cop1(kD, 2, 1, 4, 0)), FpuOutcome::ReservedInstruction);  // odd fs
  EXPECT_EQ(run(Op::MOV_D, cop1(kD, 0, 2, 5, 6)), FpuOutcome::ReservedInstruction);  // odd fd
  EXPECT_EQ(run(Op::C_COND_D, cop1(kD, 3, 2, 0, 0x32)), FpuOutcome::ReservedInstruction);
  EXPECT_EQ(run(Op::CVT_D_S, cop1(kS, 0, 1, 3, 0x21)), FpuOutcome::ReservedInstruction);
  EXPECT_EQ(run(Op::MADD_D, cop1x(7, 2, 0, 4, 0x21)), FpuOutcome::ReservedInstruction);  // odd fr
  EXPECT_EQ(run(Op::CVT_L_S, cop1(kS, 0, 2, 4, 0x25)), FpuOutcome::ReservedInstruction);  // kFr1
  EXPECT_EQ(run(Op::LWC1, 0xc4820010), FpuOutcome::ReservedInstruction);                  // the interpreter's
  EXPECT_EQ(fpu.fcsr, 0u);
  EXPECT_EQ(fpu.fpr, (std::array<uint32_t, 32>{}));
}

// Random COP1/COP1X/MOVCI words with random registers and FCSR: no crash, no UB (the sanitizer
// builds check), FCSR keeps its read-only bits clear and Cause is all a trap changes.
TEST_F(FpuTest, RandomWordsSurvive) {
  std::mt19937 rng(20240601);
  std::printf("seed 20240601\n");
  for (int i = 0; i < 200000; ++i) {
    const uint32_t opcode = std::array{0x11u, 0x13u, 0x00u}[rng() % 3];
    const uint32_t word = opcode << 26 | (rng() & 0x03ffffff);
    const Decoded d = decode(word);
    if (!(d.flags & kFpu)) continue;
    for (uint32_t& r : fpu.fpr) r = rng() % 4 ? rng() : std::array{kSNaNS, kQNaNS, kInfS, 1u, 0x80000000u}[rng() % 5];
    for (uint32_t& r : gpr) r = rng();
    gpr[0] = 0;
    fpu.fcsr = rng() & FcsrBits::kWriteMask & ~FcsrBits::Cause;
    const Fpu before = fpu;
    const FpuOutcome outcome = execute_fpu(fpu, gpr, d);
    ASSERT_EQ(fpu.fcsr & ~FcsrBits::kWriteMask, 0u) << std::hex << word;
    ASSERT_EQ(gpr[0], 0u) << std::hex << word;
    ASSERT_EQ(std::fegetround(), FE_TONEAREST);
    if (outcome != FpuOutcome::Done && d.op != Op::CTC1) {
      ASSERT_EQ(fpu.fpr, before.fpr) << std::hex << word;
      ASSERT_EQ(fpu.fcsr & ~FcsrBits::Cause, before.fcsr) << std::hex << word;
    }
  }
}

}  // namespace
}  // namespace disco::mips
