// The MIPS32r2 interpreter: executes a Vcpu's instructions (integer, CP0, JTLB, FPU) against a
// GuestMemory with the MIPS delay-slot rules; step() reports the exception an instruction raised
// and deliver() vectors it; run() executes whole blocks, compiled ones too (block_compiler.h).
//
// Under the Disco monitor (set_trap_handler(), trap_handler.h) the guest kernel runs
// de-privileged: privileged instructions still execute here, against the vcpu's virtual CP0 and
// TLB, and are then handed to the monitor, as are the soft TLB's misses on mapped addresses
// (the monitor's machine TLB answers them) and every exception and interrupt delivered.
//
// Call sequence: construct one Interpreter per vcpu (it owns that vcpu's predecode cache);
// vcpu.jump_to(entry); then either run() (a run loop's fast path, below), or per instruction
// step_and_deliver() (the whole cycle:
// a pending interrupt is taken, else one instruction runs and its exception is vectored), or
// the parts: interrupt_pending() / deliver_interrupt(), step(), deliver(). step() itself never
// vectors: when it returns an exception, nothing of the instruction took effect (no register,
// HI/LO, CP0 or memory write, pc unchanged), so deliver() (or a test) can vector it from
// vcpu.pc, result.in_delay_slot and result.bad_vaddr. StepResult::waiting says WAIT ran: the
// run loop should skip vcpu.cycles ahead to cp0.next_timer_cycle() (or the next device event)
// instead of spinning. Call invalidate_page() when a page that may hold code is written other
// than by this vcpu's own stores, or its mapping changes; SYNCI invalidates its own page.
//
// Exceptions (MD00090 ch. 6, deliver()): ExcCode from exc_code(); if Status.EXL was 0, EPC =
// the faulting pc (the branch's when in a delay slot) and Cause.BD; BadVAddr for address and
// TLB exceptions (the architecture does not set it for bus errors), and for TLB exceptions
// Context.BadVPN2 and EntryHi.VPN2 too; Cause.CE = the unit for CpU, else 0; Status.EXL = 1;
// pc = (Status.BEV ? 0xbfc00200 : EBase[31:12]) + 0x180, or + 0x200 for an interrupt with
// Cause.IV = 1, or + 0x000 for a TLB refill taken with EXL clear.
//
// Addresses (MD00090 §4.3): in user mode (Status.KSU == 2 with EXL and ERL clear) only kuseg
// (below 0x80000000) is addressable, anything else is AdEL/AdES with BadVAddr. kseg0 and kseg1
// map to physical by dropping the top three bits; kuseg with Status.ERL set is unmapped (the
// reset state); kuseg and kseg2/3 otherwise go through the JTLB (tlb.h). A small direct-mapped
// soft TLB per access kind (load, store) sits in front of the JTLB; a TLBWI/TLBWR of this vcpu
// drops only the pages of the entry it replaced and of the one it wrote, and a write from
// anywhere else (Tlb::generation moved behind our back) drops it whole. Its key holds the ASID,
// so an ASID switch needs no flush.
// GuestMemory sees physical addresses only.
//
// Decode once (STYLE habit 6): each instruction word is decoded (decoder.h) the first time its
// address executes and kept in a per-4-KiB-page array of Decoded; execution is a switch over Op.
// A switch rather than a handler table: the compiler turns it into one jump table, every case
// sees the pc/next_pc/gpr locals without a call and a Vcpu& spill, and a handler table would
// buy nothing until the loop is templated on Mode/Trace (habit 7), when it can be revisited.
// run() executes blocks: from one instruction fetch translation, straight on through the page's
// predecode until a delay slot has run, a CP0 instruction that may change the translation or the
// exception state (ends_block()), a dropped predecode or the page's end. Between blocks, and only
// there, it takes a pending interrupt and looks at the clock; within a block nothing but the
// instructions runs, so the per-instruction cost is the execution itself. interpreter_run.h holds it and execute(),
// the one instruction body that step() and run() share.
// Predecode is keyed by physical page, so processes sharing a virtual address never see each
// other's code. This vcpu's own stores to a predecoded page drop its predecode (a byte per page says which pages
// have one, so a store pays one load): the kernel writes exception handlers, trampolines and
// module text and then executes them. Stores by others (vcpus, DMA) need invalidate_page().
//
// Instructions beyond the integer core, and the documented choices:
// - FPU lines (kFpu: COP1, COP1X, LWC1/LDC1/SWC1/SDC1, MOVF/MOVT): CoprocessorUnusable unit 1
//   unless Status.CU1 (Linux enables CU1 lazily, on that exception). The loads, stores and BC1
//   branches run here; everything else is fpu.h's execute_fpu (FR=0; 64-bit-FPR-only forms,
//   kFr1, raise RI), whose IEEE exceptions become FloatingPoint (FPE).
// - CP0 lines: MFC0/MTC0 go through Cp0::read/write (an unimplemented (reg, sel) reads 0, and
//   is counted in guest_errors()); ERET (ERL ? ErrorEPC, clear ERL : EPC, clear EXL; clears the
//   LL bit; in a delay slot, UNPREDICTABLE, it raises RI as QEMU does); DI/EI; WAIT (sets
//   StepResult::waiting, pc moves past it); RDPGPR/WRPGPR with the one register set there is
//   (plain GPR moves); TLBR/TLBWI/TLBWR/TLBP (tlb.h). DERET: ReservedInstruction (there is no
//   EJTAG). All raise CoprocessorUnusable unit 0 in user mode without Status.CU0.
// - CACHE, SYNC, PREF, SYNCI: no-ops, except that SYNCI and CACHE Hit_Invalidate_I drop the
//   predecode of their page (the guest's own "I wrote code here"); an address of theirs that
//   does not translate is ignored (no TLB exception: they have no effect to protect). CACHE's index operations
//   (blast_icache) do not: their address names no page, and a store already dropped it.
// - SDBBP (no EJTAG) and Op::Reserved: ReservedInstruction. Branches in delay slots are
//   UNPREDICTABLE and simply do what the pc pair makes them do.
// - RDHWR: 0 CPUNum, 1 SYNCI_Step (32), 2 CC (Count), 3 CCRes (2), 29 UserLocal; others RI.
// Performance note: the user-mode checks test an address's bit 31 first and only then read
// Status (Cp0::raw is one indexed load).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "monitor/cpu/block_compiler.h"
#include "monitor/cpu/decoder.h"
#include "monitor/cpu/guest_memory.h"
#include "monitor/cpu/trap_handler.h"
#include "monitor/cpu/vcpu.h"
#include "node/host_clock.h"

namespace disco::mips {

enum class Exception : uint8_t {
  None,
  AddressErrorLoad,     // AdEL: misaligned load or instruction fetch (bad_vaddr set)
  AddressErrorStore,    // AdES: misaligned store (bad_vaddr set)
  Overflow,             // Ov: ADD, ADDI, SUB signed overflow
  Trap,                 // Tr: a conditional trap whose condition held
  Syscall,              // Sys
  Break,                // Bp
  ReservedInstruction,  // RI
  BusErrorData,         // DBE (bad_vaddr set for diagnostics; the architecture does not set BadVAddr)
  BusErrorInstruction,  // IBE (bad_vaddr = pc)
  CoprocessorUnusable,  // CpU: StepResult::coprocessor says which unit (Cause.CE)
  Interrupt,            // Int: never returned by step(); deliver_interrupt() raises it
  TlbModified,          // Mod: a store through a clean (D = 0) entry (bad_vaddr set)
  TlbLoad,              // TLBL: fetch or load with no entry (refill) or an invalid one (bad_vaddr set)
  TlbStore,             // TLBS: the same for a store
  FloatingPoint,        // FPE: an enabled IEEE exception, or an unimplemented FPU operation
};
inline constexpr unsigned kExceptionKinds = 16;
std::string_view name(Exception e);
// Cause.ExcCode of an exception (MD00090 table 9.31); None has none and maps to 0 like Int.
uint32_t exc_code(Exception e);

// Why Interpreter::run returned.
enum class RunExit : uint8_t {
  Until,       // the clock reached `until` (checked between blocks, so it may be a block past it)
  Waiting,     // WAIT ran (pc is past it): idle until the next event
  TimerMoved,  // MTC0 wrote Count or Compare: ask Cp0::next_timer_cycle() again
};
struct RunStats {
  uint64_t instructions = 0;  // retired (an instruction that raised an exception did not)
  uint64_t exceptions = 0;    // delivered, interrupts included
};

struct StepResult {
  Exception exc = Exception::None;
  uint32_t bad_vaddr = 0;      // for address errors (and bus errors, informative)
  bool in_delay_slot = false;  // the instruction was in a delay slot: Cause.BD, EPC = pc - 4
  uint8_t coprocessor = 0;     // for CoprocessorUnusable: Cause.CE
  bool waiting = false;        // WAIT executed: idle until an interrupt (skip to the next event)
  bool timer_moved = false;    // MTC0 wrote Count or Compare: ask next_timer_cycle() again
  bool refill = false;         // TlbLoad/TlbStore found no entry: the refill vector (offset 0)
};

class Interpreter {
 public:
  // Executes the instruction at vcpu.pc (see the file comment for what an exception leaves).
  StepResult step(Vcpu& vcpu, GuestMemory& memory);

  // Vectors the exception step() returned in `result` (nothing for Exception::None), from
  // vcpu.pc as step() left it. See the file comment for what it sets.
  static void deliver(Vcpu& vcpu, const StepResult& result);
  // Status.IE && !EXL && !ERL && (Cause.IP & Status.IM) != 0: checked between instructions.
  static bool interrupt_pending(const Vcpu& vcpu) {
    const uint32_t status = vcpu.cp0.raw(cp0::Status);
    if ((status & (StatusBits::IE | StatusBits::EXL | StatusBits::ERL)) != StatusBits::IE) return false;
    return (vcpu.cp0.raw(cp0::Cause) & status & CauseBits::IP) != 0;  // Status.IM sits where Cause.IP does
  }
  // If interrupt_pending(), vectors an interrupt (ExcCode 0; EPC = vcpu.pc, or the branch when
  // vcpu.pc is a delay slot) and returns true.
  static bool deliver_interrupt(Vcpu& vcpu);
  // The run loop's cycle: a pending interrupt is taken (and reported with exc = Interrupt),
  // else one instruction is stepped and its exception, if any, delivered.
  StepResult step_and_deliver(Vcpu& vcpu, GuestMemory& memory);
  // The run loop's fast path, equivalent to step_and_deliver() repeated except that interrupts
  // are taken only between blocks (see the file comment). Each instruction and each delivered
  // exception costs one cycle. Defined in interpreter_run.h; instantiated there for GuestMemory,
  // and by a run loop for its own final memory class.
  template <class Memory>
  RunExit run(Vcpu& vcpu, Memory& memory, uint64_t until, RunStats& stats);

  // Compiles blocks to host code (block_compiler.h) from now on, or interprets them only again.
  // A block is compiled when it starts after having been interpreted `compile_after` times
  // (where it starts: a dropped page starts over). Of the 38 k blocks of the Debian boot that
  // start twice, half start fewer than 17 times; 16 compiles only the other half, and the boot
  // measured fastest with it (1, 4, 16, 32 and 64 tried).
  void set_compiling(bool on, uint32_t compile_after = 16);
  bool compiling() const { return compiler_ != nullptr; }
  // Names the compiled blocks for perf (BlockCompiler::open_perf_map); false when not compiling
  // or the map cannot be opened.
  bool open_perf_map() { return compiler_ != nullptr && compiler_->open_perf_map(); }
  // Guest RAM that compiled kernel blocks may reach in line (block_compiler.h); code_pages is
  // filled in here. Call after set_compiling(true).
  void set_direct_ram(DirectRam ram);
  uint64_t compiled_blocks() const { return compiled_blocks_; }
  // Bare mode: mapped accesses the vcpu's L2TLB answered after its JTLB missed (no refill).
  uint64_t l2tlb_hits() const { return l2tlb_hits_; }
  // Mapped accesses the soft TLB could not answer (translate_mapped() calls).
  uint64_t soft_tlb_misses() const { return soft_tlb_misses_; }
  // Both modes: TLB flushes by the guest that emptied the L2TLB too (l2tlb.h).
  uint64_t l2tlb_clears() const { return l2tlb_clears_; }

  // MFC0/MTC0 of an unimplemented CP0 register so far (reads 0, writes ignored).
  uint64_t guest_errors() const { return guest_errors_; }
  // Exceptions and interrupts delivered by run(), by Exception.
  const std::array<uint64_t, kExceptionKinds>& exceptions_by_cause() const { return exceptions_by_cause_; }
  // Instructions compiled blocks handed back to the interpreter (BlockContext::fallback), by Op:
  // what the block compiler does not do itself yet, weighted by how often it runs.
  const std::array<uint64_t, kOpCount>& fallbacks_by_op() const { return fallbacks_by_op_; }
  // Cycles the vcpu spent in user mode during run() (entered by ERET or an MTC0 of Status, left
  // by an exception or interrupt).
  uint64_t user_cycles(const Vcpu& v) const { return user_cycles_ + (in_user_ ? v.cycles - user_since_ : 0); }

  // Hands privileged work to a monitor (trap_handler.h); nullptr: bare mode, the guest owns the CPU.
  void set_trap_handler(TrapHandler* handler) {
    trap_ = handler;
    flush_translations();
    if (compiler_ != nullptr) {  // compiled MFC0 Count and MTC0 Status are bare mode's
      drop_compiled();
      compiler_->set_bare(trap_ == nullptr);
    }
  }
  // Drops every cached translation (the soft TLB), or one page's in address space `asid`: the
  // monitor's machine TLB lost them. Translations otherwise die when vcpu.tlb is written.
  void flush_translations();
  void forget_translation(uint32_t vaddr, uint8_t asid);
  // Drops the soft TLB's translations of every page entry `e` spans, in any address space: the
  // pages whose translation a write of `e` (or over it) can change.
  void forget_pages(const TlbEntry& e);

  // The lowest address from which the words before `pc`, up to 4 of them in its page, are all
  // run_transparent() (trap_handler.h): pc itself when the word before is not, or when pc is
  // mapped code (kseg0/kseg1 only: there the words are what executed). For a monitor's runs.
  uint32_t run_from(uint32_t pc);
  // What a monitor is told of privileged instruction `op` at pc as it begins (its effects are
  // added as it executes).
  PrivilegedOp trapped(Op op, uint32_t pc, bool in_delay_slot);

  // Forgets the predecoded instructions of the 4 KiB physical page holding `paddr`.
  void invalidate_page(uint32_t paddr);
  void invalidate_all();

  static constexpr unsigned kPageShift = 12;
  static constexpr unsigned kWordsPerPage = 1u << (kPageShift - 2);
  static_assert(kWordsPerPage == kSlotsPerPage, "compiled code indexes a page's slots by word");

 private:
  struct PredecodedPage {
    Decoded insts[kWordsPerPage];
    bool valid[kWordsPerPage] = {};  // filled on first execution of each word
    BlockSlot compiled[kWordsPerPage] = {};  // by the block's first word; dies with the page
  };
  // Where control goes after an instruction that raised nothing (execute -> commit).
  struct Flow {
    uint32_t pc_after = 0;
    uint32_t next_after = 0;
    bool jumped = false;  // a taken branch or a jump: the next instruction is its delay slot
  };
  // The instruction `d` at vcpu.pc: its effects, except the pc pair, r0 and the cycle, which
  // commit() applies when it raised nothing. Shared by step() and run().
  template <class Memory>
  StepResult execute(Vcpu& v, Memory& mem, Decoded d, Flow& flow);
  static void commit(Vcpu& v, const Flow& flow);
  // Delivers an exception step-free code raised, counting it and its cycle (and tells trap_).
  void take(Vcpu& v, const StepResult& r, uint64_t& exceptions);
  // A pending interrupt, delivered as take() delivers an exception; false when none is pending.
  bool take_interrupt(Vcpu& v, uint64_t& exceptions);
  // Mode accounting (user_cycles): an exception leaves user mode; ERET and MTC0 Status may enter it.
  void kernel_mode_begins(const Vcpu& v) {
    if (!in_user_) return;
    user_cycles_ += v.cycles - user_since_;
    in_user_ = false;
  }
  void user_mode_may_have_begun(const Vcpu& v);

  // execute() and then commit() or take(), counted: one instruction retired or its exception
  // delivered, for run()'s blocks and the compiled blocks' fallback alike.
  template <class Memory>
  StepResult retire(Vcpu& v, Memory& mem, Decoded d, uint64_t& instructions, uint64_t& exceptions);
  // Takes what compiled code ran in line (BlockContext::pending) into the counters, and tells it
  // how far it may run on now (BlockContext::budget). Before and after every call from compiled
  // code, and around each block run() enters.
  static void settle(BlockContext& c);
  static void set_budget(BlockContext& c);
  // The calls below: settled on the way in, a new budget on the way out, and a limit that has
  // the block's end look for an interrupt (a device access or a CP0 write may raise or unmask one).
  struct CompiledCall {
    explicit CompiledCall(BlockContext* c) : c(*c) { settle(this->c); }
    ~CompiledCall() {
      set_budget(c);
      c.limit = 0;
    }
    CompiledCall(const CompiledCall&) = delete;
    CompiledCall& operator=(const CompiledCall&) = delete;
    BlockContext& c;
  };
  // BlockContext::cache under a monitor: tells it of the CACHE at pc, as execute() does.
  static void compiled_cache(BlockContext* context, uint32_t pc);
  // BlockContext::fallback for a run on Memory: execute() one instruction and commit or take it.
  template <class Memory>
  static uint32_t compiled_fallback(BlockContext* context, const Decoded* d);
  // BlockContext::load/store: one access of a compiled LB..LW / SB..SW; 0 when it cannot complete
  // simply (the block then falls back to execute(), which raises what it must).
  template <class Memory, Op kOp>
  static uint32_t compiled_load(BlockContext* context, uint32_t vaddr, uint32_t* out);
  template <class Memory, Op kOp>
  static uint32_t compiled_store(BlockContext* context, uint32_t vaddr, uint32_t value, uint32_t after);
  // The physical address of a `size`-byte data access at vaddr: false with `fault` set (its
  // in_delay_slot kept) for a misaligned or untranslatable one. For load_data and store_data.
  bool data_address(Vcpu& v, unsigned size, uint32_t vaddr, bool store, uint32_t& pa, StepResult& fault);
  // The data accesses of LB..LW and SB..SW, shared by execute() and the compiled ones: false with
  // `fault` set (its in_delay_slot kept) when the access cannot proceed.
  template <class Memory>
  bool load_data(Vcpu& v, Memory& mem, Op op, uint32_t vaddr, uint32_t& value, StepResult& fault);
  template <class Memory>
  bool store_data(Vcpu& v, Memory& mem, Op op, uint32_t vaddr, uint32_t value, StepResult& fault);
  // Whether a block ends after CP0 instruction `d` (compiled and interpreted blocks alike): all
  // may change Status, the ASID or the TLB, but CACHE other than Hit_Invalidate_I, which changes
  // nothing the guest sees; MFC0, which only reads; DI and EI, which change
  // Status.IE only (an interrupt EI unmasks is taken at the block's end, where run() and a
  // compiled block's end look; MIPS lets EI take effect after an execution hazard barrier); and
  // MTC0 of a Cp0::plain_write() register. In code at `pc` in kseg0/kseg1, which no TLB
  // translates, neither do MTC0 of EntryHi and the TLB instructions: the kernel's TLB refill and
  // flush loops run on (a mapped access asks the soft TLB, which those keep in step; a kernel
  // block goes on into a kuseg one only after an ERET that finds the soft TLB in step).
  static bool ends_block(const Decoded& d, uint32_t pc) {
    if (!(d.flags & kPrivileged)) return false;
    const bool unmapped_code = pc - 0x80000000u < 0x40000000u;
    switch (d.op) {
      case Op::MFC0: case Op::DI: case Op::EI:
        return false;
      case Op::MTC0:
        return !Cp0::plain_write(cp0_register(d)) && !(unmapped_code && cp0_register(d) == cp0::EntryHi);
      case Op::TLBWR: case Op::TLBWI: case Op::TLBP: case Op::TLBR:
        return !unmapped_code;
      case Op::CACHE:  // only Hit_Invalidate_I can drop code, this block's own perhaps
        return d.rt == kHitInvalidateI;
      default:
        return true;
    }
  }
  // Compiles the block that starts at vcpu.pc (in `page`, at physical_base) and records it in the
  // page; nullptr when its first word cannot be fetched.
  CompiledBlock compile_block(Vcpu& v, PredecodedPage& page, uint32_t physical_base, GuestMemory& mem);
  void drop_compiled();
  // The predecoded page of the instruction at vcpu.pc, with its physical address in `pa`; nullptr
  // with `fault` set when the fetch cannot proceed (address error, TLB exception).
  PredecodedPage* fetch_page(Vcpu& v, uint32_t& pa, StepResult& fault);
  // fetch_page's halves: the physical address of vcpu.pc (false with `fault` set), and its page.
  bool fetch_address(Vcpu& v, uint32_t& pa, StepResult& fault);
  PredecodedPage* page_of(uint32_t pa);
  // The word at physical `pa` in its page, decoded on first use; nullptr for a bus error.
  const Decoded* decoded(PredecodedPage& page, uint32_t pa, GuestMemory& mem);
  PredecodedPage* page_at(uint32_t number);  // created on first use
  // Virtual to physical for a fetch/load (store = false) or a store. False with `fault` set
  // (address error or TLB exception, in_delay_slot filled) when the access cannot proceed.
  bool translate(Vcpu& v, uint32_t vaddr, bool store, uint32_t& paddr, StepResult& fault);
  // translate()'s slow path: the JTLB's answer for a mapped address, which fills the soft TLB.
  bool translate_mapped(Vcpu& v, uint32_t vaddr, bool store, uint32_t& paddr, StepResult& fault);
  uint32_t status(const Vcpu& v) const { return v.cp0.raw(cp0::Status); }
  // After a successful store of this vcpu: drops the page's predecode if it has one.
  void snoop_store(uint32_t addr) {
    const uint32_t number = addr >> kPageShift;
    if (has_page_[number]) invalidate_page(addr);
  }

  struct SoftTlbEntry {
    uint32_t key = kNoKey;  // soft_key()
    uint32_t offset = 0;    // physical - virtual address (mod 2^32): a hit is one add
  };
  // The page's virtual address | ASID << 4, and bit 2 for a kseg2 page: a key that compiled
  // code computes (SoftTlbView: without looking at the segment, bits 2-3 clear) never equals a
  // kernel page's.
  static uint32_t soft_key(uint32_t vaddr, uint32_t asid) {
    return (vaddr & SoftTlbView::kPageMask) | asid << 4 | (vaddr >> 29 & 4);
  }
  // The ASID's part of a kuseg key (BlockContext::asid_key).
  static uint32_t asid_key(const Vcpu& v) { return (v.cp0.raw(cp0::EntryHi) & kAsidMask) << 4; }
  static constexpr uint32_t kNoKey = ~0u;
  static constexpr unsigned kSoftTlbEntries = SoftTlbView::kEntries;
  static constexpr uint64_t kNoGeneration = ~uint64_t{0};  // matches no Tlb::generation: refill first
  std::array<SoftTlbEntry, kSoftTlbEntries> soft_load_{}, soft_store_{};
  uint64_t soft_tlb_generation_ = 0;  // the Tlb::generation the soft TLB was filled under
  uint32_t soft_ram_bytes_ = ~0u;  // the soft TLB maps only physical pages below (DirectRam::ram_bytes)

  TrapHandler* trap_ = nullptr;
  uint64_t guest_errors_ = 0;
  std::array<uint64_t, kExceptionKinds> exceptions_by_cause_{};
  std::array<uint64_t, kOpCount> fallbacks_by_op_{};
  uint64_t user_cycles_ = 0, user_since_ = 0;
  bool in_user_ = false;
  std::unique_ptr<BlockCompiler> compiler_;
  uint32_t compile_after_ = 16;
  uint64_t compiled_blocks_ = 0;
  uint64_t l2tlb_hits_ = 0, l2tlb_clears_ = 0, soft_tlb_misses_ = 0;
  // Predecode by physical page number: a two-level table (1024 leaves of 1024 pages), so finding
  // a page is two loads; leaves exist only where code ran.
  static constexpr unsigned kPagesPerLeaf = 1024;
  using PageLeaf = std::array<std::unique_ptr<PredecodedPage>, kPagesPerLeaf>;
  std::array<std::unique_ptr<PageLeaf>, (1u << (32 - kPageShift)) / kPagesPerLeaf> directory_{};
  // A byte per physical page, 1 if it has predecode: one load for a store's check, here and in
  // compiled code (DirectRam::code_pages).
  std::vector<uint8_t> has_page_ = std::vector<uint8_t>(1u << (32 - kPageShift));
  uint64_t page_generation_ = 0;         // moves when a page's predecode is dropped: run() stops its block
  // run()'s dispatch cache: compiled blocks by physical pc, valid while page_generation_ is what
  // it was when they were entered (drop_compiled() moves it too).
  struct DispatchEntry {
    CompiledBlock code = nullptr;
    uint64_t generation = ~uint64_t{0};
    uint32_t physical_pc = 0, pc = 0;
  };
  static constexpr unsigned kDispatchEntries = 4096;
  std::array<DispatchEntry, kDispatchEntries> dispatch_{};
  uint32_t last_page_number_ = 0;        // a one-entry cache in front of directory_: straight-line
  PredecodedPage* last_page_ = nullptr;  // code stays on one page for up to 1024 steps
};

}  // namespace disco::mips
