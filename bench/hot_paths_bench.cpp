// The hot paths of one memory access (DESIGN §4, STYLE habit 7), each against its yardstick,
// with the ratios printed at the end of the same run (these machines are noisy: only ratios
// measured together mean something):
//   MemoryPort hit load/store   vs a plain load/store of the same host memory
//   PcpuFilter begin/end        the hit check alone (what a hit adds before the counters)
//   GetS/Grant encode + decode  the codec work of a miss (and a Ping's, the yardstick's)
//   Directory::handle(GetS)     the home's work for a request on an uncached line
//   a line's round at the home  read, shared read, write, eviction: full map (64) vs coarse (128)
//
//   ./build/bench/hot_paths_bench [--benchmark_filter=...] [--benchmark_repetitions=N]
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "interconnect/codec.h"
#include "interconnect/drop_counters.h"
#include "interconnect/silent_transport.h"
#include "node/directory.h"
#include "node/node.h"
#include "node/workloads.h"

namespace {

using namespace disco;

constexpr uint64_t kMiB = uint64_t{1} << 20;

// A 1-node Node over plain host memory, with one line already granted to pcpu 0.
struct HitRig {
  NodeShape shape;
  std::vector<uint8_t> memory;
  DropCounters drops;
  SilentTransport transport;
  std::unique_ptr<Node> node;
  static constexpr MachineAddr kLine = kWorkloadAreaOffset;

  explicit HitRig(Access want) {
    shape.geometry = {.nodes = 1, .mem_per_node = 4 * kMiB, .line_bytes = 128};
    shape.pcpus = 1;
    memory.assign(shape.geometry.mem_per_node, 0);
    node = std::make_unique<Node>(0, shape, memory.data(), transport, drops);
    uint64_t v = 0;
    ok = want == Access::Read ? port().load<uint64_t>(kLine, v) : port().store<uint64_t>(kLine, 1);
  }
  MemoryPort& port() { return node->port(0); }
  uint64_t word_mask() const { return shape.geometry.line_bytes / 8 - 1; }
  bool ok = false;
};

void BM_PortLoadHit(benchmark::State& state) {
  HitRig rig(Access::Read);
  if (!rig.ok) return state.SkipWithError("the line could not be loaded");
  MemoryPort& port = rig.port();
  const uint64_t mask = rig.word_mask();
  const uint64_t hits0 = rig.node->pcpu_stats(0).hits.get();
  uint64_t i = 0, v = 0;
  for (auto _ : state) {
    port.load<uint64_t>(HitRig::kLine + ((i++ & mask) << 3), v);
    benchmark::DoNotOptimize(v);
  }
  if (rig.node->pcpu_stats(0).hits.get() - hits0 != i) state.SkipWithError("not every load was a hit");
}
BENCHMARK(BM_PortLoadHit);

void BM_RawLoad(benchmark::State& state) {
  HitRig rig(Access::Read);
  const volatile uint64_t* raw = reinterpret_cast<const volatile uint64_t*>(rig.memory.data() + HitRig::kLine);
  const uint64_t mask = rig.word_mask();
  uint64_t i = 0;
  for (auto _ : state) {
    uint64_t v = raw[i++ & mask];
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_RawLoad);

void BM_PortStoreHit(benchmark::State& state) {
  HitRig rig(Access::Write);
  if (!rig.ok) return state.SkipWithError("the line could not be stored");
  MemoryPort& port = rig.port();
  const uint64_t mask = rig.word_mask();
  const uint64_t hits0 = rig.node->pcpu_stats(0).hits.get();
  uint64_t i = 0;
  for (auto _ : state) {
    port.store<uint64_t>(HitRig::kLine + ((i & mask) << 3), i);
    ++i;
  }
  if (rig.node->pcpu_stats(0).hits.get() - hits0 != i) state.SkipWithError("not every store was a hit");
}
BENCHMARK(BM_PortStoreHit);

void BM_RawStore(benchmark::State& state) {
  HitRig rig(Access::Write);
  volatile uint64_t* raw = reinterpret_cast<volatile uint64_t*>(rig.memory.data() + HitRig::kLine);
  const uint64_t mask = rig.word_mask();
  uint64_t i = 0;
  for (auto _ : state) {
    raw[i & mask] = i;
    ++i;
  }
}
BENCHMARK(BM_RawStore);

// The hit check alone: announce, compare the read tag, end. The rest of a hit is the counters.
void BM_FilterBeginEnd(benchmark::State& state) {
  HitRig rig(Access::Read);
  PcpuFilter& filter = rig.node->cache().filter(0);
  const LineAddr line = HitRig::kLine >> rig.shape.geometry.line_shift();
  uint64_t hits = 0;
  for (auto _ : state) {
    const bool hit = filter.begin<Access::Read>(line);
    if (hit) filter.end();
    hits += hit;
  }
  if (hits != static_cast<uint64_t>(state.iterations())) state.SkipWithError("the filter did not hold the line");
}
BENCHMARK(BM_FilterBeginEnd);

WireLimits two_node_limits(const MachineGeometry& g) { return {g.nodes, 1, g.total_lines(), g.lines_per_node()}; }

void codec_round_trip(benchmark::State& state, const Message& m, PortIndex port) {
  const MachineGeometry g{.nodes = 2, .mem_per_node = 64 * kMiB, .line_bytes = 128};
  const WireLimits limits = two_node_limits(g);
  DropCounters drops;
  std::vector<uint8_t> bytes;
  encode(m, bytes);
  if (!decode(bytes, port, limits, drops)) return state.SkipWithError("the message does not decode");
  for (auto _ : state) {
    encode(m, bytes);
    std::optional<Message> d = decode(bytes, port, limits, drops);
    benchmark::DoNotOptimize(d);
  }
  state.counters["bytes"] = static_cast<double>(bytes.size());
  if (drops.total()) state.SkipWithError("a message was dropped");
}

void BM_CodecGetS(benchmark::State& state) {
  const Message m{.kind = MsgKind::GetS, .src = 1, .line = 12345, .pcpu = 0, .txn = 7};
  codec_round_trip(state, m, port_of(MsgKind::GetS, 0));
}
BENCHMARK(BM_CodecGetS);

// The reply of a miss: GetS + Grant is what a 2-hop miss puts on the wire, Ping + Pong what the
// transport yardstick does.
void BM_CodecGrant(benchmark::State& state) {
  const Message m{.kind = MsgKind::Grant, .src = 1, .line = 12345, .pcpu = 0, .txn = 7, .grant = GrantState::Exclusive};
  codec_round_trip(state, m, port_of(MsgKind::Grant, 0));
}
BENCHMARK(BM_CodecGrant);

// The ping of the transport yardstick, as Node::ping sends it (to the home's request port).
void BM_CodecPing(benchmark::State& state) {
  const Message m{.kind = MsgKind::Ping, .src = 1, .pcpu = 0, .seq = 7};
  codec_round_trip(state, m, kRequestPort);
}
BENCHMARK(BM_CodecPing);

// The home's work for a GetS of a line nobody caches: each iteration asks for a fresh line;
// when the home's lines run out a new directory is built, untimed.
void BM_DirectoryGetSUncached(benchmark::State& state) {
  const MachineGeometry g{.nodes = 2, .mem_per_node = 64 * kMiB, .line_bytes = 128};
  NodeStats stats;
  const LineData one_host(0, g, HostMap{}, nullptr);
  auto dir = std::make_unique<Directory>(0, g, one_host, stats);
  Sends out;
  out.reserve(16);
  Message m{.kind = MsgKind::GetS, .src = 1, .line = 0, .pcpu = 0, .txn = 1};
  dir->handle(m, out);
  if (out.size() != 1 || out[0].msg.kind != MsgKind::Grant) return state.SkipWithError("the GetS was not granted");
  out.clear();
  LineAddr line = 1;
  const LineAddr lines = g.lines_per_node();
  for (auto _ : state) {
    if (line == lines) {
      state.PauseTiming();
      dir = std::make_unique<Directory>(0, g, one_host, stats);
      line = 0;
      state.ResumeTiming();
    }
    m.line = line++;
    dir->handle(m, out);
    benchmark::DoNotOptimize(out.data());
    out.clear();
  }
  if (stats.protocol_errors.get()) state.SkipWithError("the directory reported protocol errors");
}
BENCHMARK(BM_DirectoryGetSUncached);

// A line's whole round at the home, as nodes 1 and 2 of an N-node machine play it: 1 reads
// (Exclusive), 2 reads (forward to 1, FwdAck: Shared), 1 writes (Inv to 2, InvAck: Exclusive), 1
// evicts it (PutM: Uncached). Six messages; at 64 nodes a full map, past 64 a coarse vector (at
// 128, a bit stands for 2 nodes, so the write also invalidates nodes 0 and 3, which ack).
void BM_DirectoryRound(benchmark::State& state) {
  const auto nodes = static_cast<uint32_t>(state.range(0));
  const MachineGeometry g{.nodes = nodes, .mem_per_node = 64 * kMiB, .line_bytes = 128};
  NodeStats stats;
  const LineData one_host(0, g, HostMap{}, nullptr);
  Directory dir(0, g, one_host, stats);
  Sends out;
  out.reserve(16);
  auto home_txn = [&] {
    for (const Envelope& e : out)
      if (e.msg.kind == MsgKind::FwdGetS || e.msg.kind == MsgKind::Inv) return e.msg.home_txn;
    return uint32_t{0};
  };
  uint32_t txn = 0;
  LineAddr line = 0;
  for (auto _ : state) {
    auto send = [&](Message m) {
      m.line = line;
      out.clear();
      dir.handle(m, out);
    };
    send({.kind = MsgKind::GetS, .src = 1, .txn = ++txn});
    send({.kind = MsgKind::GetS, .src = 2, .txn = ++txn});
    send({.kind = MsgKind::FwdAck, .src = 1, .home_txn = home_txn()});
    send({.kind = MsgKind::GetX, .src = 1, .txn = ++txn});
    const uint32_t inv_txn = home_txn();
    std::array<NodeId, 4> invalidated;  // 1 at 64 nodes, 3 at 128
    if (out.size() > invalidated.size()) return state.SkipWithError("more invalidations than the round expects");
    size_t invs = 0;
    for (const Envelope& e : out) invalidated[invs++] = e.dst;
    for (size_t i = 0; i < invs; ++i) send({.kind = MsgKind::InvAck, .src = invalidated[i], .home_txn = inv_txn});
    send({.kind = MsgKind::PutM, .src = 1, .dirty = true});
    benchmark::DoNotOptimize(out.data());
    line = (line + 1) % g.lines_per_node();
  }
  if (stats.protocol_errors.get()) state.SkipWithError("the directory reported protocol errors");
  if (dir.view(0).state != DirState::Uncached) state.SkipWithError("the round did not end Uncached");
}
BENCHMARK(BM_DirectoryRound)->Arg(64)->Arg(128);

// The console report, then each hot path over its yardstick from the same run.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs)
      if (r.run_type == Run::RT_Iteration && !r.error_occurred) ns_[r.benchmark_name()] = r.GetAdjustedRealTime();
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    auto ratio = [&](const char* what, const char* a, const char* b) {
      if (ns_.count(a) && ns_.count(b) && ns_[b] > 0)
        fmt::print("{:<44} {:8.2f}   ({:.2f} ns / {:.2f} ns)\n", what, ns_[a] / ns_[b], ns_[a], ns_[b]);
    };
    fmt::print("\nratios of this run\n");
    ratio("hit load / raw load", "BM_PortLoadHit", "BM_RawLoad");
    ratio("hit store / raw store", "BM_PortStoreHit", "BM_RawStore");
    ratio("hit check (filter) / hit load", "BM_FilterBeginEnd", "BM_PortLoadHit");
    ratio("directory GetS / GetS encode+decode", "BM_DirectoryGetSUncached", "BM_CodecGetS");
    ratio("GetS encode+decode / Ping encode+decode", "BM_CodecGetS", "BM_CodecPing");
    ratio("line round, coarse (128) / full map (64)", "BM_DirectoryRound/128", "BM_DirectoryRound/64");
  }

 private:
  std::map<std::string, double> ns_;  // time per iteration, in each run's time unit (ns here)
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
