// What one Interpreter::run call hands its compiled blocks (block_compiler.h): the callbacks into
// the interpreter, the clock's budget and the counters the compiled code keeps. Every Vcpu holds
// the one its runs use (Vcpu::blocks), so compiled code reaches it and the architectural state
// from one host register, as QEMU's TCG reaches its CPUNegativeOffsetState beside the CPU's.
#pragma once

#include <cstdint>

#include "monitor/cpu/decoder.h"

namespace disco::mips {

struct Vcpu;

// What one Interpreter::run call hands its compiled blocks.
struct BlockContext {
  Vcpu* vcpu = nullptr;
  void* interpreter = nullptr;  // the Interpreter, for the fallback
  void* memory = nullptr;       // the run's Memory, for the fallback
  uint64_t instructions = 0;    // retired; run() adds them to its RunStats
  uint64_t exceptions = 0;      // delivered by the fallback
  uint64_t until = 0;           // run()'s clock limit: a block goes on into the next only before it
  // Compiled code keeps what it ran in line in one register, not in memory: instructions in the
  // low half, in-line RAM hits in the high half. It leaves them here for every call and when it
  // returns; Interpreter::settle() adds them to vcpu.cycles, `instructions` and *hits.
  uint64_t pending = 0;
  uint64_t* hits = nullptr;  // DirectRam::hits
  // How many more instructions the compiled code may run in line before the clock reaches
  // `until` (capped at 2^31); Interpreter::set_budget() sets it.
  uint32_t budget = 0;
  // What a block's end compares the instructions run in line with: the budget, or 0 after
  // anything that may have raised or unmasked an interrupt (every call out of compiled code, an
  // in-line Status write or EI), so that one compare serves both of the dispatcher's checks
  // while nothing happened. The end that finds it 0 looks for an interrupt and restores it.
  uint32_t limit = 0;
  // Executes one instruction through the interpreter at vcpu.pc (which the compiled code has set,
  // with next_pc and in_delay_slot) and commits it or delivers its exception. Nonzero: leave the
  // block now, the vcpu's state is exact (exception, WAIT, timer write, code dropped).
  uint32_t (*fallback)(BlockContext*, const Decoded*) = nullptr;
  uint8_t exit = 0;  // the RunExit that made the fallback leave, when it was one
  // Compiled LB, LBU, LH, LHU, LW at vaddr into *out: 1 done, 0 not possible simply (fall back).
  uint32_t (*load[5])(BlockContext*, uint32_t vaddr, uint32_t* out) = {};
  // Compiled SB, SH, SW at vaddr: 1 done, 0 fall back, 2 done and committed with `after` as
  // the next pc (the store dropped predecoded code, perhaps this block's: leave now).
  uint32_t (*store[3])(BlockContext*, uint32_t vaddr, uint32_t value, uint32_t after) = {};
  uint32_t discard = 0;  // where a load into r0 goes
  // The ASID << 4, as kuseg blocks key the soft TLB (SoftTlbView): run() sets it before it
  // enters a block, and the fallback after every instruction it runs (the one way from a kernel
  // block into a kuseg one is an ERET's fallback; in a chain of kuseg blocks, whatever writes
  // EntryHi ends the block back in run()).
  uint32_t asid_key = 0;
  // CP0 moves done in line (Cp0::plain_read/plain_write, DI, EI): run() tells a monitor, for
  // which they are special-page accesses.
  uint64_t cp0_moves = 0;
  // A CACHE other than Hit_Invalidate_I in a kernel block, at `pc` outside a delay slot: it
  // changes nothing the guest sees, so in bare mode (nullptr) it is compiled as nothing; under a
  // monitor this tells it of the trap.
  void (*cache)(BlockContext*, uint32_t pc) = nullptr;
};

}  // namespace disco::mips
