// The replicated monitors cooperating by messages (monitor/monitor.h): two nodes in one process
// over an in-process transport, each with its Monitor, exchanging the real encoded messages
// through their engines: pages lent and given back, a VM's exit heard, a TLB shootdown served.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "monitor/monitor.h"
#include "tests/node/inproc_transport.h"

namespace disco {
namespace {

constexpr uint64_t kMemPerNode = 4u << 20;

class TwoMonitors {
 public:
  TwoMonitors() : net_(2, kFirstPcpuPort + 1) {
    config_.shape.geometry = {.nodes = 2, .mem_per_node = kMemPerNode, .line_bytes = 128};
    config_.shape.cache = {.size_bytes = 64 * 1024, .ways = 4, .filter_entries = 256};
    mem_.assign(config_.shape.geometry.total_bytes(), 0);
    for (NodeId n = 0; n < 2; ++n) {
      transports_.push_back(std::make_unique<InprocTransport>(net_, n));
      drops_.push_back(std::make_unique<DropCounters>());
      nodes_.push_back(std::make_unique<Node>(n, config_.shape, mem_.data(), *transports_[n], *drops_[n]));
      monitors_.push_back(std::make_unique<Monitor>(
          MonitorConfig{}, NodeContext{.config = config_, .self = n, .node = *nodes_[n], .machine_base = mem_.data()}));
      nodes_[n]->set_monitor_service(monitors_[n]->monitor_service());
    }
    for (auto& n : nodes_) n->start_engine();
  }
  ~TwoMonitors() {
    for (auto& n : nodes_) n->stop_engine();
  }
  Node& node(NodeId n) { return *nodes_[n]; }
  Monitor& monitor(NodeId n) { return *monitors_[n]; }
  DropCounters& drops(NodeId n) { return *drops_[n]; }

 private:
  MachineConfig config_;
  InprocNetwork net_;
  std::vector<uint8_t> mem_;
  std::vector<std::unique_ptr<InprocTransport>> transports_;
  std::vector<std::unique_ptr<DropCounters>> drops_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::unique_ptr<Monitor>> monitors_;
};

TEST(MonitorMessages, PagesAreLentInOneRangeAndComeBack) {
  TwoMonitors m;
  Message grant;
  ASSERT_TRUE(m.node(0).call(0, 1, {.kind = MsgKind::PageAlloc, .vm = 7, .guest_page = 10, .pages = 100},
                             MsgKind::PageGrant, grant, 5000));
  EXPECT_EQ(grant.src, 1);
  EXPECT_EQ(grant.vm, 7u);
  EXPECT_EQ(grant.guest_page, 10u);
  EXPECT_EQ(grant.pages, 100u);
  EXPECT_EQ(grant.machine, kMemPerNode) << "node 1's first page";
  EXPECT_EQ(m.monitor(1).memmap().pages_of(7), 100u);
  EXPECT_EQ(m.monitor(1).memmap().use(grant.machine + 3 * kPageBytes).guest_page, 13u);

  // More than there is: what there is, and then nothing; more than a node has is not a request.
  Message rest;
  ASSERT_TRUE(m.node(0).call(0, 1, {.kind = MsgKind::PageAlloc, .vm = 8, .pages = kMemPerNode / kPageBytes},
                             MsgKind::PageGrant, rest, 5000));
  EXPECT_EQ(rest.pages, kMemPerNode / kPageBytes - 100);
  EXPECT_FALSE(m.node(0).call(0, 1, {.kind = MsgKind::PageAlloc, .vm = 8, .pages = kMemPerNode / kPageBytes + 1},
                              MsgKind::PageGrant, rest, 200));
  Message none;
  ASSERT_TRUE(m.node(0).call(0, 1, {.kind = MsgKind::PageAlloc, .vm = 9, .pages = 1}, MsgKind::PageGrant, none, 5000));
  EXPECT_EQ(none.pages, 0u);

  // Given back: by the VM that holds them only; what is not its own is a counted drop.
  const uint64_t before = m.drops(1).count(DropReason::BadRange);
  ASSERT_TRUE(m.node(0).post(1, {.kind = MsgKind::PageFree, .vm = 8, .machine = grant.machine, .pages = 100}));
  ASSERT_TRUE(m.node(0).post(1, {.kind = MsgKind::PageFree, .vm = 7, .machine = grant.machine, .pages = 100}));
  for (int i = 0; i < 500 && m.monitor(1).memmap().pages_of(7) != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(m.monitor(1).memmap().pages_of(7), 0u);
  EXPECT_EQ(m.drops(1).count(DropReason::BadRange), before + 1) << "VM 8 tried to free VM 7's pages";
}

TEST(MonitorMessages, AVmsExitFreesWhatItStillHeldElsewhere) {
  TwoMonitors m;
  Message grant;
  ASSERT_TRUE(m.node(0).call(0, 1, {.kind = MsgKind::PageAlloc, .vm = 3, .pages = 64}, MsgKind::PageGrant, grant, 5000));
  ASSERT_EQ(m.monitor(1).memmap().pages_of(3), 64u);
  ASSERT_TRUE(m.node(0).post(1, {.kind = MsgKind::VmExited, .vm = 3, .exit_code = 1}));
  for (int i = 0; i < 500 && m.monitor(1).memmap().pages_of(3) != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(m.monitor(1).memmap().pages_of(3), 0u);
}

TEST(MonitorMessages, AShootdownIsAnsweredOnceEveryPcpuHasServedIt) {
  TwoMonitors m;
  // Node 1's pcpu runs no vcpu: its machine TLB holds nothing, so it is done at once.
  EXPECT_TRUE(m.monitor(0).shoot_down(0, 1, 5, (kMemPerNode >> 12) + 9));
}

TEST(ShootdownMailbox, APcpuDropsThePageBetweenSlicesAndThenSaysSo) {
  ShootdownMailbox box;
  mips::MachineTlb tlb;
  tlb.insert({.owner = 0, .machine_asid = 1, .vpn = 0x400, .guest_frame = 5, .machine_page = 77, .writable = true});
  tlb.insert({.owner = 0, .machine_asid = 1, .vpn = 0x401, .guest_frame = 6, .machine_page = 78, .writable = true});
  int done = 0;
  box.post(77, [&] { ++done; });
  EXPECT_EQ(done, 1) << "closed: nothing to drop";
  box.open();
  box.post(77, [&] { ++done; });
  EXPECT_TRUE(box.pending());
  EXPECT_EQ(done, 1) << "open: the pcpu serves it";
  box.drain(tlb);
  EXPECT_EQ(done, 2);
  EXPECT_EQ(tlb.lookup(0x400, 1), nullptr);
  EXPECT_NE(tlb.lookup(0x401, 1), nullptr);
  box.post(78, [&] { ++done; });
  box.close(tlb);
  EXPECT_EQ(done, 3) << "closing serves what was posted";
  EXPECT_EQ(tlb.lookup(0x401, 1), nullptr);
}

}  // namespace
}  // namespace disco
