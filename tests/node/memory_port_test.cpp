// The real Node, threaded: engines, pcpus blocking on their misses, filters revoked under
// running pcpus. Nodes share one in-process transport and one memory array.
#include <gtest/gtest.h>

#include <thread>

#include "inproc_transport.h"
#include "node/node.h"
#include "node/workloads.h"

namespace disco {
namespace {

class ThreadedMachine {
 public:
  ThreadedMachine(uint32_t nodes, uint32_t pcpus, uint64_t cache_bytes = 64 * 1024)
      : net_(nodes, kFirstPcpuPort + pcpus) {
    shape_.geometry = {.nodes = nodes, .mem_per_node = 1 << 20, .line_bytes = 128};
    shape_.cache = {.size_bytes = cache_bytes, .ways = std::max(4u, pcpus), .filter_entries = 256};
    shape_.pcpus = pcpus;
    mem_.assign(shape_.geometry.total_bytes(), 0);
    for (NodeId n = 0; n < nodes; ++n) {
      transports_.push_back(std::make_unique<InprocTransport>(net_, n));
      drops_.push_back(std::make_unique<DropCounters>());
      nodes_.push_back(std::make_unique<Node>(n, shape_, mem_.data(), *transports_[n], *drops_[n]));
    }
    for (auto& n : nodes_) n->start_engine();
  }
  ~ThreadedMachine() {
    for (auto& n : nodes_) n->stop_engine();
  }

  // Runs the workload on every pcpu of every node, each on its own thread.
  std::vector<WorkloadResult> run(const WorkloadSpec& spec) {
    std::vector<WorkloadResult> results(nodes_.size() * shape_.pcpus);
    std::vector<std::thread> threads;
    for (NodeId n = 0; n < nodes_.size(); ++n)
      for (PcpuId p = 0; p < shape_.pcpus; ++p)
        threads.emplace_back([&, n, p] {
          const PcpuPlace where{n, p, shape_.pcpus};
          results[where.global()] = run_workload(spec, shape_.geometry, where, nodes_[n]->port(p), stop_);
        });
    for (auto& t : threads) t.join();
    return results;
  }

  uint64_t word(MachineAddr a) const { return *reinterpret_cast<const uint64_t*>(&mem_[a]); }
  Node& node(NodeId n) { return *nodes_[n]; }
  const NodeShape& shape() const { return shape_; }
  uint64_t drops() const {
    uint64_t d = 0;
    for (auto& x : drops_) d += x->total();
    return d;
  }

 private:
  NodeShape shape_;
  InprocNetwork net_;
  std::vector<uint8_t> mem_;
  std::vector<std::unique_ptr<InprocTransport>> transports_;
  std::vector<std::unique_ptr<DropCounters>> drops_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::atomic<bool> stop_{false};
};

TEST(MemoryPort, LoadsAndStoresEverySize) {
  ThreadedMachine m(2, 1);
  MemoryPort& p = m.node(0).port(0);
  const MachineAddr remote = m.shape().geometry.mem_per_node + 4096;
  ASSERT_TRUE(p.store<uint64_t>(remote, 0x1122334455667788ull));
  ASSERT_TRUE(p.store<uint8_t>(remote + 1, 0xaa));
  ASSERT_TRUE(p.store<uint16_t>(remote + 2, 0xbbcc));
  uint64_t v8;
  uint32_t v4;
  uint16_t v2;
  uint8_t v1;
  ASSERT_TRUE(m.node(1).port(0).load(remote, v8));  // the home reads it back: a 3-hop to node 0's M copy
  EXPECT_EQ(v8, 0x11223344bbccaa88ull);
  ASSERT_TRUE(p.load(remote + 4, v4));
  EXPECT_EQ(v4, 0x11223344u);
  ASSERT_TRUE(p.load(remote + 2, v2));
  EXPECT_EQ(v2, 0xbbccu);
  ASSERT_TRUE(p.load(remote + 1, v1));
  EXPECT_EQ(v1, 0xaau);
  EXPECT_EQ(m.node(0).pcpu_stats(0).remote_2hop.get(), 1u);
  EXPECT_GE(m.node(0).pcpu_stats(0).hits.get(), 2u);
}

TEST(MemoryPort, OutsideTheMachineFails) {
  ThreadedMachine m(1, 1);
  uint64_t v;
  EXPECT_FALSE(m.node(0).port(0).load(m.shape().geometry.total_bytes(), v));
  EXPECT_EQ(m.node(0).pcpu_stats(0).failed_accesses.get(), 1u);
}

TEST(MemoryPort, StoreConditionalFailsAfterTheLineWasLost) {
  ThreadedMachine m(2, 1);
  const MachineAddr a = 128;  // homed on node 0
  MemoryPort& p0 = m.node(0).port(0);
  uint64_t v;
  bool stored;
  ASSERT_TRUE(p0.load_linked(a, v));
  ASSERT_TRUE(m.node(1).port(0).store<uint64_t>(a, 5));  // node 1 takes the line away
  ASSERT_TRUE(p0.store_conditional<uint64_t>(a, v + 1, stored));
  EXPECT_FALSE(stored);
  ASSERT_TRUE(p0.load_linked(a, v));
  EXPECT_EQ(v, 5u);
  ASSERT_TRUE(p0.store_conditional<uint64_t>(a, v + 1, stored));
  EXPECT_TRUE(stored);
  EXPECT_EQ(m.word(a), 6u);
}

TEST(ThreadedNodes, CounterIsExact) {
  ThreadedMachine m(4, 2);
  const WorkloadSpec spec{.kind = WorkloadKind::Counter, .ops = 3000, .seed = 3};
  auto results = m.run(spec);
  std::vector<uint64_t> ops;
  for (auto& r : results) {
    EXPECT_EQ(r.failed_accesses, 0u);
    ops.push_back(r.ops);
  }
  const auto expected = expected_counters(m.shape().geometry, 2, ops);
  for (uint64_t c = 0; c < expected.size(); ++c)
    EXPECT_EQ(m.word(counter_addr(m.shape().geometry, static_cast<NodeId>(c / kCountersPerNode),
                                  c % kCountersPerNode)),
              expected[c])
        << "counter " << c;
  EXPECT_EQ(m.drops(), 0u);
}

TEST(ThreadedNodes, RandomCheckerIsClean) {
  ThreadedMachine m(4, 2, 16 * 1024);  // a small cache: capacity misses and evictions too
  const WorkloadSpec spec{.kind = WorkloadKind::Random, .ops = 20000, .lines = 512, .seed = 5};
  for (auto& r : m.run(spec)) {
    EXPECT_EQ(r.ops, spec.ops);
    EXPECT_EQ(r.checker_errors, 0u) << (r.first_errors.empty() ? "" : r.first_errors[0]);
  }
  uint64_t evictions = 0, remote = 0;
  for (NodeId n = 0; n < 4; ++n) {
    evictions += m.node(n).stats().evictions.get();
    for (PcpuId p = 0; p < 2; ++p)
      remote += m.node(n).pcpu_stats(p).remote_2hop.get() + m.node(n).pcpu_stats(p).remote_3hop.get();
  }
  EXPECT_GT(evictions, 0u);
  EXPECT_GT(remote, 0u);
  EXPECT_EQ(m.drops(), 0u);
}

TEST(ThreadedNodes, EveryWorkloadRuns) {
  for (WorkloadKind k : {WorkloadKind::Private, WorkloadKind::SharedRead, WorkloadKind::Migratory,
                         WorkloadKind::FalseSharing}) {
    ThreadedMachine m(3, 2);
    const WorkloadSpec spec{.kind = k, .ops = 3000, .lines = 256, .seed = 9};
    for (auto& r : m.run(spec)) {
      EXPECT_EQ(r.ops, spec.ops) << name(k);
      EXPECT_EQ(r.checker_errors, 0u) << name(k);
    }
  }
}

TEST(ThreadedNodes, DeadHomeFailsFast) {
  ThreadedMachine m(2, 1);
  m.node(0).peer_down(1);
  uint64_t v;
  EXPECT_FALSE(m.node(0).port(0).load(m.shape().geometry.mem_per_node, v));
}

}  // namespace
}  // namespace disco
