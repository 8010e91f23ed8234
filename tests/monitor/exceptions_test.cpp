// Exception vectoring, interrupts, the CP0 instructions and the kernel/user checks (MD00090
// chapter 6, MD00086 for the instructions): single instruction words placed in memory (each
// checked against the decoder so a wrong encoding cannot pass silently) and one assembled
// program (interp_handler.S) with a real handler at EBase + 0x180.
#include <gtest/gtest.h>

#include <vector>

#include "monitor/cpu/interpreter.h"
#include "tests/monitor/kseg_memory.h"

namespace disco::mips {
namespace {

using namespace test;



constexpr uint32_t kBevGeneral = 0xbfc00380, kBevInterruptIv = 0xbfc00400;

// Kernel mode out of reset's ERL, kuseg identity-mapped, code at kCodeBase.
struct Cpu : KsegCpu {
  Cpu() : KsegCpu(StatusBits::BEV, true, kCodeBase) {}
};

TEST(Exceptions, EncodingsMatchTheDecoder) {
  const std::pair<uint32_t, Op> cases[] = {
      {mfc0(1, cp0::Status), Op::MFC0}, {mtc0(1, cp0::EBase), Op::MTC0}, {kEret, Op::ERET}, {kWait, Op::WAIT},
      {di(1), Op::DI}, {ei(1), Op::EI}, {rdpgpr(1, 2), Op::RDPGPR}, {wrpgpr(1, 2), Op::WRPGPR},
      {rdhwr(1, 29), Op::RDHWR}, {lw(1, 2, 4), Op::LW}, {sw(1, 2, 4), Op::SW}, {ll(1, 2), Op::LL},
      {sc(1, 2), Op::SC}, {lwc1(1, 2), Op::LWC1}, {cache(0x10, 2), Op::CACHE}, {beq(0, 0, 2), Op::BEQ},
      {add(1, 2, 3), Op::ADD}, {teq(1, 2), Op::TEQ}, {kSyscall, Op::SYSCALL}, {kBreak, Op::BREAK},
      {kTlbwi, Op::TLBWI}, {kReservedWord, Op::Reserved},
  };
  for (const auto& [word, op] : cases) EXPECT_EQ(decode(word).op, op) << std::hex << word << " " << name(op);
}

// One faulting instruction per kind; BEV=1 and BEV=0 with a moved EBase.
struct KindCase {
  const char* what;
  std::vector<uint32_t> words;  // the last one faults (earlier ones set up)
  uint32_t exc_code;
  bool sets_bad_vaddr;
  uint32_t bad_vaddr;
  uint32_t ce;
};

void check_kinds(uint32_t status, uint32_t ebase, uint32_t vector) {
  const KindCase cases[] = {
      {"AdEL load", {lw(2, 1, 1)}, 4, true, kData + 1, 0},
      {"AdES store", {sw(2, 1, 2)}, 5, true, kData + 2, 0},
      {"DBE", {lw(2, 3, 0)}, 7, false, 0, 0},
      {"Sys", {kSyscall}, 8, false, 0, 0},
      {"Bp", {kBreak}, 9, false, 0, 0},
      {"RI", {kReservedWord}, 10, false, 0, 0},
      {"RI (DERET: no EJTAG)", {kDeret}, 10, false, 0, 0},
      {"CpU 1", {lwc1(0, 1)}, 11, false, 0, 1},
      {"Ov", {add(2, 4, 4)}, 12, false, 0, 0},
      {"Tr", {teq(0, 0)}, 13, false, 0, 0},
  };
  for (const KindCase& k : cases) {
    SCOPED_TRACE(k.what);
    Cpu t;
    t.v.cp0.raw(cp0::Status) = status;
    t.v.cp0.raw(cp0::EBase) = ebase;
    t.v.cp0.raw(cp0::Cause) = CauseBits::BD | CauseBits::CE;  // stale: must be replaced
    t.v.cp0.raw(cp0::BadVAddr) = 0x5555;
    t.v.gpr[1] = kData;
    t.v.gpr[3] = 0x7f000000;  // no memory there
    t.v.gpr[4] = 0x7fffffff;
    const uint32_t fault_pc = kCodeBase + 0x40;
    t.code(k.words, fault_pc);
    const StepResult r = t.run();
    EXPECT_EQ(exc_code(r.exc), k.exc_code) << name(r.exc);
    EXPECT_EQ(t.exc_code(), k.exc_code);
    EXPECT_EQ(t.reg(cp0::EPC), fault_pc);
    EXPECT_FALSE(t.bd());
    EXPECT_EQ((t.reg(cp0::Cause) & CauseBits::CE) >> 28, k.ce);
    EXPECT_TRUE(t.exl());
    EXPECT_EQ(t.reg(cp0::BadVAddr), k.sets_bad_vaddr ? k.bad_vaddr : 0x5555u);
    EXPECT_EQ(t.v.pc, vector);
    EXPECT_EQ(t.v.next_pc, vector + 4);
    EXPECT_FALSE(t.v.in_delay_slot);
  }
  // Instruction fetch: AdEL on a misaligned pc, IBE where there is no memory.
  {
    Cpu t;
    t.v.cp0.raw(cp0::Status) = status;
    t.v.cp0.raw(cp0::EBase) = ebase;
    t.v.jump_to(kCodeBase + 2);
    t.run();
    EXPECT_EQ(t.exc_code(), 4u);
    EXPECT_EQ(t.reg(cp0::BadVAddr), kCodeBase + 2);
    EXPECT_EQ(t.reg(cp0::EPC), kCodeBase + 2);
    EXPECT_EQ(t.v.pc, vector);
  }
  {
    Cpu t;
    t.v.cp0.raw(cp0::Status) = status;
    t.v.cp0.raw(cp0::EBase) = ebase;
    t.v.jump_to(0x7ff00000);
    t.run();
    EXPECT_EQ(t.exc_code(), 6u);
    EXPECT_EQ(t.reg(cp0::EPC), 0x7ff00000u);
    EXPECT_EQ(t.v.pc, vector);
  }
}

TEST(Exceptions, EveryKindVectorsWithBevSet) { check_kinds(StatusBits::BEV, 0x80000000, kBevGeneral); }
TEST(Exceptions, EveryKindVectorsToAMovedEBase) { check_kinds(0, 0x80123000, 0x80123180); }

TEST(Exceptions, CoprocessorUnusableZeroInUserMode) {
  Cpu t;
  t.v.cp0.raw(cp0::Status) = StatusBits::UM;
  t.code({mfc0(2, cp0::Status)});
  const StepResult r = t.run();
  EXPECT_EQ(r.exc, Exception::CoprocessorUnusable);
  EXPECT_EQ(t.exc_code(), 11u);
  EXPECT_EQ(t.reg(cp0::Cause) & CauseBits::CE, 0u);
  EXPECT_EQ(t.v.pc, 0x80000180u) << "BEV=0, reset EBase";
  EXPECT_EQ(t.v.gpr[2], 0u);
}

TEST(Exceptions, DelaySlotSetsBdAndEpcOnTheBranch) {
  Cpu t;
  t.code({beq(0, 0, 4), kSyscall});
  EXPECT_EQ(t.run().exc, Exception::None);
  EXPECT_TRUE(t.v.in_delay_slot);
  const StepResult r = t.run();
  EXPECT_EQ(r.exc, Exception::Syscall);
  EXPECT_TRUE(r.in_delay_slot);
  EXPECT_TRUE(t.bd());
  EXPECT_EQ(t.reg(cp0::EPC), kCodeBase) << "EPC names the branch";
  EXPECT_EQ(t.exc_code(), 8u);
  EXPECT_EQ(t.v.pc, kBevGeneral);
  EXPECT_FALSE(t.v.in_delay_slot);
}

TEST(Exceptions, NestedExceptionKeepsEpcAndBd) {
  Cpu t;
  t.v.cp0.raw(cp0::Status) = StatusBits::BEV | StatusBits::EXL;
  t.v.cp0.raw(cp0::EPC) = 0x1234;
  t.v.cp0.raw(cp0::Cause) = CauseBits::BD | 8u << 2;
  t.v.gpr[1] = kData;
  t.code({lw(2, 1, 3)});
  t.run();
  EXPECT_EQ(t.reg(cp0::EPC), 0x1234u);
  EXPECT_TRUE(t.bd()) << "BD belongs to the first exception";
  EXPECT_EQ(t.exc_code(), 4u) << "ExcCode is the new one";
  EXPECT_EQ(t.reg(cp0::BadVAddr), kData + 3);
  EXPECT_TRUE(t.exl());
  EXPECT_EQ(t.v.pc, kBevGeneral);
}

TEST(Exceptions, EretReturnsAndClearsExl) {
  Cpu t;
  t.v.cp0.raw(cp0::Status) = StatusBits::EXL | StatusBits::UM;  // returning to user mode
  t.v.cp0.raw(cp0::EPC) = kCodeBase + 0x100;
  t.code({kEret});
  const StepResult r = t.run();
  EXPECT_EQ(r.exc, Exception::None);
  EXPECT_EQ(t.v.pc, kCodeBase + 0x100);
  EXPECT_EQ(t.v.next_pc, kCodeBase + 0x104);
  EXPECT_FALSE(t.v.in_delay_slot) << "ERET has no delay slot";
  EXPECT_EQ(t.reg(cp0::Status), StatusBits::UM);
}

TEST(Exceptions, EretWithErlUsesErrorEpc) {
  Cpu t;
  t.v.cp0.raw(cp0::Status) = StatusBits::ERL | StatusBits::EXL;
  t.v.cp0.raw(cp0::EPC) = 0x1000;
  t.v.cp0.raw(cp0::ErrorEPC) = kCodeBase + 0x200;
  t.code({kEret});
  t.run();
  EXPECT_EQ(t.v.pc, kCodeBase + 0x200);
  EXPECT_EQ(t.reg(cp0::Status), StatusBits::EXL) << "ERL cleared, EXL left";
}

TEST(Exceptions, EretClearsTheLlBit) {
  Cpu t;
  t.v.gpr[1] = kData;
  t.v.gpr[2] = 77;
  t.v.cp0.raw(cp0::Status) = StatusBits::EXL;
  t.v.cp0.raw(cp0::EPC) = kCodeBase + 8;
  t.code({ll(3, 1), kEret, sc(2, 1)});
  for (int i = 0; i < 3; ++i) ASSERT_EQ(t.run().exc, Exception::None);
  EXPECT_EQ(t.v.gpr[2], 0u) << "SC after ERET fails";
  uint32_t w;
  ASSERT_TRUE(t.memory.load(kData, 4, w));
  EXPECT_EQ(w, 0u);
}

TEST(Exceptions, EretInADelaySlotIsReservedInstruction) {
  Cpu t;
  t.v.cp0.raw(cp0::Status) = StatusBits::BEV | StatusBits::EXL;
  t.v.cp0.raw(cp0::EPC) = 0x4444;
  t.code({beq(0, 0, 4), kEret});
  t.run();
  const StepResult r = t.step();
  EXPECT_EQ(r.exc, Exception::ReservedInstruction);
  EXPECT_EQ(t.v.pc, kCodeBase + 4) << "nothing took effect";
  EXPECT_TRUE(t.exl());
}

TEST(Exceptions, Mfc0Mtc0RoundTripsAndUnimplementedRegisters) {
  Cpu t;
  t.v.gpr[1] = 0xcafef00d;
  t.code({mtc0(1, cp0::EPC), mfc0(2, cp0::EPC), mtc0(1, cp0::Wired), mfc0(3, cp0::Wired), mfc0(4, {22, 0}),
          mtc0(1, {22, 3}), mfc0(5, cp0::PRId), mfc0(6, cp0::EBase)});
  t.v.gpr[4] = 99;
  for (int i = 0; i < 8; ++i) ASSERT_EQ(t.run().exc, Exception::None) << i;
  EXPECT_EQ(t.v.gpr[2], 0xcafef00du);
  EXPECT_EQ(t.v.gpr[3], 0xdu) << "Wired keeps its writable bits";
  EXPECT_EQ(t.v.gpr[4], 0u) << "unimplemented register reads 0";
  EXPECT_EQ(t.interpreter.guest_errors(), 2u);
  EXPECT_EQ(t.v.gpr[5], 0x00019300u);
  EXPECT_EQ(t.v.gpr[6], 0x80000000u);
}

TEST(Exceptions, CountCompareTimerInterrupt) {
  for (const bool iv : {false, true}) {
    SCOPED_TRACE(iv ? "IV=1" : "IV=0");
    Cpu t;
    t.v.gpr[1] = 1000;
    t.v.gpr[2] = 1010;
    t.v.gpr[3] = StatusBits::BEV | StatusBits::IE | CauseBits::IP_TIMER;  // IM7 is where IP7 is
    t.v.gpr[4] = iv ? CauseBits::IV : 0;
    t.code({mtc0(4, cp0::Cause), mtc0(1, cp0::Count), mtc0(2, cp0::Compare), mtc0(3, cp0::Status), mfc0(5, cp0::Count),
            kNop, kNop});
    ASSERT_EQ(t.run().exc, Exception::None);
    const StepResult count = t.run();
    EXPECT_TRUE(count.timer_moved);
    EXPECT_TRUE(t.run().timer_moved);
    EXPECT_FALSE(t.run().timer_moved);
    t.run();
    EXPECT_EQ(t.v.gpr[5], 1001u) << "Count = 1000 + 3 cycles / 2";
    EXPECT_FALSE(Interpreter::interrupt_pending(t.v));
    // The run loop: skip to the deadline, raise the timer, take the interrupt.
    const uint64_t deadline = t.v.cp0.next_timer_cycle(t.v.cycles);
    t.v.cycles = deadline;
    EXPECT_EQ(t.v.cp0.count(t.v.cycles), 1010u);
    t.v.cp0.raise_timer();
    ASSERT_TRUE(Interpreter::interrupt_pending(t.v));
    const uint32_t pc = t.v.pc;
    const StepResult r = t.run();
    EXPECT_EQ(r.exc, Exception::Interrupt);
    EXPECT_EQ(t.exc_code(), 0u);
    EXPECT_EQ(t.reg(cp0::EPC), pc);
    EXPECT_TRUE(t.reg(cp0::Cause) & CauseBits::IP_TIMER);
    EXPECT_EQ(t.v.pc, iv ? kBevInterruptIv : kBevGeneral);
    EXPECT_FALSE(Interpreter::interrupt_pending(t.v)) << "EXL masks it now";
    // Writing Compare acknowledges it.
    t.v.cp0.raw(cp0::Status) &= ~StatusBits::EXL;
    ASSERT_TRUE(Interpreter::interrupt_pending(t.v));
    t.code({mtc0(2, cp0::Compare)});
    ASSERT_EQ(t.interpreter.step(t.v, t.memory).exc, Exception::None);
    EXPECT_FALSE(Interpreter::interrupt_pending(t.v));
  }
}

TEST(Exceptions, InterruptVectorWithMovedEBaseAndDelaySlot) {
  Cpu t;
  t.v.cp0.raw(cp0::EBase) = 0x80345000;
  t.v.cp0.raw(cp0::Status) = StatusBits::IE | (1u << 8);  // IM0
  t.v.cp0.raw(cp0::Cause) = CauseBits::IV;
  t.code({beq(0, 0, 4), kNop});
  ASSERT_EQ(t.run().exc, Exception::None);
  t.v.cp0.raw(cp0::Cause) |= 1u << 8;  // software interrupt 0
  EXPECT_EQ(t.run().exc, Exception::Interrupt);
  EXPECT_EQ(t.v.pc, 0x80345200u);
  EXPECT_TRUE(t.bd());
  EXPECT_EQ(t.reg(cp0::EPC), kCodeBase);
  // IV=0: the general vector.
  Cpu u;
  u.v.cp0.raw(cp0::EBase) = 0x80345000;
  u.v.cp0.raw(cp0::Status) = StatusBits::IE | (1u << 9);
  u.v.cp0.raw(cp0::Cause) = 1u << 9;
  u.code({kNop});
  EXPECT_TRUE(Interpreter::deliver_interrupt(u.v));
  EXPECT_EQ(u.v.pc, 0x80345180u);
  EXPECT_EQ(u.reg(cp0::EPC), kCodeBase);
  EXPECT_FALSE(u.bd());
}

TEST(Exceptions, InterruptPendingNeedsIeUnmaskedAndNoExlErl) {
  Vcpu v;
  test::map_kuseg_identity(v);
  v.cp0.raw(cp0::Cause) = 1u << 12;
  const uint32_t im4 = 1u << 12;
  v.cp0.raw(cp0::Status) = StatusBits::IE | im4;
  EXPECT_TRUE(Interpreter::interrupt_pending(v));
  v.cp0.raw(cp0::Status) = im4;
  EXPECT_FALSE(Interpreter::interrupt_pending(v)) << "IE clear";
  v.cp0.raw(cp0::Status) = StatusBits::IE | (1u << 13);
  EXPECT_FALSE(Interpreter::interrupt_pending(v)) << "masked";
  v.cp0.raw(cp0::Status) = StatusBits::IE | im4 | StatusBits::EXL;
  EXPECT_FALSE(Interpreter::interrupt_pending(v)) << "EXL";
  v.cp0.raw(cp0::Status) = StatusBits::IE | im4 | StatusBits::ERL;
  EXPECT_FALSE(Interpreter::interrupt_pending(v)) << "ERL";
  EXPECT_FALSE(Interpreter::deliver_interrupt(v));
}

TEST(Exceptions, DiEiWaitAndShadowRegisterMoves) {
  Cpu t;
  t.v.cp0.raw(cp0::Status) = StatusBits::BEV | StatusBits::IE;
  t.v.gpr[7] = 0x77;
  t.code({di(1), ei(2), kWait, rdpgpr(3, 7), wrpgpr(4, 7), kNop});
  ASSERT_EQ(t.run().exc, Exception::None);
  EXPECT_EQ(t.v.gpr[1], StatusBits::BEV | StatusBits::IE);
  EXPECT_EQ(t.reg(cp0::Status), StatusBits::BEV);
  ASSERT_EQ(t.run().exc, Exception::None);
  EXPECT_EQ(t.v.gpr[2], StatusBits::BEV);
  EXPECT_EQ(t.reg(cp0::Status), StatusBits::BEV | StatusBits::IE);
  const StepResult w = t.run();
  EXPECT_EQ(w.exc, Exception::None);
  EXPECT_TRUE(w.waiting);
  EXPECT_EQ(t.v.pc, kCodeBase + 12) << "WAIT moves past itself: the interrupt's EPC is the next one";
  const StepResult after = t.run();
  EXPECT_FALSE(after.waiting);
  t.run();
  EXPECT_EQ(t.v.gpr[3], 0x77u);
  EXPECT_EQ(t.v.gpr[4], 0x77u);
}

TEST(Exceptions, UserModeChecks) {
  const uint32_t user = StatusBits::UM | StatusBits::BEV;
  {  // RDHWR: RI without the HWREna bit, allowed with it
    Cpu t;
    t.v.cp0.raw(cp0::Status) = user;
    t.v.cp0.raw(cp0::UserLocal) = 0xabc;
    t.code({rdhwr(2, 29)});
    EXPECT_EQ(t.step().exc, Exception::ReservedInstruction);
    t.v.cp0.raw(cp0::HWREna) = 1u << 29;
    EXPECT_EQ(t.step().exc, Exception::None);
    EXPECT_EQ(t.v.gpr[2], 0xabcu);
    t.code({rdhwr(3, 2)});  // CC: bit 2 clear
    EXPECT_EQ(t.step().exc, Exception::ReservedInstruction);
    t.v.cp0.raw(cp0::Status) = StatusBits::BEV;  // kernel mode ignores HWREna
    EXPECT_EQ(t.step().exc, Exception::None);
  }
  {  // kuseg only: loads, stores and fetches above 0x80000000 are address errors
    Cpu t;
    t.v.cp0.raw(cp0::Status) = user;
    t.v.gpr[1] = 0x80001000;
    t.code({lw(2, 1, 4)});
    t.run();
    EXPECT_EQ(t.exc_code(), 4u);
    EXPECT_EQ(t.reg(cp0::BadVAddr), 0x80001004u);
    EXPECT_EQ(t.reg(cp0::EPC), kCodeBase);
    t.v.cp0.raw(cp0::Status) = user;
    t.code({sw(2, 1, 0)});
    t.run();
    EXPECT_EQ(t.exc_code(), 5u);
    EXPECT_EQ(t.reg(cp0::BadVAddr), 0x80001000u);
    t.v.cp0.raw(cp0::Status) = user;
    t.code({kNop}, 0x80002000);
    t.run();
    EXPECT_EQ(t.exc_code(), 4u);
    EXPECT_EQ(t.reg(cp0::BadVAddr), 0x80002000u);
    EXPECT_EQ(t.reg(cp0::EPC), 0x80002000u);
    t.v.cp0.raw(cp0::Status) = user;
    t.code({ll(2, 1)});
    EXPECT_EQ(t.step().exc, Exception::AddressErrorLoad) << "ll";
    t.code({sc(2, 1)});
    EXPECT_EQ(t.step().exc, Exception::AddressErrorStore) << "sc";
    t.code({i_type(0b100010, 1, 2, 1)});  // lwl
    EXPECT_EQ(t.step().exc, Exception::AddressErrorLoad) << "lwl";
    // The same accesses in kernel mode go through.
    t.v.cp0.raw(cp0::Status) = StatusBits::BEV;
    t.code({lw(2, 1, 4), kNop}, 0x80002000);
    EXPECT_EQ(t.step().exc, Exception::None);
    EXPECT_EQ(t.step().exc, Exception::None);
  }
  {  // CACHE and CP0 ops: CpU 0 in user mode, allowed with CU0
    Cpu t;
    t.v.cp0.raw(cp0::Status) = user;
    t.code({cache(0x10, 0)});
    StepResult r = t.step();
    EXPECT_EQ(r.exc, Exception::CoprocessorUnusable);
    EXPECT_EQ(r.coprocessor, 0u);
    t.code({kEret});
    EXPECT_EQ(t.step().exc, Exception::CoprocessorUnusable);
    t.v.cp0.raw(cp0::Status) = user | StatusBits::CU0;
    t.code({mfc0(2, cp0::Status)});
    EXPECT_EQ(t.step().exc, Exception::None);
    EXPECT_EQ(t.v.gpr[2], user | StatusBits::CU0);
  }
}

// interp_handler.S: the guest installs its own handler, takes a syscall and returns past it.
TEST(Exceptions, GuestHandlerReturnsPastSyscall) {
  Cpu t;
  t.memory.load_program(std::string(DISCO_INTERP_DIR) + "/interp_handler.bin");
  t.v.jump_to(kCodeBase);
  t.v.cp0 = Cp0();  // reset state: BEV and ERL
  StepResult r;
  unsigned steps = 0;
  uint32_t syscall_pc = 0;
  do {
    const uint32_t pc = t.v.pc;
    r = t.run();
    if (r.exc == Exception::Syscall) syscall_pc = pc;
    ASSERT_LT(++steps, 1000u);
  } while (r.exc != Exception::Break);
  ASSERT_NE(syscall_pc, 0u);
  EXPECT_EQ(t.v.gpr[22], 1u) << "the handler ran once";
  EXPECT_EQ(t.v.gpr[20] & CauseBits::ExcCode, 8u << 2) << "Cause.ExcCode = Sys";
  EXPECT_EQ(t.v.gpr[21], syscall_pc) << "EPC";
  EXPECT_EQ(t.v.gpr[5], 5u);
  EXPECT_EQ(t.v.gpr[6], 6u) << "execution continued after the syscall";
  EXPECT_EQ(t.v.gpr[7] & (StatusBits::EXL | StatusBits::ERL | StatusBits::BEV), 0u);
  EXPECT_EQ(t.v.gpr[23], 0u);
  EXPECT_EQ(t.reg(cp0::EBase) & 0xfffff000u, 0x80400000u);
}

}  // namespace
}  // namespace disco::mips
