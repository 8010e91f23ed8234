// The MIPS32r2 integer interpreter: executes one instruction of a Vcpu against a GuestMemory,
// with the MIPS delay-slot rules, and reports the exception the instruction raised instead of
// vectoring it (exception vectoring, the TLB and the FPU are later steps).
//
// Call sequence: construct one Interpreter per vcpu (it owns that vcpu's predecode cache);
// vcpu.jump_to(entry); then, per instruction, either step_and_deliver() (the whole cycle:
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
// soft TLB per access kind (load, store) sits in front of the JTLB and dies whole when the JTLB
// is written (Tlb::generation); its key holds the ASID, so an ASID switch needs no flush.
// GuestMemory sees physical addresses only.
//
// Decode once (STYLE habit 6): each instruction word is decoded (decoder.h) the first time its
// address executes and kept in a per-4-KiB-page array of Decoded; execution is a switch over Op.
// A switch rather than a handler table: the compiler turns it into one jump table, every case
// sees the pc/next_pc/gpr locals without a call and a Vcpu& spill, and a handler table would
// buy nothing until the loop is templated on Mode/Trace (habit 7), when it can be revisited.
// Predecode is keyed by physical page, so processes sharing a virtual address never see each
// other's code. This vcpu's own stores to a predecoded page drop its predecode (a bit per page says which pages
// have one, so a store pays one bit test): the kernel writes exception handlers, trampolines and
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
#include <unordered_map>
#include <vector>

#include "monitor/cpu/decoder.h"
#include "monitor/cpu/guest_memory.h"
#include "monitor/cpu/vcpu.h"

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
std::string_view name(Exception e);
// Cause.ExcCode of an exception (MD00090 table 9.31); None has none and maps to 0 like Int.
uint32_t exc_code(Exception e);

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
  static bool interrupt_pending(const Vcpu& vcpu);
  // If interrupt_pending(), vectors an interrupt (ExcCode 0; EPC = vcpu.pc, or the branch when
  // vcpu.pc is a delay slot) and returns true.
  static bool deliver_interrupt(Vcpu& vcpu);
  // The run loop's cycle: a pending interrupt is taken (and reported with exc = Interrupt),
  // else one instruction is stepped and its exception, if any, delivered.
  StepResult step_and_deliver(Vcpu& vcpu, GuestMemory& memory);

  // MFC0/MTC0 of an unimplemented CP0 register so far (reads 0, writes ignored).
  uint64_t guest_errors() const { return guest_errors_; }

  // Forgets the predecoded instructions of the 4 KiB physical page holding `paddr`.
  void invalidate_page(uint32_t paddr);
  void invalidate_all();

  static constexpr unsigned kPageShift = 12;
  static constexpr unsigned kWordsPerPage = 1u << (kPageShift - 2);

 private:
  struct PredecodedPage {
    Decoded insts[kWordsPerPage];
    bool valid[kWordsPerPage] = {};  // filled on first execution of each word
  };
  // nullptr when the word cannot be fetched (bus error).
  const Decoded* predecoded(uint32_t pc_physical, GuestMemory& memory);
  // Virtual to physical for a fetch/load (store = false) or a store. False with `fault` set
  // (address error or TLB exception, in_delay_slot filled) when the access cannot proceed.
  bool translate(Vcpu& v, uint32_t vaddr, bool store, uint32_t& paddr, StepResult& fault);
  // The JTLB's answer for a mapped address, through the soft TLB.
  bool translate_mapped(Vcpu& v, uint32_t vaddr, bool store, uint32_t& paddr, StepResult& fault);
  uint32_t status(const Vcpu& v) const { return v.cp0.raw(cp0::Status); }
  // After a successful store of this vcpu: drops the page's predecode if it has one.
  void snoop_store(uint32_t addr) {
    const uint32_t number = addr >> kPageShift;
    if (has_page_[number / 64] >> (number % 64) & 1) invalidate_page(addr);
  }

  struct SoftTlbEntry {
    uint32_t key = kNoKey;  // vaddr >> 12 | ASID << 20
    uint32_t frame = 0;     // physical address of the 4 KiB frame
  };
  static constexpr uint32_t kNoKey = ~0u;
  static constexpr unsigned kSoftTlbEntries = 256;
  std::array<SoftTlbEntry, kSoftTlbEntries> soft_load_{}, soft_store_{};
  uint64_t soft_tlb_generation_ = 0;  // the Tlb::generation the soft TLB was filled under

  uint64_t guest_errors_ = 0;
  std::unordered_map<uint32_t, std::unique_ptr<PredecodedPage>> pages_;  // by page number
  std::vector<uint64_t> has_page_ = std::vector<uint64_t>((1u << (32 - kPageShift)) / 64);  // 128 KiB
  uint32_t last_page_number_ = 0;       // a one-entry cache in front of pages_: straight-line
  PredecodedPage* last_page_ = nullptr;  // code stays on one page for up to 1024 steps
};

}  // namespace disco::mips
