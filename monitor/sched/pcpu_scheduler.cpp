#include "monitor/sched/pcpu_scheduler.h"

namespace disco {

PcpuScheduler::PcpuScheduler(const SchedConfig& config, const PcpuStats& stats, ShootdownMailbox& mailbox)
    : config_(config), stats_(stats), mailbox_(mailbox), machine_tlb_(config.tlb_switch, config.machine_tlb_entries) {
  // What leaves the machine TLB leaves its owner's soft TLB too (the soft TLB caches it).
  machine_tlb_.set_drop_callback([this](const mips::MachineTlbEntry& e) {
    if (e.owner < vms_.size()) vms_[e.owner]->interpreter().forget_translation(e.vpn << 12, e.guest_asid);
  });
}

void PcpuScheduler::add(Vm& vm) { vms_.push_back(&vm); }

Vm* PcpuScheduler::next() {
  Vm* best = nullptr;
  for (Vm* vm : vms_)
    if (vm->exit() == VmExit::Running && (best == nullptr || vm->guest_ns() < best->guest_ns())) best = vm;
  return best;
}

void PcpuScheduler::run(const std::atomic<bool>& stop) {
  mailbox_.open();
  while (Vm* vm = next()) {
    if (mailbox_.pending()) mailbox_.drain(machine_tlb_);
    if (vm != current_) {
      if (current_ != nullptr) ++switches_;
      if (machine_tlb_.mode() == mips::TlbSwitch::Flush) machine_tlb_.flush();
      current_ = vm;
      ++vm->counters().switches_in;
    }
    const uint64_t local = stats_.local_misses.get(), remote = stats_.remote_2hop.get() + stats_.remote_3hop.get();
    vm->run(vm->cycles() + uint64_t{config_.quantum_us} * vm->config().cpu_mhz, stop);
    vm->counters().local_misses += stats_.local_misses.get() - local;
    vm->counters().remote_misses += stats_.remote_2hop.get() + stats_.remote_3hop.get() - remote;
  }
  mailbox_.close(machine_tlb_);
}

}  // namespace disco
