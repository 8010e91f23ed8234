// VMs sharing a pcpu (monitor/sched/pcpu_scheduler.h), in this process: a node of the real
// machine over an in-process transport, our bare-metal guests booted as VMs under the monitor,
// one scheduler. Each VM ends as its guest says, they take turns a quantum of guest time each,
// an idle VM costs no instructions while it waits, and the same VMs run the same way twice.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <vector>

#include "monitor/numa/memmap.h"
#include "monitor/sched/pcpu_scheduler.h"
#include "monitor/vm/vm.h"
#include "node/node.h"
#include "tests/node/inproc_transport.h"

namespace disco {
namespace {

constexpr uint64_t kVmBytes = 16u << 20;

class OneNode {
 public:
  explicit OneNode(uint32_t vms) : net_(1, kFirstPcpuPort + 1) {
    shape_.geometry = {.nodes = 1, .mem_per_node = vms * kVmBytes, .line_bytes = 128};
    shape_.cache = {.size_bytes = 64 * 1024, .ways = 4, .filter_entries = 256};
    mem_.assign(shape_.geometry.total_bytes(), 0);
    transport_ = std::make_unique<InprocTransport>(net_, 0);
    node_ = std::make_unique<Node>(0, shape_, mem_.data(), *transport_, drops_);
    node_->start_engine();
  }
  ~OneNode() { node_->stop_engine(); }

  // A VM booting guest/baremetal/<program> on the scheduler's pcpu.
  std::unique_ptr<Vm> vm(uint32_t id, const std::string& program, PcpuScheduler& scheduler, Memmap& memmap) {
    Pmap pmap(kVmBytes, 1);
    uint64_t mapped = 0;
    for (const PageRange& r : memmap.allocate(id, 0, pmap.pages())) {
      pmap.map_range(mapped, r.pages, r.first, 0);
      mapped += r.pages;
    }
    EXPECT_EQ(mapped, pmap.pages());
    VmConfig c{.id = id, .kernel = std::string(DISCO_BAREMETAL) + "/" + program, .ram_bytes = kVmBytes,
               .rtc_epoch_seconds = 1700000000};
    auto vm = std::make_unique<Vm>(c, std::move(pmap), node_->port(0), mem_.data(), &scheduler.machine_tlb(),
                                   scheduler.next_owner());
    EXPECT_EQ(vm->boot(), "");
    scheduler.add(*vm);
    return vm;
  }
  const PcpuStats& stats() { return node_->pcpu_stats(0); }
  const MachineGeometry& geometry() const { return shape_.geometry; }

 private:
  NodeShape shape_;
  InprocNetwork net_;
  std::vector<uint8_t> mem_;
  DropCounters drops_;
  std::unique_ptr<InprocTransport> transport_;
  std::unique_ptr<Node> node_;
};

struct Outcome {
  std::vector<uint64_t> instructions, switches_in;
  std::vector<VmExit> exits;
};

Outcome run_three(uint32_t quantum_us) {
  OneNode machine(3);
  Memmap memmap(0, machine.geometry());
  ShootdownMailbox mailbox;
  PcpuScheduler scheduler({.tlb_switch = mips::TlbSwitch::Flush, .quantum_us = quantum_us}, machine.stats(), mailbox);
  std::vector<std::unique_ptr<Vm>> vms;
  vms.push_back(machine.vm(0, "pattern", scheduler, memmap));
  vms.push_back(machine.vm(1, "hypercalls", scheduler, memmap));
  vms.push_back(machine.vm(2, "pattern", scheduler, memmap));
  const std::atomic<bool> stop{false};
  scheduler.run(stop);
  Outcome o;
  for (const auto& vm : vms) {
    o.instructions.push_back(vm->counters().instructions);
    o.switches_in.push_back(vm->counters().switches_in);
    o.exits.push_back(vm->exit());
  }
  return o;
}

TEST(PcpuScheduler, VmsTakeTurnsAndEachEndsAsItsGuestSays) {
  const Outcome o = run_three(500);
  for (unsigned i = 0; i < 3; ++i) EXPECT_EQ(o.exits[i], VmExit::PowerOff) << i;
  // The pattern guests run for many quanta of 0.5 ms: they alternate, switched to each time.
  EXPECT_GT(o.switches_in[0], 20u);
  EXPECT_GT(o.switches_in[2], 20u);
  EXPECT_NEAR(static_cast<double>(o.switches_in[0]), static_cast<double>(o.switches_in[2]), 2.0)
      << "the two alike take their turns alike";
  EXPECT_EQ(o.instructions[0], o.instructions[2]) << "the same guest, the same instructions";
}

TEST(PcpuScheduler, TheSameVmsRunTheSameWayTwice) {
  const Outcome a = run_three(300), b = run_three(300);
  EXPECT_EQ(a.instructions, b.instructions);
  EXPECT_EQ(a.switches_in, b.switches_in);
}

}  // namespace
}  // namespace disco
