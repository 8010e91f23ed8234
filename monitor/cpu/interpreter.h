// The MIPS32r2 integer interpreter: executes one instruction of a Vcpu against a GuestMemory,
// with the MIPS delay-slot rules, and reports the exception the instruction raised instead of
// vectoring it (exception vectoring, the TLB and the FPU are later steps).
//
// Call sequence: construct one Interpreter per vcpu (it owns that vcpu's predecode cache);
// vcpu.jump_to(entry); then step() repeatedly. When step() returns an exception, nothing of the
// instruction took effect (no register, HI/LO or memory write, pc unchanged), so the caller can
// vector it using vcpu.pc, result.in_delay_slot and result.bad_vaddr. Call invalidate_page() when
// a page that may hold code is written other than by this vcpu's own stores, or its mapping
// changes; SYNCI invalidates its own page.
//
// Decode once (STYLE habit 6): each instruction word is decoded (decoder.h) the first time its
// address executes and kept in a per-4-KiB-page array of Decoded; execution is a switch over Op.
// A switch rather than a handler table: the compiler turns it into one jump table, every case
// sees the pc/next_pc/gpr locals without a call and a Vcpu& spill, and a handler table would
// buy nothing until the loop is templated on Mode/Trace (habit 7), when it can be revisited.
// This vcpu's own stores to a predecoded page drop its predecode (a bit per page says which pages
// have one, so a store pays one bit test): the kernel writes exception handlers, trampolines and
// module text and then executes them. Stores by others (vcpus, DMA) need invalidate_page().
//
// Instructions that are not integer-core work yet, and what they raise (documented choices):
// - FPU lines (kFpu: COP1, COP1X, LWC1/LDC1/SWC1/SDC1, MOVF/MOVT): CoprocessorUnusable with
//   unit 1, whatever Status.CU1 says, until the FPU step. (Linux treats CpU-1 as "FPU not enabled
//   yet" or emulates; either way the guest is told the truth: there is no FPU here yet.)
// - CP0 lines other than CACHE (MFC0, MTC0, TLB*, ERET, DI/EI, WAIT, RDPGPR/WRPGPR, DERET):
//   CoprocessorUnusable unit 0 in user mode without Status.CU0 (the architected check), else
//   ReservedInstruction as a placeholder until the CP0/TLB step.
// - CACHE, SYNC, PREF, SYNCI: no-ops, except that SYNCI and CACHE Hit_Invalidate_I drop the
//   predecode of their page (the guest's own "I wrote code here"). CACHE's index operations
//   (blast_icache) do not: their address names no page, and a store already dropped it. CACHE is
//   privileged; its user-mode CpU check is left for the privileged-mode step.
// - SDBBP (no EJTAG) and Op::Reserved: ReservedInstruction. Branches in delay slots are
//   UNPREDICTABLE and simply do what the pc pair makes them do.
// - RDHWR: 0 CPUNum, 1 SYNCI_Step (32), 2 CC (Count), 3 CCRes (2), 29 UserLocal; others RI.
//   The HWREna user-mode check is left for the privileged-mode step.
#pragma once

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
};
std::string_view name(Exception e);

struct StepResult {
  Exception exc = Exception::None;
  uint32_t bad_vaddr = 0;      // for address errors (and bus errors, informative)
  bool in_delay_slot = false;  // the instruction was in a delay slot: Cause.BD, EPC = pc - 4
  uint8_t coprocessor = 0;     // for CoprocessorUnusable: Cause.CE
};

class Interpreter {
 public:
  // Executes the instruction at vcpu.pc (see the file comment for what an exception leaves).
  StepResult step(Vcpu& vcpu, GuestMemory& memory);

  // Forgets the predecoded instructions of the 4 KiB page holding `addr`.
  void invalidate_page(uint32_t addr);
  void invalidate_all();

  static constexpr unsigned kPageShift = 12;
  static constexpr unsigned kWordsPerPage = 1u << (kPageShift - 2);

 private:
  struct PredecodedPage {
    Decoded insts[kWordsPerPage];
    bool valid[kWordsPerPage] = {};  // filled on first execution of each word
  };
  // nullptr when the word cannot be fetched (bus error).
  const Decoded* predecoded(uint32_t pc, GuestMemory& memory);
  // After a successful store of this vcpu: drops the page's predecode if it has one.
  void snoop_store(uint32_t addr) {
    const uint32_t number = addr >> kPageShift;
    if (has_page_[number / 64] >> (number % 64) & 1) invalidate_page(addr);
  }

  std::unordered_map<uint32_t, std::unique_ptr<PredecodedPage>> pages_;  // by page number
  std::vector<uint64_t> has_page_ = std::vector<uint64_t>((1u << (32 - kPageShift)) / 64);  // 128 KiB
  uint32_t last_page_number_ = 0;       // a one-entry cache in front of pages_: straight-line
  PredecodedPage* last_page_ = nullptr;  // code stays on one page for up to 1024 steps
};

}  // namespace disco::mips
