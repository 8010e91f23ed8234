// Compiles a guest block (interpreter.h's blocks: straight-line code through one delay slot, a
// CP0 instruction or a page's end) to x86-64 host code, so a block that runs again costs no
// decode, no dispatch and no per-instruction bookkeeping. The integer ALU, shifts, moves, HI/LO,
// multiplies and the branches and jumps are emitted inline on the vcpu's registers in memory;
// every other instruction (memory, CP0, FPU, traps, anything that can raise) calls back into the
// interpreter's own execute() for that one instruction (BlockContext::fallback), so there is one
// definition of what each of them does. We emit with xbyak (Debian's libxbyak-dev), a
// well-kept x86 assembler, rather than encode instructions ourselves.
//
// Call sequence: the interpreter decodes a block, compile()s it once and calls the result with a
// BlockContext whenever the block starts again outside a delay slot. The compiled code returns
// with vcpu.pc/next_pc/in_delay_slot, cycles and the counters exact, having either finished the
// block or stopped where the fallback said to (an exception it delivered, WAIT, a timer write,
// code dropped). Code lives until clear(): the interpreter drops its pointers to compiled blocks
// with their predecoded page, and clears everything when compile() reports the buffer full.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "monitor/cpu/decoder.h"

namespace Xbyak {
class CodeGenerator;
}

namespace disco::mips {

struct Vcpu;

// What one Interpreter::run call hands its compiled blocks.
struct BlockContext {
  Vcpu* vcpu = nullptr;
  void* interpreter = nullptr;  // the Interpreter, for the fallback
  void* memory = nullptr;       // the run's Memory, for the fallback
  uint64_t instructions = 0;    // retired; run() adds them to its RunStats
  uint64_t exceptions = 0;      // delivered by the fallback
  // Executes one instruction through the interpreter at vcpu.pc (which the compiled code has set,
  // with next_pc and in_delay_slot) and commits it or delivers its exception. Nonzero: leave the
  // block now, the vcpu's state is exact (exception, WAIT, timer write, code dropped).
  uint32_t (*fallback)(BlockContext*, const Decoded*) = nullptr;
  uint8_t exit = 0;  // the RunExit that made the fallback leave, when it was one
  // Compiled LB, LBU, LH, LHU, LW at vaddr into *out: 1 done, 0 not possible simply (fall back).
  uint32_t (*load[5])(BlockContext*, uint32_t vaddr, uint32_t* out) = {};
  // Compiled SB, SH, SW of the instruction at pc: 1 done, 0 fall back, 2 done and committed
  // (the store dropped predecoded code, perhaps this block's: leave now).
  uint32_t (*store[3])(BlockContext*, uint32_t vaddr, uint32_t value, uint32_t pc) = {};
  uint32_t discard = 0;  // where a load into r0 goes
};

using CompiledBlock = void (*)(BlockContext*);

class BlockCompiler {
 public:
  explicit BlockCompiler(std::size_t code_bytes = 64u << 20);
  ~BlockCompiler();

  // Compiles the `count` instructions starting at guest virtual `pc` (`insts` stays valid as long
  // as the block is used). nullptr when the code buffer is full: clear() and compile again.
  CompiledBlock compile(uint32_t pc, const Decoded* insts, unsigned count);
  void clear();
  std::size_t bytes_used() const;

  // Whether the compiled code does `op` itself (the rest falls back to the interpreter).
  static bool inline_op(Op op);

 private:
  std::size_t capacity_;
  std::unique_ptr<Xbyak::CodeGenerator> code_;
};

}  // namespace disco::mips
