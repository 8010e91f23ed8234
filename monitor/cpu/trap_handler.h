// Where a de-privileged vcpu's privileged work goes: the monitor (monitor/vm/vcpu_monitor.h).
// In bare mode an Interpreter has none and the guest kernel owns the CPU; under the Disco monitor
// the guest kernel runs de-privileged (the paper's supervisor mode, section 4.2.1) and the
// interpreter hands the monitor everything the real hardware would trap on:
//   - every privileged instruction (CP0 moves, TLB instructions, ERET, WAIT, DI/EI, CACHE), after
//     emulating its architectural effect against the vcpu's *virtual* CP0 and TLB (vcpu.cp0 and
//     vcpu.tlb are the guest's view), so there is one definition of what each instruction does;
//   - a mapped (kuseg/kseg2) access that the interpreter's soft TLB cannot answer: the monitor's
//     machine TLB, L2TLB and the guest's own TLB decide (translate());
//   - every exception and interrupt reflected into the guest at its own vectors (reflected());
//   - HYPCALL, the monitor call.
//
// Call sequence: Interpreter::set_trap_handler(h); from then on the interpreter calls these from
// execute(), translate_mapped() and its exception delivery, on the vcpu's own thread.
#pragma once

#include <cstdint>

#include "monitor/cpu/cp0.h"
#include "monitor/cpu/decoder.h"
#include "monitor/cpu/tlb.h"

namespace disco::mips {

struct Vcpu;
struct StepResult;

// What a privileged instruction did, already emulated on the virtual CP0/TLB.
struct PrivilegedOp {
  Op op = Op::Reserved;
  Cp0Id reg{0, 0};         // MFC0/MTC0: the register
  uint32_t before = 0;     // MTC0: the register's value before the write; DI/EI, ERET: Status before
  unsigned index = 0;      // TLBWI/TLBWR: the entry written
  TlbEntry replaced;       // TLBWI/TLBWR: the entry it replaced
  bool l2tlb_cleared = false;  // TLBWI: it completed a flush of the whole TLB, the L2TLB went too
  uint64_t started = 0;    // the host's time stamp counter when the instruction began
  uint32_t pc = 0;         // where it is
  bool in_delay_slot = false;
  // The words in [run_from, pc) are run_transparent() (Interpreter::run_from): the monitor,
  // trapped by a privileged instruction just before them, emulates up to here in that trap.
  uint32_t run_from = 0;
};

// An instruction a monitor emulating a run of privileged instructions passes through without a
// trap of its own: a no-op (nop, ssnop, ehb: sll $0, $0, n) or a CP0 move done on the special
// page (those compiled code does in line).
inline bool run_transparent(const Decoded& d) { return (d.op == Op::SLL && d.rd == 0) || plain_cp0_move(d); }

class TrapHandler {
 public:
  virtual ~TrapHandler() = default;

  // A privileged instruction the guest kernel executed, with its effect.
  virtual void privileged(Vcpu& v, const PrivilegedOp& op) = 0;
  // CP0 moves compiled code did in line, without privileged(): Cp0::plain_read/plain_write ones
  // and DI/EI, which the monitor lets the guest do on its special page.
  virtual void special_page_moves(uint64_t moves) = 0;
  // The translation of a mapped address for the soft TLB to keep, or the fault to reflect.
  virtual TlbTranslation translate(Vcpu& v, uint32_t vaddr, bool store) = 0;
  // An exception (or interrupt: result.exc == Interrupt) was just vectored into the guest.
  virtual void reflected(Vcpu& v, const StepResult& result) = 0;
  // HYPCALL from the guest kernel: the monitor call (v0 the call, a0.. its arguments). True:
  // the vcpu idles until its next interrupt, as after WAIT.
  virtual bool hypercall(Vcpu& v, const Decoded& d) = 0;
};

}  // namespace disco::mips
