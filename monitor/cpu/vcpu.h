// The architectural state of one virtual MIPS32r2 CPU (a 24Kf): what the interpreter
// (interpreter.h) reads and writes, and what exception vectoring, context switches and
// checkpoints will save. Plain data; no behaviour beyond keeping the pc pair consistent.
#pragma once

#include <array>
#include <cstdint>

#include "monitor/cpu/block_context.h"
#include "monitor/cpu/cp0.h"
#include "monitor/cpu/fpu.h"
#include "monitor/cpu/l2tlb.h"
#include "monitor/cpu/tlb.h"

namespace disco::mips {

struct Vcpu {
  std::array<uint32_t, 32> gpr{};  // gpr[0] reads 0: the interpreter re-zeroes it after each step
  uint32_t hi = 0;
  uint32_t lo = 0;

  // The delay-slot machinery as two program counters (DuckStation's pc/npc): `pc` is the
  // instruction step() executes next, `next_pc` the one after it. A taken branch changes only
  // next_pc, so its delay slot (at pc+4) still runs first.
  uint32_t pc = 0;
  uint32_t next_pc = 4;
  // The instruction at `pc` is the delay slot of a branch or jump: an exception there must set
  // Cause.BD and EPC = pc - 4 (the branch); Interpreter::deliver does.
  bool in_delay_slot = false;

  // LLbit: set by LL, cleared by SC and ERET. SC fails while it is clear whatever the memory's
  // link says (the memory system owns the link; this is the CPU's half, which ERET clears).
  bool ll_bit = false;

  Cp0 cp0;
  Tlb tlb;
  L2Tlb l2tlb{0};  // the JTLB's second level (l2tlb.h), sized by whoever builds the vcpu
  Fpu fpu;
  uint64_t cycles = 0;  // virtual cycles; one per executed instruction for now (Count = cycles / 2)

  // Not architectural: the context of the run in progress for its compiled blocks, here so that
  // they reach it through the register that holds the Vcpu (block_context.h).
  BlockContext blocks;

  // Starts execution at `address`, outside any delay slot (reset, ERET, a test's entry point).
  void jump_to(uint32_t address) {
    pc = address;
    next_pc = address + 4;
    in_delay_slot = false;
  }
};

}  // namespace disco::mips
