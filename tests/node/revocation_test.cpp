// A revocation interleaved with hits in flight, on real threads: a pcpu stores a rising sequence
// through its port's hit path (no lock, no fence) while the node's cache serves a forward for
// the line at a random moment. Once the forward is served the line is the requester's: no store
// of this pcpu may land after it (the revoking side waits out an access that began before the
// tags were cleared), and every store after it fails here, where the miss path refuses.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "node/cache_controller.h"
#include "node/memory_port.h"

namespace disco {
namespace {

class RefusingMissPath final : public MissPath {
 public:
  bool acquire(PcpuId, LineAddr, Access, MissClass&, bool&) override { return false; }
  void release(PcpuId, LineAddr) override {}
  bool ping(PcpuId, NodeId, uint64_t&) override { return false; }
};

TEST(Revocation, NoStoreLandsAfterTheForwardThatTookTheLine) {
  const MachineGeometry g{.nodes = 2, .mem_per_node = 1 << 20, .line_bytes = 128};
  const CacheConfig cache{.size_bytes = 64 * 1024, .ways = 4, .filter_entries = 256};
  std::vector<uint64_t> memory(g.total_bytes() / 8, 0);
  uint8_t* base = reinterpret_cast<uint8_t*>(memory.data());
  NodeStats stats;
  const LineData data(0, g, HostMap{}, nullptr);
  CacheController cc(0, g, cache, 1, data, stats);
  RefusingMissPath refuse;
  PcpuStats pcpu_stats;
  MemoryPort port(0, cc.filter(0), base, g, TimingConfig{}, pcpu_stats, refuse);
  const LineAddr line = g.lines_per_node();  // homed on node 1
  const MachineAddr addr = line * g.line_bytes + 8;
  const auto word = [&] { return __atomic_load_n(reinterpret_cast<uint64_t*>(base + addr), __ATOMIC_RELAXED); };
  std::mt19937 rng(12345);
  uint64_t landed_late = 0;
  for (uint32_t round = 0; round < 20000; ++round) {
    Sends out;
    ASSERT_EQ(cc.begin_miss(0, line, Access::Write, out), CacheController::Begin::Issued) << "round " << round;
    const Message grant{.kind = MsgKind::Grant, .src = 1, .line = line, .pcpu = 0, .txn = out.back().msg.txn,
                        .grant = GrantState::Modified};
    ASSERT_EQ(cc.on_reply(0, grant, out), CacheController::Reply::Granted);
    cc.finish_miss(0, line, out);
    std::atomic<uint64_t> last{0};
    std::atomic<bool> going{false};
    std::thread pcpu([&] {
      for (uint64_t v = uint64_t{round} << 32 | 1;; ++v) {
        if (!port.store<uint64_t>(addr, v)) break;
        last.store(v, std::memory_order_relaxed);
        going.store(true, std::memory_order_release);
      }
    });
    while (!going.load(std::memory_order_acquire)) std::this_thread::yield();
    for (uint32_t spin = rng() % 2000; spin > 0; --spin) asm volatile("" ::: "memory");
    // Half the rounds a write takes the line (all permission goes), half a read (write goes).
    const Message fwd{.kind = round % 2 ? MsgKind::FwdGetS : MsgKind::FwdGetX, .src = 1, .line = line, .pcpu = 0,
                      .requester = 1, .txn = 7, .home_txn = round};
    cc.on_forward(fwd, out);
    const uint64_t at_revocation = word();
    pcpu.join();
    landed_late += word() != at_revocation;
    ASSERT_EQ(word(), last.load()) << "round " << round << ": memory differs from the last store the pcpu saw succeed";
    if (round % 2) {  // after a FwdGetS the line stays readable here
      uint64_t v = 0;
      EXPECT_TRUE(port.load(addr, v));
      EXPECT_EQ(v, at_revocation);
      // ... until an invalidation takes the rest, so that the next round misses again.
      cc.on_forward({.kind = MsgKind::Inv, .src = 1, .line = line, .home_txn = round}, out);
    }
  }
  EXPECT_EQ(landed_late, 0u) << "stores landed after the forward that took the line was served";
}

// A line a miss evicts costs a membarrier(2) only when a filter other than the missing pcpu's
// holds it: that pcpu waits for its grant and accesses nothing, the others may be mid-access.
TEST(Revocation, AnEvictionBarriersOnlyForTheFiltersOfOtherPcpus) {
  const MachineGeometry g{.nodes = 2, .mem_per_node = 1 << 20, .line_bytes = 128};
  const CacheConfig cache{.size_bytes = 4 * 128, .ways = 4, .filter_entries = 256};  // one set
  NodeStats stats;
  const LineData data(0, g, HostMap{}, nullptr);
  CacheController cc(0, g, cache, 2, data, stats);
  const LineAddr first = g.lines_per_node();  // homed on node 1
  const auto miss = [&](PcpuId p, LineAddr line) {
    Sends out;
    ASSERT_EQ(cc.begin_miss(p, line, Access::Read, out), CacheController::Begin::Issued);
    const Message grant{.kind = MsgKind::Grant, .src = 1, .line = line, .pcpu = p, .txn = out.back().msg.txn,
                        .grant = GrantState::Exclusive};
    ASSERT_EQ(cc.on_reply(p, grant, out), CacheController::Reply::Granted);
    cc.finish_miss(p, line, out);
  };
  for (LineAddr l = first; l < first + 5; ++l) miss(0, l);  // the fifth evicts the first
  EXPECT_EQ(stats.evictions.get(), 1u);
  EXPECT_EQ(stats.revocation_barriers.get(), 0u) << "only the missing pcpu's filter held the line";
  for (LineAddr l = first + 1; l < first + 5; ++l) {  // pcpu 1's filter takes every line the cache holds
    Sends out;
    ASSERT_EQ(cc.begin_miss(1, l, Access::Read, out), CacheController::Begin::Hit);
  }
  miss(0, first + 5);
  EXPECT_EQ(stats.evictions.get(), 2u);
  EXPECT_EQ(stats.revocation_barriers.get(), 1u) << "pcpu 1's filter held the line";
  miss(1, first + 6);
  EXPECT_EQ(stats.revocation_barriers.get(), 2u) << "pcpu 0's filter held the line";
}

}  // namespace
}  // namespace disco
