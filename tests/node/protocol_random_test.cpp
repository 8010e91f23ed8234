// The protocol's random tester (in the manner of gem5's Ruby random tester): N nodes' directories
// and caches in one process, joined by a network that delivers in-flight messages in a random
// order chosen from a printed seed. Pcpus issue loads, stores and LL/SC to a few hot lines
// through tiny caches, so races (requests crossing writebacks, concurrent upgrades, forwards
// to lines being evicted) happen all the time. After every step: single writer or multiple
// readers per line, filters within their node's permission. Every access goes through the node's
// real MemoryPort into the node's own view of machine memory (a MachineMemory per node): on one
// host they share the home segments; with nodes spread over "hosts", each keeps its own copy of
// other hosts' lines and the bytes travel in the messages, encoded and decoded by the codec, so
// every load is checked against the last store of the whole machine. At the end: no transaction
// left open and the directory agrees with every cache.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "interconnect/codec.h"
#include "node/cache_controller.h"
#include "node/directory.h"
#include "node/memory_port.h"
#include "node/route.h"
#include "node/splitmix.h"
#include "shm/machine_memory.h"
#include "shm/segment.h"

namespace disco {
namespace {


enum class Op { Load, Store, LoadLinked, StoreConditional };

struct PendingAccess {
  Op op;
  LineAddr line;
  MachineAddr addr;
  uint64_t value;  // what a store writes
  uint64_t begun = 0;  // the step the access began: a load may return any value the word held since
};

struct PcpuSim {
  std::optional<PendingAccess> pending;  // an access waiting to be (re)tried or granted
  bool waiting_grant = false;
  // LL state
  std::optional<MachineAddr> link_addr;
  uint64_t link_line_version = 0;  // stores by other nodes to the line when the LL was done
  uint64_t link_word_version = 0;  // stores by anyone to the word when the LL was done
};

// A node's miss path without blocking: the harness is one thread, so a miss issues its request
// and the access fails for now; the pcpu performs it again once its grant is delivered.
class StepMissPath final : public MissPath {
 public:
  using Issue = std::function<bool(PcpuId, LineAddr, Access)>;  // true: the node cache had it
  explicit StepMissPath(Issue issue) : issue_(std::move(issue)) {}
  bool acquire(PcpuId p, LineAddr line, Access want, MissClass& how, bool& held) override {
    how = MissClass::NodeHit;
    held = false;
    return issue_(p, line, want);
  }
  void release(PcpuId, LineAddr) override {}
  bool ping(PcpuId, NodeId, uint64_t&) override { return false; }

 private:
  Issue issue_;
};

class Harness {
 public:
  Harness(uint32_t nodes, uint32_t pcpus, uint32_t hosts, uint32_t hot_lines, uint64_t seed)
      : pcpus_(pcpus), rng_{seed}, run_id_(make_run_id()) {
    g_.nodes = nodes;
    g_.mem_per_node = kPageBytes * 2;
    g_.line_bytes = 64;
    cache_.size_bytes = uint64_t{g_.line_bytes} * std::max(2u, pcpus) * 2;  // 2 sets
    cache_.ways = std::max(2u, pcpus);
    cache_.filter_entries = 4;
    std::vector<std::string> host_names;
    for (NodeId n = 0; n < nodes; ++n) host_names.push_back(fmt::format("host{}", uint64_t{n} * hosts / nodes));
    hosts_ = HostMap(host_names);
    limits_ = {nodes, pcpus, g_.total_lines(), g_.lines_per_node(), g_.mem_per_node / kPageBytes,
               hosts_.one_host() ? 0 : g_.line_bytes};
    for (NodeId n = 0; n < nodes; ++n) {
      memories_.push_back(std::make_unique<MachineMemory>(g_, run_id_));
      memories_[n]->create(n);
    }
    for (NodeId n = 0; n < nodes; ++n) memories_[n]->open_all(hosts_, n);
    for (uint32_t i = 0; i < hot_lines; ++i) {
      // Spread over homes, and several lines of a home share a cache set: evictions galore.
      const uint64_t per_node = g_.lines_per_node();
      lines_.push_back((i % nodes) * per_node + (i / nodes) * 2);
    }
    for (NodeId n = 0; n < nodes; ++n) {
      stats_.push_back(std::make_unique<NodeStats>());
      line_data_.push_back(std::make_unique<LineData>(n, g_, hosts_, memories_[n]->base()));
      dirs_.push_back(std::make_unique<Directory>(n, g_, *line_data_[n], *stats_[n]));
      caches_.push_back(std::make_unique<CacheController>(n, g_, cache_, pcpus, *line_data_[n], *stats_[n]));
      sims_.emplace_back(pcpus);
      miss_paths_.push_back(std::make_unique<StepMissPath>(
          [this, n](PcpuId p, LineAddr line, Access want) { return issue(n, p, line, want); }));
      pcpu_stats_.push_back(std::make_unique<PcpuStats[]>(pcpus));
      ports_.emplace_back();
      for (PcpuId p = 0; p < pcpus; ++p)
        ports_[n].push_back(std::make_unique<MemoryPort>(p, caches_[n]->filter(p), memories_[n]->base(), g_,
                                                         TimingConfig{}, pcpu_stats_[n][p], *miss_paths_[n]));
    }
    line_stores_.assign(g_.total_lines(), std::vector<uint64_t>(nodes, 0));
  }
  ~Harness() {
    ports_.clear();
    caches_.clear();
    dirs_.clear();
    memories_.clear();
    remove_run_segments(run_id_, g_.nodes);
  }

  void run(uint64_t ops) {
    uint64_t started = 0;
    uint64_t idle_rounds = 0;  // rounds with nothing in flight: a protocol deadlock if endless
    while (started < ops || !net_.empty() || busy_pcpus()) {
      idle_rounds = net_.empty() && started >= ops ? idle_rounds + 1 : 0;
      ASSERT_LT(idle_rounds, 100000u) << "accesses wait with no message in flight: deadlock";
      const bool can_start = started < ops;
      ++steps_;
      if (!net_.empty() && (!can_start || rng_.below(3) != 0)) {
        deliver(rng_.below(net_.size()));
      } else {
        const NodeId n = static_cast<NodeId>(rng_.below(g_.nodes));
        const PcpuId p = static_cast<PcpuId>(rng_.below(pcpus_));
        PcpuSim& s = sims_[n][p];
        if (s.waiting_grant) continue;
        if (!s.pending) {
          if (!can_start) continue;
          s.pending = random_access(n, p);
          s.pending->begun = steps_;
          ++started;
        }
        try_access(n, p);
      }
      check_single_writer();
      if (::testing::Test::HasFatalFailure()) return;
    }
    check_quiescent();
  }

  uint64_t performed() const { return performed_; }
  uint64_t lines_carried() const { return lines_carried_; }
  const NodeStats& stats(NodeId n) const { return *stats_[n]; }

 private:
  bool busy_pcpus() const {
    for (const auto& node : sims_)
      for (const PcpuSim& s : node)
        if (s.pending) return true;
    return false;
  }

  PendingAccess random_access(NodeId n, PcpuId p) {
    PcpuSim& s = sims_[n][p];
    const uint64_t r = rng_.below(10);
    if (s.link_addr && r < 4) {
      const MachineAddr a = *s.link_addr;
      return {Op::StoreConditional, a / g_.line_bytes, a, ++next_value_};
    }
    const LineAddr line = lines_[rng_.below(lines_.size())];
    const MachineAddr a = line * g_.line_bytes + rng_.below(g_.line_bytes / 8) * 8;
    if (r < 5) return {Op::Load, line, a, 0};
    if (r < 8) return {Op::Store, line, a, ++next_value_};
    return {Op::LoadLinked, line, a, 0};
  }

  static Access need(Op op) { return op == Op::Load || op == Op::LoadLinked ? Access::Read : Access::Write; }

  void try_access(NodeId n, PcpuId p) { perform(n, p, false); }

  // StepMissPath's miss: begin it in the node's cache, and send the request if one is needed.
  bool issue(NodeId n, PcpuId p, LineAddr line, Access want) {
    Sends out;
    const CacheController::Begin b = caches_[n]->begin_miss(p, line, want, out);
    if (b == CacheController::Begin::Issued) sims_[n][p].waiting_grant = true;
    post(out);
    return b == CacheController::Begin::Hit;  // Retry: try again on a later step
  }

  // The access itself, through the node's MemoryPort: performed when the pcpu holds permission
  // (always, right after its grant), then checked against the caches and against the last value
  // the whole machine stored.
  void perform(NodeId n, PcpuId p, bool granted) {
    PcpuSim& s = sims_[n][p];
    const PendingAccess a = *s.pending;
    MemoryPort& port = *ports_[n][p];
    uint64_t value = 0;
    bool stored = false;
    bool done = false;
    switch (a.op) {
      case Op::Load: done = port.load(a.addr, value); break;
      case Op::LoadLinked: done = port.load_linked(a.addr, value); break;
      case Op::Store: done = port.store(a.addr, a.value); break;
      case Op::StoreConditional: done = port.store_conditional(a.addr, a.value, stored); break;
    }
    if (!done) {
      ASSERT_FALSE(granted) << where(n, p, a) << " failed right after its grant";
      return;  // a miss in flight, or another's: performed later
    }
    const LineState st = caches_[n]->state_of(a.line);
    switch (a.op) {
      case Op::Load:
      case Op::LoadLinked:
        ASSERT_NE(st, LineState::I) << where(n, p, a) << " loaded without permission";
        ASSERT_TRUE(held_since(a.addr, value, a.begun))
            << where(n, p, a) << " loaded " << value << ", overwritten before the load began; the last store was "
            << oracle(a.addr);
        if (a.op == Op::LoadLinked) {
          s.link_addr = a.addr;
          s.link_line_version = stores_by_others(n, a.line);
          s.link_word_version = word_stores_[a.addr];
        }
        break;
      case Op::Store:
        ASSERT_EQ(st, LineState::M) << where(n, p, a) << " stored without write permission";
        record_store(n, a.addr, a.value);
        break;
      case Op::StoreConditional:
        s.link_addr.reset();
        if (!stored) break;
        ASSERT_EQ(st, LineState::M) << where(n, p, a) << " SC without write permission";
        ASSERT_EQ(stores_by_others(n, a.line), s.link_line_version)
            << where(n, p, a) << " SC succeeded although another node wrote the line since the LL";
        ASSERT_EQ(word_stores_[a.addr], s.link_word_version)
            << where(n, p, a) << " SC succeeded although the word was written since the LL";
        record_store(n, a.addr, a.value);
        break;
    }
    ++performed_;
    s.pending.reset();
  }

  // Linearizability of one word: a load returns a value the word held at some moment of the
  // access (one host: always the last; between hosts, a shared grant that crossed the
  // invalidation of a write the home ordered after it gives the value it carried, once).
  bool held_since(MachineAddr a, uint64_t v, uint64_t begun) const {
    auto it = history_.find(a);
    if (it == history_.end()) return v == 0;
    const auto& h = it->second;  // (step stored, value), oldest first; 0 before the first
    for (size_t i = h.size(); i-- > 0;) {
      if (h[i].second == v) return true;
      if (h[i].first < begun) return false;  // this one was already there when the load began
    }
    return v == 0;
  }

  void record_store(NodeId n, MachineAddr a, uint64_t v) {
    oracle_[a] = v;
    history_[a].emplace_back(steps_, v);
    ++word_stores_[a];
    ++line_stores_[a / g_.line_bytes][n];
  }
  uint64_t oracle(MachineAddr a) const {
    auto it = oracle_.find(a);
    return it == oracle_.end() ? 0 : it->second;
  }
  uint64_t stores_by_others(NodeId n, LineAddr line) const {
    uint64_t sum = 0;
    for (NodeId o = 0; o < g_.nodes; ++o)
      if (o != n) sum += line_stores_[line][o];
    return sum;
  }

  std::string where(NodeId n, PcpuId p, const PendingAccess& a) const {
    return fmt::format("node {} pcpu {} line {:#x} (seed-determined step {})", n, p, a.line, steps_);
  }

  // Every message is encoded when sent, as a node's deliver() does: a line's bytes are read from
  // the sender's memory then, and the receiver decodes them from the frame.
  void post(Sends& out) {
    for (Envelope& e : out) {
      InFlight f{e.dst, e.port, {}};
      encode(e.msg, f.bytes);
      net_.push_back(std::move(f));
    }
    out.clear();
  }

  void deliver(size_t i) {
    const InFlight f = std::move(net_[i]);
    net_[i] = std::move(net_.back());
    net_.pop_back();
    const std::optional<Message> m = decode(f.bytes, f.port, limits_, drops_);
    ASSERT_TRUE(m) << "a protocol message did not decode: " << drops_.total() << " drops";
    if (!m->data.empty()) ++lines_carried_;
    Sends out;
    const NodeId n = f.dst;
    if (route_incoming(*m, n, *dirs_[n], *caches_[n], out) == Routed::ForPcpu) {
      const PcpuId p = static_cast<PcpuId>(f.port - kFirstPcpuPort);
      const CacheController::Reply r = caches_[n]->on_reply(p, *m, out);
      ASSERT_EQ(r, CacheController::Reply::Granted) << "reply " << name(m->kind) << " to node " << n
                                                    << " pcpu " << p << " was not for its open miss";
      PcpuSim& s = sims_[n][p];
      const LineAddr line = s.pending->line;
      s.waiting_grant = false;
      perform(n, p, true);
      if (::testing::Test::HasFatalFailure()) return;
      caches_[n]->finish_miss(p, line, out);
    }
    post(out);
  }

  void check_single_writer() {
    for (LineAddr l : lines_) {
      unsigned writers = 0, readers = 0;
      for (NodeId n = 0; n < g_.nodes; ++n) {
        const LineState s = caches_[n]->state_of(l);
        writers += s == LineState::E || s == LineState::M;
        readers += s == LineState::S;
      }
      ASSERT_TRUE(writers == 0 || (writers == 1 && readers == 0))
          << "line " << l << ": " << writers << " writers and " << readers << " readers at step " << steps_;
    }
  }

  void check_quiescent() {
    for (NodeId n = 0; n < g_.nodes; ++n) ASSERT_TRUE(caches_[n]->idle()) << "node " << n << " has a miss open";
    for (LineAddr l : lines_) {
      const Directory::View v = dirs_[g_.home_of_line(l)]->view(l);
      uint64_t holders = 0;  // a full map's view (64 nodes at most)
      bool exclusive_holder = false;
      for (NodeId n = 0; n < g_.nodes; ++n) {
        const LineState s = caches_[n]->state_of(l);
        if (s != LineState::I && n < 64) holders |= uint64_t{1} << n;
        exclusive_holder |= s == LineState::E || s == LineState::M;
      }
      ASSERT_NE(v.state, DirState::BusyInv) << "line " << l;
      ASSERT_NE(v.state, DirState::BusyFwd) << "line " << l;
      ASSERT_EQ(v.state == DirState::Exclusive, exclusive_holder) << "line " << l;
      if (v.nodes_per_bit == 1) {  // a full map is exact
        ASSERT_EQ(v.sharers, holders) << "line " << l << " directory " << name(v.state);
        continue;
      }
      // A coarse vector may list more than hold the line, never fewer; an owner is exact.
      for (NodeId n = 0; n < g_.nodes; ++n) {
        if (caches_[n]->state_of(l) == LineState::I) continue;
        ASSERT_TRUE(v.sharers >> (n / v.nodes_per_bit) & 1) << "line " << l << ": node " << n << " holds it unlisted";
        if (v.state == DirState::Exclusive) {
          ASSERT_EQ(v.owner, n) << "line " << l;
        }
      }
    }
  }

  struct InFlight {
    NodeId dst;
    PortIndex port;
    std::vector<uint8_t> bytes;
  };

  MachineGeometry g_;
  CacheConfig cache_;
  const uint32_t pcpus_;
  SplitMix64 rng_;
  const std::string run_id_;
  HostMap hosts_;
  WireLimits limits_;
  DropCounters drops_;
  std::vector<LineAddr> lines_;
  std::vector<std::unique_ptr<MachineMemory>> memories_;  // each node's view of machine memory
  std::vector<std::unique_ptr<NodeStats>> stats_;
  std::vector<std::unique_ptr<LineData>> line_data_;
  std::vector<std::unique_ptr<Directory>> dirs_;
  std::vector<std::unique_ptr<CacheController>> caches_;
  std::vector<std::unique_ptr<StepMissPath>> miss_paths_;
  std::vector<std::unique_ptr<PcpuStats[]>> pcpu_stats_;
  std::vector<std::vector<std::unique_ptr<MemoryPort>>> ports_;
  std::vector<std::vector<PcpuSim>> sims_;
  std::vector<InFlight> net_;
  std::unordered_map<MachineAddr, uint64_t> oracle_;
  std::unordered_map<MachineAddr, std::vector<std::pair<uint64_t, uint64_t>>> history_;
  std::unordered_map<MachineAddr, uint64_t> word_stores_;  // stores to each word, by anyone
  std::vector<std::vector<uint64_t>> line_stores_;          // stores to each line, by node
  uint64_t next_value_ = 0;
  uint64_t performed_ = 0;
  uint64_t lines_carried_ = 0;
  uint64_t steps_ = 0;
};

struct Case {
  uint32_t nodes, pcpus, lines;
  uint64_t ops;
  uint32_t hosts = 1;  // nodes spread over this many "hosts": their lines' bytes travel in messages
};

class ProtocolRandom : public ::testing::TestWithParam<Case> {};

// A fresh seed every run, so that every run explores new orders; printed, and DISCO_SEED=<seed>
// replays a run exactly.
uint64_t run_seed() {
  static const uint64_t seed = []() -> uint64_t {
    if (const char* given = std::getenv("DISCO_SEED")) return std::strtoull(given, nullptr, 0);
    return (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
  }();
  return seed;
}

TEST_P(ProtocolRandom, SingleWriterAndLastValueUnderReordering) {
  const Case c = GetParam();
  std::cerr << "[protocol_random] seed " << run_seed() << " (DISCO_SEED=" << run_seed() << " replays it)\n";
  RecordProperty("seed", std::to_string(run_seed()));
  for (uint64_t round = 0; round < 4; ++round) {
    const uint64_t seed = run_seed() + round * 7919 + c.nodes;
    SCOPED_TRACE(fmt::format("DISCO_SEED={} round {}: seed {} ({} nodes x {} pcpus, {} lines)", run_seed(), round, seed,
                             c.nodes, c.pcpus, c.lines));
    Harness h(c.nodes, c.pcpus, c.hosts, c.lines, seed);
    h.run(c.ops);
    if (HasFatalFailure()) return;
    EXPECT_GE(h.performed(), c.ops);
    uint64_t stalls = 0, stale = 0, deferred = 0, errors = 0;
    for (NodeId n = 0; n < c.nodes; ++n) {
      stalls += h.stats(n).stalls.get();
      stale += h.stats(n).stale_evictions.get();
      deferred += h.stats(n).deferred_forwards.get();
      errors += h.stats(n).protocol_errors.get();
    }
    EXPECT_EQ(errors, 0u);
    // One host moves permission only; between hosts the bytes travel.
    if (c.hosts == 1) EXPECT_EQ(h.lines_carried(), 0u);
    else EXPECT_GT(h.lines_carried(), 0u);
    // The races this tester exists for did happen.
    EXPECT_GT(stalls, 0u);
    if (c.nodes > 2) {
      EXPECT_GT(deferred, 0u);
      EXPECT_GT(stale, 0u);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Machines, ProtocolRandom,
                         ::testing::Values(Case{2, 1, 4, 150000}, Case{2, 2, 6, 150000}, Case{3, 1, 6, 150000},
                                           Case{4, 2, 8, 150000}, Case{5, 1, 10, 100000},
                                           Case{8, 1, 12, 100000}, Case{8, 3, 16, 100000},
                                           // The last full map; past 64 nodes the vector is coarse:
                                           // 127 nodes make groups of 2 and a last group of 1.
                                           Case{64, 1, 32, 8000}, Case{127, 1, 32, 10000},
                                           Case{128, 2, 48, 10000},
                                           // The cluster data path: two hosts of one and of two
                                           // nodes, three hosts of unequal shares, a host per node.
                                           Case{2, 1, 4, 150000, 2}, Case{4, 2, 8, 150000, 2},
                                           Case{7, 2, 12, 100000, 3}, Case{5, 1, 10, 100000, 5}),
                         [](const auto& info) {
                           return fmt::format("n{}p{}{}", info.param.nodes, info.param.pcpus,
                                              info.param.hosts == 1 ? "" : fmt::format("h{}", info.param.hosts));
                         });

}  // namespace
}  // namespace disco
