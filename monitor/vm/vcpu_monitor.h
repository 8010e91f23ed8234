// The monitor's half of a vcpu under Disco (the paper's sections 4.2.1-4.2.2): what happens when
// the de-privileged guest kernel does something the hardware traps on (trap_handler.h).
//
//   privileged instruction  already emulated by the interpreter against the virtual CP0/TLB; here
//                           it is classified (a special-page access or a trap, monitor_entry.h),
//                           counted, timed and charged, and a TLB write keeps the machine TLB
//                           right (the interpreter keeps the vcpu's L2TLB: l2tlb.h's rules)
//   mapped access           the pcpu's machine TLB answers; on its miss the monitor looks in the
//                           guest's own TLB, then the L2TLB, and refills the machine TLB with the
//                           machine page from the pmap, or reflects the TLB exception into the guest
//   exception, interrupt    counted and charged as the trap that reflects it
//   HYPCALL                 the monitor calls (hypercalls.h)
//
// Call sequence: construct with the pcpu's machine TLB and the vcpu's interpreter, pmap and VM
// services; Interpreter::set_trap_handler(this); the scheduler calls switched_in() when the
// pcpu starts running this vcpu.
#pragma once

#include <cstdint>

#include "monitor/cpu/interpreter.h"
#include "monitor/cpu/machine_tlb.h"
#include "monitor/vm/monitor_entry.h"
#include "monitor/vm/pmap.h"

namespace disco {

// What the monitor calls of a VM need from it (Vm implements it).
class VmServices {
 public:
  virtual ~VmServices() = default;
  virtual uint32_t vm_id() const = 0;
  // Zeroes the guest page at `gpa` through the machine's memory; false if it is not RAM.
  virtual bool zero_page(uint32_t gpa) = 0;
  // Gives the machine page behind guest page `gpa` back to the host (it reads zero afterwards).
  virtual bool release_page(uint32_t gpa) = 0;
};

// Per vcpu, everything the monitor counted.
struct VcpuMonitorStats {
  MonitorEntryTable entries{};
  uint64_t special_page = 0;        // privileged register accesses done as special-page accesses
  uint64_t machine_tlb_misses = 0;  // the machine TLB missed on a mapped access
  uint64_t virtual_tlb_refills = 0; // ... and the guest's own TLB had the entry (after a switch)
  uint64_t l2tlb_hits = 0;          // ... and the L2TLB had it: the guest never knew
  uint64_t guest_tlb_faults = 0;    // ... and the fault went to the guest (refill, invalid, modified)
  uint64_t monitor_cycles = 0;      // guest cycles charged for entries
  uint64_t monitor_cycles_in_user = 0;  // the part charged while the guest was in user mode
  uint64_t pages_zeroed = 0, pages_released = 0;
};

class VcpuMonitor final : public mips::TrapHandler {
 public:
  VcpuMonitor(mips::Interpreter& interpreter, mips::MachineTlb& machine_tlb, uint16_t owner, Pmap& pmap, NodeId node, VmServices& vm);

  void privileged(mips::Vcpu& v, const mips::PrivilegedOp& op) override;
  void special_page_moves(uint64_t moves) override { stats_.special_page += moves; }
  mips::TlbTranslation translate(mips::Vcpu& v, uint32_t vaddr, bool store) override;
  void reflected(mips::Vcpu& v, const mips::StepResult& result) override;
  bool hypercall(mips::Vcpu& v, const mips::Decoded& d) override;

  // The pcpu starts running this vcpu: in Flush mode its machine TLB was just flushed.
  void switched_in() {}
  const VcpuMonitorStats& stats() const { return stats_; }
  uint16_t owner() const { return owner_; }

 private:
  // One trap: counted under `kind`, its host time since `started`, its guest time charged; or,
  // `in_run`, an instruction emulated in an earlier one's trap: counted so, its host time only.
  void entered(mips::Vcpu& v, MonitorEntry kind, uint64_t started, bool in_run = false);
  // Privileged register accesses whose only effect is the register: done on the special page.
  static bool special_page(const mips::PrivilegedOp& op, uint32_t after);
  void tlb_written(mips::Vcpu& v, const mips::PrivilegedOp& op);
  void drop_machine(const mips::TlbEntry& e);
  void install(mips::Vcpu& v, uint32_t vaddr, uint8_t asid, const mips::TlbEntry& e);

  mips::Interpreter& interpreter_;
  mips::MachineTlb& machine_tlb_;
  const uint16_t owner_;
  Pmap& pmap_;
  const NodeId node_;
  VmServices& vm_;
  VcpuMonitorStats stats_;
  bool fault_pending_ = false;     // translate() returned a fault: its reflection is the same trap
  uint32_t fault_vaddr_ = 0;       // ... for this access
  bool fault_store_ = false;
  mips::TlbTranslation fault_;
  // The last trap was a privileged instruction at run_last_ that control leaves straight on
  // (not ERET, WAIT or a delay slot), and nothing has trapped since: a privileged instruction
  // just after it, past only run_transparent() words, is emulated in that same trap.
  bool run_open_ = false;
  uint32_t run_last_ = 0;
};

}  // namespace disco
