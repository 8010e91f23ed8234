// The Disco monitor of one node (the paper's section 4.2: a replicated monitor, one per node).
// Every node process runs one: it owns the memmap of its node's machine memory, the VMs whose
// vcpus are placed on its node, and a scheduler per pcpu that time-shares those vcpus. Monitors
// cooperate only by messages over the interconnect (interconnect/message.h: PageAlloc ..
// VmExited): no host-shared heap.
//
// Bare mode is the one-VM case: the VM's pmap is the machine itself and its vcpu runs with no
// monitor half; every other node's monitor has no VM and its engine just serves memory.
//
// Call sequence (node_process.h's NodeProgram): constructed in the node process once the node is
// up; run_pcpu() on each pcpu thread (builds, boots and schedules that pcpu's VMs, returns their
// reports); progress() from the node's main thread at any time.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "monitor/numa/memmap.h"
#include "monitor/sched/pcpu_scheduler.h"
#include "monitor/sched/shootdown_mailbox.h"
#include "monitor/vm/vm.h"
#include "monitor/vm/vm_config.h"
#include "node/monitor_service.h"
#include "node/node_process.h"

namespace disco {

// The guest section of a run's configuration: the VMs, and how pcpus share them.
struct MonitorConfig {
  std::vector<VmConfig> vms;
  SchedConfig sched;
};
nlohmann::json to_json(const MonitorConfig& c);
MonitorConfig monitor_config_from_json(const nlohmann::json& j);  // strict: one-line std::runtime_error
// Empty when the machine can run these VMs, else a one-line reason.
std::string check(const MonitorConfig& c, const MachineGeometry& machine);

// Monitor messages (the node's engine delivers them; interconnect/message.h has their fields):
//   PageAlloc     another monitor borrows pages of this node for one of its VMs: PageGrant with
//                 one range of the memmap (fewer pages, or none, when the node has fewer free)
//   PageFree      a VM's borrowed pages come back (counted as a BadRange drop if they are not its)
//   TlbShootdown  every pcpu of this node drops its machine TLB entries for the page, between
//                 two slices, then ShootdownDone goes back
//   VmExited      a VM ended: whatever pages of it this node still holds are freed
class Monitor final : public NodeProgram, public MonitorService {
 public:
  Monitor(const MonitorConfig& config, const NodeContext& node);
  ~Monitor() override;

  WorkloadResult run_pcpu(const PcpuRun& run) override;
  GuestProgress progress() const override;
  MonitorService* monitor_service() override { return this; }
  nlohmann::json report() const override;
  void on_message(const Message& m, Sends& out) override;

  // Asks every pcpu of node `dst` (this one too) to drop machine TLB entries of `machine_page`,
  // and waits until they have; from pcpu `p`. False if the answer did not come.
  bool shoot_down(PcpuId p, NodeId dst, uint32_t vm, uint64_t machine_page);
  const Memmap& memmap() const { return memmap_; }

 private:
  // A VM's memory: where it came from, to give back when the VM ends.
  struct Borrowed {
    NodeId node;
    PageRange range;
  };
  // The pmap of a VM of this node: bare mode's machine, or pages from the memmaps, this node's
  // first and then the nearest nodes' (`borrowed` lists those), asked from pcpu `p`.
  std::optional<Pmap> make_pmap(const VmConfig& vm, PcpuId p, std::vector<Borrowed>& borrowed, std::string& error);
  // Gives back what a VM held: this node's pages, and the borrowed ones to their nodes; tells
  // every other monitor the VM ended.
  void release(const VmConfig& vm, VmExit exit, const std::vector<Borrowed>& borrowed);
  void read_input(const std::string& fifo, Vm& vm, const std::atomic<bool>& stop);

  MonitorConfig config_;
  NodeContext node_;
  Memmap memmap_;
  uint64_t tsc_per_us_;
  std::vector<std::vector<VmConfig>> by_pcpu_;  // this node's VMs, by the pcpu that runs them
  std::unique_ptr<ShootdownMailbox[]> mailboxes_;  // by pcpu
  std::atomic<uint64_t> pages_lent_{0}, shootdowns_served_{0}, vm_exits_heard_{0};
  mutable std::mutex vms_mutex_;
  std::vector<Vm*> vms_;   // the VMs running on this node's pcpus, for progress()
  GuestProgress finished_;  // the VMs whose pcpu has finished
};

}  // namespace disco
