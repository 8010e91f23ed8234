// Compiles a guest block (interpreter.h's blocks: straight-line code through one delay slot, a
// CP0 instruction that Interpreter::ends_block() or a page's end) to x86-64 host code, so a
// block that runs again costs no decode, no dispatch and no per-instruction bookkeeping. The
// integer ALU, shifts, moves, HI/LO, multiplies and the branches and jumps are emitted inline on
// the vcpu's registers, those needed soonest held in host registers within a block
// (across its in-line loads and stores, written back where the block calls out or ends, and kept
// across the back edge of a block that loops to its own start);
// loads and stores that hit RAM go in line too (DirectRam: kseg0 for kernel blocks, kuseg through
// the soft TLB for the others) and call BlockContext::load/store otherwise (LWL/LWR, which have
// no such call, the interpreter); every other instruction (CP0, FPU, traps, LL/SC, SWL/SWR)
// calls back into the interpreter's own
// execute() for that one instruction (BlockContext::fallback), so there is one definition of
// what each of them does. We emit with xbyak (Debian's libxbyak-dev), a
// well-kept x86 assembler, rather than encode instructions ourselves.
//
// Call sequence: the interpreter decodes a block, compile()s it once and calls the result with a
// BlockContext whenever the block starts again outside a delay slot; blocks of one page chain
// into each other directly (compile()), and into other pages' through the jump cache
// (remember()). The compiled code returns
// with vcpu.pc/next_pc/in_delay_slot, cycles and the counters exact, having either finished the
// block or stopped where the fallback said to (an exception it delivered, WAIT, a timer write,
// code dropped). Code lives until clear(): the interpreter drops its pointers to compiled blocks
// with their predecoded page, and clears everything when compile() reports the buffer full.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>

#include "monitor/cpu/block_context.h"
#include "monitor/cpu/decoder.h"

namespace Xbyak {
class CodeGenerator;
}

namespace disco::mips {

struct Vcpu;

using CompiledBlock = void (*)(BlockContext*);

// Guest RAM that compiled loads and stores of kernel blocks reach in line, without a call, when
// their address is in kseg0/kseg1 (set by the run loop that owns the memory; without it every
// access calls BlockContext::load/store). The in-line hit path is the machine's cache check done
// exactly as node/memory_port.h's HitPath describes; anything else takes the call.
struct DirectRam {
  uint32_t ram_bytes = 0;                  // guest physical addresses below are RAM
  const uint64_t* machine_page = nullptr;  // per 4 KiB guest page: its machine address, ~0 unplaced
  uint64_t linear_base = ~uint64_t{0};     // or, when every page is at this base + its address, that
  uint8_t* host_base = nullptr;            // machine address 0 in this process
  uint32_t line_shift = 0;
  uint64_t* active = nullptr;  // the pcpu's announcement of its access: the line, or ~0 (near `tags`)
  const uint64_t* tags = nullptr;  // per filter entry: the read tag, then the write tag
  uint64_t tag_mask = 0;
  uint64_t* hits = nullptr;              // the hit counter (one writer: this pcpu)
  const uint8_t* code_pages = nullptr;  // byte per physical page, 1 with predecode: stores there call
};

// Where the compiled block starting at one word of a page is kept (a page has one per word,
// kSlotsPerPage of them).
inline constexpr unsigned kSlotsPerPage = 1024;
struct BlockSlot {
  CompiledBlock code = nullptr;
  uint32_t pc = 0;    // the virtual pc it was compiled for (its constants hold it)
  uint32_t runs = 0;  // times a block started here before it was compiled
};

// The interpreter's soft TLB (interpreter.h), which compiled kuseg accesses look up in line:
// 1024 entries per access kind, each {key = the page's virtual address | ASID << 4, physical -
// virtual address (mod 2^32)}; a kseg2 page's key also has bit 2 set. The code's key is the
// address with its offset cleared but for the bits an access of its size must have clear, | ASID
// << 4: a kernel address or a misaligned one never hits, so the code need not test the segment
// or the alignment; only pages of RAM (DirectRam::ram_bytes) are entered. The run loop enters a
// kuseg block only with the soft TLB in step with the vcpu's TLB and kuseg mapped (ERL clear),
// and nothing in a chain of kuseg blocks changes either, so the code checks neither.
struct SoftTlbView {
  static constexpr unsigned kEntries = 1024;
  static constexpr uint32_t kPageMask = ~uint32_t{0xfff};  // a key's page address
  const uint32_t* load = nullptr;   // key, offset pairs
  const uint32_t* store = nullptr;  // within 2 GiB of `load`
};

// One entry of BlockCompiler's jump cache.
struct alignas(32) JumpEntry {
  CompiledBlock code = nullptr;
  uint64_t generation = 0;
  uint32_t pc = 0;
  uint32_t offset = 0;  // a kuseg block's: physical - virtual pc, as SoftTlbView keeps it
};

class BlockCompiler {
 public:
  static constexpr unsigned kJumpEntries = 4096;

  explicit BlockCompiler(std::size_t code_bytes = 64u << 20);
  ~BlockCompiler();

  // Compiles the `count` instructions starting at guest virtual `pc` (`insts` stays valid as long
  // as the block is used). `page_slots` are the 1024 slots of the block's page: where the block
  // ends in a jump to a pc of the same virtual page, it goes on straight into the block compiled
  // there (chaining), unless an interrupt is pending or the clock reached BlockContext::until.
  // nullptr when the code buffer is full: clear() and compile again.
  CompiledBlock compile(uint32_t pc, const Decoded* insts, unsigned count, const BlockSlot* page_slots);
  void clear();
  std::size_t bytes_used() const;

  // The jump cache: compiled blocks by virtual pc, which blocks chain to across pages (within
  // one page the page's slots serve): kernel blocks to kseg0/kseg1 pcs, whose translation is
  // fixed, and user blocks to kuseg pcs, where the soft TLB must still map the pc to the physical
  // page the block came from (its `offset`). The run loop remembers each block it enters; an entry
  // holds while *code_generation (the interpreter's count of dropped predecode) is what it was
  // then, so dropping code needs no sweep here.
  void set_code_generation(const uint64_t* code_generation) { code_generation_ = code_generation; }
  void remember(uint32_t pc, uint32_t physical_pc, CompiledBlock code) {
    if (code_generation_ == nullptr || pc >= kKernelDirect + kKernelDirectBytes) return;  // kseg2/3: mapped
    jumps_[(pc >> 2) % kJumpEntries] = {
        .code = code, .generation = *code_generation_, .pc = pc, .offset = physical_pc - pc};
  }

  // From now on, blocks reach RAM in line (drops nothing already compiled: call before): kernel
  // blocks through kseg0, the others through kuseg and the soft TLB.
  // `active` must lie within 2 GiB of `tags` (PcpuFilter keeps them together): compiled code
  // addresses it from them.
  void set_direct_ram(const DirectRam& ram);
  uint64_t* hits() const { return ram_.hits; }
  // The store half must lie within 2 GiB of the load half: compiled code addresses it from it.
  void set_soft_tlb(const SoftTlbView& tlb);
  // Bare mode: kernel blocks read Count and write Status in line; under a monitor both trap to it.
  void set_bare(bool on) { bare_ = on; }

  // Names every block compiled from now on in /tmp/perf-<pid>.map, the file `perf report` reads
  // to name code generated at run time (QEMU's -perfmap alike). False if it cannot be opened or
  // the name is anything but our own regular file (a link planted in /tmp is refused).
  bool open_perf_map();

  // Whether the compiled code does `op` itself (the rest falls back to the interpreter).
  static bool inline_op(Op op);

 private:
  static constexpr uint32_t kKernelDirect = 0x80000000u, kKernelDirectBytes = 0x40000000u;  // kseg0+kseg1
  std::unique_ptr<JumpEntry[]> jumps_ = std::make_unique<JumpEntry[]>(kJumpEntries);
  const uint64_t* code_generation_ = nullptr;
  std::size_t capacity_;
  DirectRam ram_;
  SoftTlbView soft_tlb_;
  std::size_t prologue_bytes_ = 0;  // what chaining skips: the entry's pushes and context loads
  bool bare_ = false;
  std::unique_ptr<Xbyak::CodeGenerator> code_;
  std::unique_ptr<Xbyak::CodeGenerator> scratch_;  // where a loop is emitted first, to learn its back edge
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> perf_map_{nullptr, std::fclose};
};

}  // namespace disco::mips
