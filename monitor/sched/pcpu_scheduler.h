// Which vcpu a pcpu runs (the paper's section 4.2.1: a simple scheduler time-shares the virtual
// processors across the physical ones). Each pcpu of a node has its vcpus (the monitor places
// them) and its machine TLB, which they share.
//
// Policy: the runnable vcpu whose guest clock is earliest runs next, for one quantum of guest
// time (`--quantum-us`). A vcpu in `wait` skips its clock to its next interrupt, which takes no
// host time, and then waits for the others to catch up: so an idle VM is descheduled until its
// next interrupt (the paper's idle mode), all VMs advance together in guest time, and eight
// mostly idle VMs on one pcpu cost little more host time than one. Nothing depends on host time:
// the same VMs run the same slices in the same order every time.
//
// On a switch to another vcpu the machine TLB is flushed (TlbSwitch::Flush), or kept with
// virtualised ASIDs (TlbSwitch::Asid): machine_tlb.h. Misses of the pcpu's memory port during a
// slice are the running VM's (VmCounters).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "monitor/cpu/machine_tlb.h"
#include "monitor/sched/shootdown_mailbox.h"
#include "monitor/vm/vm.h"
#include "monitor/vm/vm_config.h"
#include "node/node_stats.h"

namespace disco {

class PcpuScheduler {
 public:
  // `stats` are the pcpu's memory counters (its port's), read around each slice; `mailbox` its
  // shootdown inbox, served between slices.
  PcpuScheduler(const SchedConfig& config, const PcpuStats& stats, ShootdownMailbox& mailbox);

  mips::MachineTlb& machine_tlb() { return machine_tlb_; }
  // The number the next added vcpu has on this pcpu (its machine TLB entries' owner).
  uint16_t next_owner() const { return static_cast<uint16_t>(vms_.size()); }
  void add(Vm& vm);

  // Runs the vcpus until every one has ended or `stop` is set.
  void run(const std::atomic<bool>& stop);
  uint64_t switches() const { return switches_; }

 private:
  Vm* next();  // the running VM with the earliest guest clock, or nullptr

  SchedConfig config_;
  const PcpuStats& stats_;
  ShootdownMailbox& mailbox_;
  mips::MachineTlb machine_tlb_;
  std::vector<Vm*> vms_;  // by owner
  Vm* current_ = nullptr;
  uint64_t switches_ = 0;
};

}  // namespace disco
