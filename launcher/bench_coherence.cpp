#include "launcher/bench_coherence.h"

#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/interprocess/anonymous_shared_memory.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <fstream>
#include <map>
#include <new>
#include <thread>

#include "interconnect/drop_counters.h"
#include "interconnect/silent_transport.h"
#include "launcher/disco_subrun.h"
#include "launcher/machine_run.h"
#include "launcher/numeric_flag.h"
#include "launcher/run_report.h"
#include "node/node.h"
#include "shm/cpu_relax.h"
#include "shm/segment.h"

namespace disco {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// The shape of the benchmark. Sub-run sizes are chosen to keep the default bench under about
// two minutes on a 2-core host while giving each latency figure `--samples` misses or so.
constexpr int kHitBatches = 100;
constexpr uint64_t kHitLoadsPerBatch = 1'000'000;
constexpr int kShmWarmup = 10'000;
constexpr int kShmRoundTrips = 100'000;
constexpr auto kShmTimeout = std::chrono::seconds(30);
constexpr uint64_t kCacheMultiple = 4;        // streaming working sets: this many times the cache
constexpr uint32_t kMaxStreamLines = 1u << 24;
constexpr uint32_t kMigratoryLines = 64;
constexpr uint32_t kSharedWriteLines = 16;
constexpr uint32_t kFanouts[] = {1, 3, 7};    // sharers invalidated; runs of k + 1 nodes
// Shared-read ops per pcpu. The target's pair, 1 and 2 nodes, run ten times longer: the first
// touches of fresh machine memory (~30 ms of page faults on 2 cores) were most of a 20,000-op run
// on 1 node, and made its rate look a fifth of what it is.
constexpr uint64_t kThroughputOps = 20'000, kThroughputPairOps = 200'000;
constexpr double kShortRunSeconds = 0.25;     // a throughput run this short mostly measures first touches
constexpr double kTarget2HopOverTransport = 1.2;
constexpr double kTargetShm2HopOverSpin = 3;      // shm remote 2-hop miss / the spinning shm round trip
constexpr double kTargetIpcOverShm2Hop = 100;     // ZeroMQ ipc remote 2-hop miss / the shm one
constexpr double kTargetThroughput2Over1 = 0.30;  // shared-read misses/s per node, 2 nodes over 1 (shm)
constexpr double kTargetBootHostRatio = 1.5;      // a boot interleaved over 4 nodes / local, host time
constexpr TransportKind kTransports[] = {TransportKind::Shm, TransportKind::Ipc, TransportKind::Tcp};
constexpr double kTargetHitNs = 5;
constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kHitMemoryCap = 64 * kMiB;

std::atomic<bool> g_interrupted{false};  // set by the signal handler only
void on_signal(int) { g_interrupted.store(true); }

// A latency figure in the unit of its JSON key: median, p99, mean, and how many samples.
struct Figure {
  double median = 0;
  double p99 = 0;
  uint64_t count = 0;
  double mean = 0;
};

json to_json(const std::optional<Figure>& f) {
  if (!f) return nullptr;
  return {{"median", f->median}, {"p99", f->p99}, {"mean", f->mean}, {"count", f->count}};
}

Figure scaled(const Figure& f, double k) { return {f.median * k, f.p99 * k, f.count, f.mean * k}; }

// Exact nearest-rank percentiles of samples (already in the figure's unit).
Figure exact_percentiles(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  auto at = [&](double q) {
    const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::max<size_t>(rank, 1) - 1];
  };
  return {at(0.5), at(0.99), v.size(), sum / static_cast<double>(v.size())};
}

std::optional<double> ratio(const std::optional<Figure>& a, const std::optional<Figure>& b) {
  if (!a || !b || b->median <= 0) return std::nullopt;
  return a->median / b->median;
}
std::optional<double> mean_ratio(const std::optional<Figure>& a, const std::optional<Figure>& b) {
  if (!a || !b || b->mean <= 0) return std::nullopt;
  return a->mean / b->mean;
}

json to_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

// ---- 1. The hit path, in process ----------------------------------------------------------

struct HitResult {
  std::optional<Figure> hit_ns, raw_ns;
  std::string error;
};

// A 1-node Node over plain host memory: one line is touched (a local miss), then batches of
// loads of that line through MemoryPort::load (all filter hits) alternate with the same number
// of plain loads of the same host memory. Per-access ns per batch -> percentiles over batches.
HitResult measure_hits(const MachineConfig& base) {
  NodeShape shape = base.shape;
  shape.geometry.nodes = 1;
  shape.pcpus = 1;
  shape.geometry.mem_per_node = std::min(shape.geometry.mem_per_node, kHitMemoryCap);
  std::vector<uint8_t> memory(shape.geometry.mem_per_node);
  DropCounters drops;
  SilentTransport transport;
  Node node(0, shape, memory.data(), transport, drops);
  MemoryPort& port = node.port(0);

  const MachineAddr line = kWorkloadAreaOffset;
  uint64_t v = 0;
  if (!port.load<uint64_t>(line, v)) return {.error = "the first load (a local miss) of the hit benchmark failed"};
  const uint64_t hits_before = node.pcpu_stats(0).hits.get();
  const uint64_t word_mask = shape.geometry.line_bytes / 8 - 1;
  const volatile uint64_t* raw = reinterpret_cast<const volatile uint64_t*>(memory.data() + line);

  std::vector<double> hit_ns, raw_ns;
  uint64_t sink = 0, failed = 0;
  for (int b = 0; b < kHitBatches; ++b) {
    const auto t0 = Clock::now();
    for (uint64_t i = 0; i < kHitLoadsPerBatch; ++i) {
      failed += !port.load<uint64_t>(line + ((i & word_mask) << 3), v);
      sink += v;
    }
    const auto t1 = Clock::now();
    for (uint64_t i = 0; i < kHitLoadsPerBatch; ++i) sink += raw[i & word_mask];
    const auto t2 = Clock::now();
    hit_ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / kHitLoadsPerBatch);
    raw_ns.push_back(std::chrono::duration<double, std::nano>(t2 - t1).count() / kHitLoadsPerBatch);
  }
  asm volatile("" : : "r"(sink));
  const uint64_t hits = node.pcpu_stats(0).hits.get() - hits_before;
  if (failed) return {.error = fmt::format("{} loads of the hit benchmark failed", failed)};
  if (hits != kHitBatches * kHitLoadsPerBatch)
    return {.error = fmt::format("only {} of {} timed loads were hits", hits, kHitBatches * kHitLoadsPerBatch)};
  return {exact_percentiles(std::move(hit_ns)), exact_percentiles(std::move(raw_ns)), {}};
}

// ---- 7. The shared-memory round trip between two processes ------------------------------

struct Mailbox {
  alignas(64) std::atomic<uint64_t> ping{0};
  alignas(64) std::atomic<uint64_t> pong{0};
  alignas(64) std::atomic<uint64_t> ready{0};
};
static_assert(std::atomic<uint64_t>::is_always_lock_free, "the mailbox must work across processes");
constexpr uint64_t kStopSeq = ~uint64_t{0};

struct ShmResult {
  std::optional<Figure> rtt_ns;
  std::string placement;
  std::string error;
};

bool pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0;
}

// Stops and reaps the mailbox child, whatever state it is in.
void end_child(pid_t child, Mailbox* box) {
  box->ping.store(kStopSeq, std::memory_order_release);
  const auto deadline = Clock::now() + std::chrono::seconds(1);
  int status;
  while (waitpid(child, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// The physical limit of this host: a sequence number ping-pongs through two cache lines of a
// real cross-process mapping between this process and a forked child, both spinning, pinned to
// different CPUs when there are two. Each round trip is timed on its own.
ShmResult measure_shm_rtt() {
  namespace bip = boost::interprocess;
  bip::mapped_region region = bip::anonymous_shared_memory(sizeof(Mailbox));
  Mailbox* box = new (region.get_address()) Mailbox;

  cpu_set_t saved;
  CPU_ZERO(&saved);
  if (sched_getaffinity(0, sizeof saved, &saved) != 0) return {.error = fmt::format("sched_getaffinity: {}", strerror(errno))};
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &saved)) cpus.push_back(c);
  const bool pin = cpus.size() >= 2;
  ShmResult res;
  res.placement = pin ? fmt::format("CPUs {} and {}", cpus[0], cpus[1]) : "one CPU, unpinned";

  const pid_t parent = getpid();
  const pid_t child = fork();
  if (child < 0) return {.error = fmt::format("fork: {}", strerror(errno))};
  if (child == 0) {
    // The child only spins on the mailbox: it dies with the parent and never outlives it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    if (pin) pin_to(cpus[1]);
    box->ready.store(1, std::memory_order_release);
    uint64_t expect = 1;
    for (unsigned spins = 0;; ++spins) {
      const uint64_t s = box->ping.load(std::memory_order_acquire);
      if (s == expect) {
        box->pong.store(s, std::memory_order_release);
        ++expect;
      } else if (s == kStopSeq) {
        _exit(0);
      } else {
        cpu_relax();
        if (!pin && (spins & 63) == 0) sched_yield();
      }
    }
  }

  if (pin) pin_to(cpus[0]);
  const auto deadline = Clock::now() + kShmTimeout;
  std::string error;
  auto waiting_too_long = [&](unsigned spins) {
    if (!pin && (spins & 63) == 0) sched_yield();
    if ((spins & 0xfff) != 0) return false;
    if (g_interrupted.load()) error = "interrupted";
    else if (Clock::now() > deadline) error = fmt::format("no answer from the mailbox child within {} s", kShmTimeout.count());
    return !error.empty();
  };
  for (unsigned spins = 1; box->ready.load(std::memory_order_acquire) == 0 && error.empty(); ++spins) {
    cpu_relax();
    waiting_too_long(spins);
  }
  std::vector<double> rtt;
  rtt.reserve(kShmRoundTrips);
  for (uint64_t seq = 1; seq <= kShmWarmup + kShmRoundTrips && error.empty(); ++seq) {
    const auto t0 = Clock::now();
    box->ping.store(seq, std::memory_order_release);
    for (unsigned spins = 1; box->pong.load(std::memory_order_acquire) != seq; ++spins) {
      cpu_relax();
      if (waiting_too_long(spins)) break;
    }
    const auto t1 = Clock::now();
    if (seq > kShmWarmup) rtt.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
  }
  end_child(child, box);
  sched_setaffinity(0, sizeof saved, &saved);  // the node processes started later inherit it
  if (!error.empty()) return {.placement = res.placement, .error = error};
  res.rtt_ns = exact_percentiles(std::move(rtt));
  return res;
}

// ---- 2.-6. Runs of the emulated machine --------------------------------------------------

// The mean of the nodes' histograms of `key`, from bucket midpoints (finer than the medians,
// which move in whole buckets of ~6 %).
double histogram_mean_ns(const json& summary, const std::string& key) {
  LatencyHistogram merged;
  for (const json& node : summary.value("per_node", json::array()))
    merged.merge(LatencyHistogram::from_json(node.value("latency_histograms", json::object()).value(key, json::object())));
  const json rows = merged.to_json()["buckets"];  // [index, count], validated by from_json
  double sum = 0;
  for (const json& row : rows) sum += LatencyHistogram::midpoint(row[0].get<unsigned>()) * row[1].get<double>();
  return merged.count() ? sum / static_cast<double>(merged.count()) : 0;
}

std::optional<Figure> latency_us(const json* summary, const std::string& key) {
  if (summary == nullptr) return std::nullopt;
  const json lat = summary->value("latency_ns", json::object());
  auto it = lat.find(key);
  if (it == lat.end()) return std::nullopt;
  return Figure{it->value("median", 0.0) / 1e3, it->value("p99", 0.0) / 1e3, it->value("count", uint64_t{0}),
                histogram_mean_ns(*summary, key) / 1e3};
}

uint64_t count_of(const json& summary, const char* key) { return summary["stats"].value(key, uint64_t{0}); }

class Bench {
 public:
  Bench(const BenchOptions& o, std::string exe, std::string dir, int steps)
      : o_(o), exe_(std::move(exe)), dir_(std::move(dir)), steps_(steps) {}

  template <class... A>
  void progress(fmt::format_string<A...> f, A&&... a) {
    if (o_.machine.quiet) return;
    fmt::print(stderr, "bench: {}\n", fmt::format(f, std::forward<A>(a)...));
    std::fflush(stderr);
  }
  int next_step() { return ++step_; }

  void fail(const std::string& name, const std::string& why) {
    failures_.push_back({{"run", name}, {"exit", why}});
    progress("  FAILED: {}", why);
  }

  // One sub-run; its summary, or nullopt (with a failure recorded) when it did not succeed.
  // cluster: a run over several hosts (o.cluster, node i on host i mod hosts: a 2-hop miss crosses).
  std::optional<json> run(const std::string& name, std::string_view what, uint32_t nodes, std::optional<uint32_t> pcpus,
                          WorkloadKind kind, uint32_t lines, uint64_t ops, std::optional<TransportKind> transport = {},
                          bool cluster = false) {
    if (g_interrupted.load()) return std::nullopt;
    MachineConfig c = o_.machine.config;
    if (transport) c.transport = *transport;
    c.cluster = cluster;
    c.shape.geometry.nodes = nodes;
    if (pcpus) c.shape.pcpus = *pcpus;
    c.workload.kind = kind;
    c.workload.lines = lines;
    c.workload.ops = ops;
    auto& g = c.shape.geometry;
    const uint64_t need = kWorkloadAreaOffset + workload_bytes_per_node(c.workload, g, c.shape.pcpus);
    if (need > g.mem_per_node) g.mem_per_node = (need + kMiB - 1) / kMiB * kMiB;
    progress("[{}/{}] {}: {} nodes x {} pcpus, {}, {} lines, {} ops per pcpu, {}", next_step(), steps_, what, nodes,
             c.shape.pcpus, name_of(kind), lines, ops,
             c.cluster ? "tcp between hosts, " + o_.cluster.describe() : std::string(disco::name(c.transport)));
    if (auto e = c.check(); !e.empty()) {
      fail(name, "configuration: " + e);
      return std::nullopt;
    }
    c.run_id = make_run_id();
    const std::string dir = make_results_dir(dir_, name);
    runs_[name] = dir;
    RunOutcome outcome;
    try {
      outcome = run_machine({c, dir, exe_, false, {}, 0, c.cluster ? o_.cluster : ClusterLaunch{}}, g_interrupted);
    } catch (const std::exception& e) {
      fail(name, e.what());
      return std::nullopt;
    }
    json summary = summarize(c, outcome, dir);
    for (const auto& nj : outcome.nodes)
      std::ofstream(fmt::format("{}/node{}-stats.json", dir, nj.value("node", 0u))) << nj.dump(2) << "\n";
    std::ofstream(dir + "/summary.json") << summary.dump(2) << "\n";
    if (!summary_ok(summary)) {
      fail(name, summary.value("exit", std::string("?")));
      return std::nullopt;
    }
    progress("  ok in {:.2f} s ({} local, {} 2-hop, {} 3-hop misses)", outcome.host_seconds, count_of(summary, "local_misses"),
             count_of(summary, "remote_2hop"), count_of(summary, "remote_3hop"));
    return summary;
  }

  const json& failures() const { return failures_; }
  const json& runs() const { return runs_; }

 private:
  static std::string name_of(WorkloadKind k) { return std::string(name(k)); }

  const BenchOptions& o_;
  const std::string exe_, dir_;
  const int steps_;
  int step_ = 0;
  json failures_ = json::array();
  json runs_ = json::object();
};

// ---- The table -------------------------------------------------------------------------

std::string num(double v) {
  if (v >= 1000) return fmt::format("{:.0f}", v);
  if (v >= 100) return fmt::format("{:.1f}", v);
  if (v >= 10) return fmt::format("{:.2f}", v);
  return fmt::format("{:.3f}", v);
}

void row(std::string_view label, const std::optional<Figure>& f, std::string_view unit, std::string_view note) {
  if (!f) {
    fmt::print("  {:<40} {:>10}   {:>10}   {:>8}   {}\n", label, "-", "-", "-", note);
    return;
  }
  fmt::print("  {:<40} {:>10}   {:>10}   {:>8}   {}\n", label, num(f->median) + " " + std::string(unit),
             num(f->p99) + " " + std::string(unit), f->count, note);
}

std::string verdict(bool met) { return met ? "met" : "NOT met"; }

void print_table(const json& j, const BenchOptions& o, const std::optional<Figure>& hit, const std::optional<Figure>& raw,
                 const std::string& hit_note, const std::string& shm_note, const std::map<std::string, std::string>& notes) {
  const auto& s = o.machine.config.shape;
  fmt::print("disco bench coherence: {} B lines, {} KiB {}-way cache per node, {} transport, pin {}, {} host CPUs, {} samples\n",
             s.geometry.line_bytes, s.cache.size_bytes >> 10, s.cache.ways, o.machine.transport, o.machine.pin,
             j["host_cpus"].get<unsigned>(), o.samples);
  fmt::print("  {:<40} {:>10}   {:>10}   {:>8}\n", "latency (host time)", "median", "p99", "samples");
  auto fig = [&](const char* key) -> std::optional<Figure> {
    if (j[key].is_null()) return std::nullopt;
    return Figure{j[key]["median"].get<double>(), j[key]["p99"].get<double>(), j[key]["count"].get<uint64_t>()};
  };
  auto note = [&](const std::string& k) {
    auto it = notes.find(k);
    return it == notes.end() ? std::string() : it->second;
  };
  row("hit: MemoryPort::load, 1 node", hit, "ns", hit_note);
  row("raw host load of the same memory", raw, "ns", "same loop, plain volatile load");
  row("local miss (1 node, private)", fig("local_miss_us"), "us", note("local_miss_us"));
  row("remote 2-hop miss (2 nodes, latency)", fig("remote_2hop_us"), "us", note("remote_2hop_us"));
  row(fmt::format("transport round trip (same run, {})", o.machine.transport), fig("transport_rtt_us"), "us",
      note("transport_rtt_us"));
  row("remote 3-hop miss (3 nodes, migratory)", fig("remote_3hop_us"), "us", note("remote_3hop_us"));
  row("shm round trip (2 processes, spinning)", fig("shm_rtt_us"), "us", shm_note);
  for (uint32_t k : kFanouts) {
    const json& v = j["upgrade_invalidate_us"][std::to_string(k)];
    std::optional<Figure> f;
    if (!v.is_null()) f = Figure{v["median"].get<double>(), v["p99"].get<double>(), v["count"].get<uint64_t>()};
    row(fmt::format("write miss invalidating {} ({} nodes)", k, k + 1), f, "us", note(fmt::format("invalidate_{}", k)));
  }
  auto ratio_cell = [&](const char* key) { return j[key].is_null() ? std::string("-") : fmt::format("{:.2f}", j[key].get<double>()); };
  const json& t = j["targets"];
  fmt::print("ratios (measured in this bench)\n");
  fmt::print("  {:<40} {:>10}   target <= {}: {}\n", "remote 2-hop / transport round trip", ratio_cell("ratio_2hop_to_transport"),
             t["remote_2hop_over_transport"].get<double>(), verdict(t["met_2hop"].get<bool>()));
  fmt::print("  {:<40} {:>10}   (means of the same histograms)\n", "  same, by means", ratio_cell("ratio_2hop_to_transport_mean"));
  fmt::print("  {:<40} {:>10}   target <= {} ns: {}\n", "hit (ns)", hit ? num(hit->median) : std::string("-"),
             t["hit_ns"].get<double>(), verdict(t["met_hit"].get<bool>()));
  fmt::print("  {:<40} {:>10}\n", "hit / raw host load", ratio_cell("hit_overhead_ratio"));
  fmt::print("  {:<40} {:>10}\n", "remote 2-hop / shm round trip", ratio_cell("ratio_2hop_to_shm"));
  fmt::print("  {:<40} {:>10}\n", "remote 2-hop / local miss", ratio_cell("ratio_2hop_to_local"));
  fmt::print("  (miss and round-trip percentiles come from the nodes' histograms, buckets ~6 % wide: a ratio\n"
             "   of 1.00 means both medians fell in the same bucket)\n");
  if (!j["remote_2hop_minus_transport_us"].is_null())
    fmt::print("  {:<40} {:>10}   (difference of means: what a miss adds to a round trip)\n",
               "remote 2-hop - transport round trip (us)", num(j["remote_2hop_minus_transport_us"].get<double>()));
  fmt::print("remote misses by transport (median / p99, us; round trip: a ping to the other node's engine)\n");
  fmt::print("  {:<10} {:>20} {:>20} {:>20}\n", "transport", "2-hop", "3-hop", "round trip");
  // "median / p99" of one figure of a transport's row.
  auto cell = [](const json& r, const char* key) {
    const json& f = r.value(key, json());
    return f.is_null() ? std::string("-") : num(f["median"].get<double>()) + " / " + num(f["p99"].get<double>());
  };
  for (TransportKind tk : kTransports) {
    const json& r = j["transports"].value(std::string(name(tk)), json::object());
    fmt::print("  {:<10} {:>20} {:>20} {:>20}\n", name(tk), cell(r, "remote_2hop_us"), cell(r, "remote_3hop_us"),
               cell(r, "rtt_us"));
  }
  if (const json& r = j["cluster"]; r.is_object())
    fmt::print("  {:<10} {:>20} {:>20} {:>20}   (tcp between hosts: {})\n", "cluster", cell(r, "remote_2hop_us"),
               cell(r, "remote_3hop_us"), cell(r, "rtt_us"), r["launch"].get<std::string>());
  fmt::print("  {:<40} {:>10}   target <= {}: {}\n", "shm 2-hop / shm round trip (spinning)", ratio_cell("ratio_shm_2hop_to_shm_rtt"),
             t["shm_2hop_over_shm_rtt"].get<double>(), verdict(t["met_shm_2hop"].get<bool>()));
  fmt::print("  {:<40} {:>10}   target >= {}: {}\n", "ipc 2-hop / shm 2-hop", ratio_cell("ratio_ipc_2hop_to_shm_2hop"),
             t["ipc_2hop_over_shm_2hop"].get<double>(), verdict(t["met_ipc_over_shm"].get<bool>()));
  fmt::print("throughput, shared-read, {} ops per pcpu on 1 and 2 nodes, {} beyond (misses per host second per node)\n",
             kThroughputPairOps, kThroughputOps);
  for (uint32_t n : o.node_count_list) {
    const json& v = j["throughput"][std::to_string(n)];
    const double secs = j["throughput_detail"].value(std::to_string(n), json::object()).value("host_seconds", 0.0);
    fmt::print("  {:<40} {:>10}   {}\n", fmt::format("{} node{}", n, n == 1 ? "" : "s"),
               v.is_null() ? std::string("failed") : fmt::format("{:.0f}", v.get<double>()),
               v.is_null() || secs >= kShortRunSeconds
                   ? std::string()
                   : fmt::format("short run ({:.3f} s): first touches of fresh memory weigh in", secs));
  }
  fmt::print("  {:<40} {:>10}   target >= {} (shm): {}\n", "2 nodes / 1 node, per node", ratio_cell("ratio_throughput_2_to_1"),
             t["throughput_2_over_1"].get<double>(), verdict(t["met_throughput"].get<bool>()));
  fmt::print("bare Debian boot (--host-unpack), 256 MiB: local on 1 node, interleaved over 4 nodes\n");
  for (const char* key : {"local", "interleave"}) {
    const json& b = j["boots"].value(key, json());
    if (b.is_null()) {
      fmt::print("  {:<12} failed\n", key);
      continue;
    }
    fmt::print("  {:<12} {:>7.2f} s host {:>8.3f} s guest ({:.3f} s of it local misses, {:.3f} s remote; {} remote misses)\n", key,
               b["host_s"].get<double>(), b["guest_s"].get<double>(), b["miss_local_guest_s"].get<double>(),
               b["miss_remote_guest_s"].get<double>(), b["remote_misses"].get<uint64_t>());
  }
  const json& br = j["boot_interleave_vs_local"];
  fmt::print("  {:<40} {:>10}   target <= {}: {}\n", "interleave / local, host time",
             br["host_ratio"].is_null() ? std::string("-") : fmt::format("{:.2f}", br["host_ratio"].get<double>()),
             t["boot_host_ratio"].get<double>(), verdict(t["met_boot"].get<bool>()));
  fmt::print("  {:<40} {:>10}   (what the remote misses cost in the model)\n", "interleave / local, guest time",
             br["guest_ratio"].is_null() ? std::string("-") : fmt::format("{:.4f}", br["guest_ratio"].get<double>()));
  if (j["failures"].empty()) {
    fmt::print("all sub-runs ok; results: {}\n", j["results_dir"].get<std::string>());
  } else {
    fmt::print("FAILED sub-runs:\n");
    for (const auto& f : j["failures"]) fmt::print("  {}: {}\n", f["run"].get<std::string>(), f["exit"].get<std::string>());
    fmt::print("results: {}\n", j["results_dir"].get<std::string>());
  }
}

std::optional<std::vector<uint32_t>> parse_counts(std::string_view s) {
  std::vector<uint32_t> out;
  while (!s.empty()) {
    const size_t comma = s.find(',');
    const std::string_view item = s.substr(0, comma);
    uint32_t v = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec != std::errc() || p != item.data() + item.size() || v == 0 || v > kMaxNodes) return std::nullopt;
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace

void add_bench_flags(CLI::App& cmd, BenchOptions& o) {
  add_machine_flags(cmd, o.machine);
  if (CLI::Option* nodes = cmd.get_option_no_throw("--nodes"))
    nodes->description("ignored: every sub-run of the bench sets its own node count");
  add_number(cmd, "--samples", o.samples, "misses measured per latency figure");
  cmd.add_option("--node-counts", o.node_counts, "node counts of the throughput sweep")->capture_default_str();
  cmd.add_option("--json", o.json_path, "also write the results to this file");
}

std::optional<std::string> resolve_bench(BenchOptions& o) {
  auto& c = o.machine.config;
  // Sub-runs set nodes and workload; resolve checks the rest with a minimal machine.
  o.nodes_flag_given = c.shape.geometry.nodes != 0;
  c.shape.geometry.nodes = 1;
  c.workload.lines = 1;
  if (o.samples == 0) return "--samples must be at least 1";
  if (o.samples > (uint64_t{1} << 32)) return "--samples is larger than 2^32";
  const auto counts = parse_counts(o.node_counts);
  if (!counts) return fmt::format("--node-counts '{}' is not a list of node counts 1..{} like 1,2,4,8", o.node_counts, kMaxNodes);
  o.node_count_list = *counts;
  // Only the cluster row spans the hosts; every other sub-run stays on this one.
  o.cluster = std::exchange(o.machine.cluster, {});
  o.cluster.round_robin = true;
  if (auto e = o.cluster.check(); !e.empty()) return e;
  return resolve(o.machine);
}

int bench_coherence(BenchOptions& o, const std::string& disco_exe) {
  sweep_stale_runs();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  const MachineConfig& base = o.machine.config;
  const auto& g = base.shape.geometry;
  const std::string dir = make_results_dir(o.machine.results_root, "bench-coherence");
  const int steps = 2 + 3 + static_cast<int>(std::size(kFanouts)) + static_cast<int>(o.node_count_list.size()) +
                    2 * (static_cast<int>(std::size(kTransports)) - 1) + 2 + (o.cluster.wanted() ? 2 : 0);
  Bench bench(o, disco_exe, dir, steps);
  std::map<std::string, std::string> notes;
  if (o.nodes_flag_given) bench.progress("note: --nodes is ignored, every sub-run sets its own node count");

  const uint64_t cache_lines = base.shape.cache.size_bytes / g.line_bytes;
  const uint32_t stream_lines = static_cast<uint32_t>(std::min<uint64_t>(kCacheMultiple * cache_lines, kMaxStreamLines));

  // 1. hit
  bench.progress("[{}/{}] hit: 1-node Node in process, {} batches of {} loads", bench.next_step(), steps, kHitBatches,
                 kHitLoadsPerBatch);
  HitResult hit;
  try {
    hit = measure_hits(base);
  } catch (const std::exception& e) {
    hit.error = e.what();
  }
  if (!hit.error.empty()) bench.fail("hit", hit.error);
  else bench.progress("  ok: {} ns per hit, {} ns per raw load", num(hit.hit_ns->median), num(hit.raw_ns->median));

  // 7. shared-memory round trip (before the machine runs: the process has no other thread yet)
  bench.progress("[{}/{}] shm round trip: 2 processes, {} timed round trips", bench.next_step(), steps, kShmRoundTrips);
  ShmResult shm;
  if (!g_interrupted.load()) {
    try {
      shm = measure_shm_rtt();
    } catch (const std::exception& e) {
      shm.error = e.what();
    }
    if (!shm.error.empty()) bench.fail("shm-rtt", shm.error);
    else bench.progress("  ok: {} ns median on {}", num(shm.rtt_ns->median), shm.placement);
  }
  std::optional<Figure> shm_us;
  if (shm.rtt_ns) shm_us = scaled(*shm.rtt_ns, 1e-3);

  // 2. local miss
  const auto local = bench.run("local-miss", "local miss", 1, std::nullopt, WorkloadKind::Private, stream_lines, o.samples);
  // 3. remote 2-hop and the transport round trip, one run
  const auto remote = bench.run("remote-2hop", "remote 2-hop + transport round trip", 2, 1u, WorkloadKind::Latency,
                                stream_lines, 2 * o.samples);
  // 4. remote 3-hop
  const auto three = bench.run("remote-3hop", "remote 3-hop", 3, std::nullopt, WorkloadKind::Migratory, kMigratoryLines,
                               o.samples);
  // 8. the same remote misses over every other transport, side by side
  json transports = json::object();
  auto row_of = [](const std::optional<json>& two, const std::optional<json>& three_hop) {
    return json{{"remote_2hop_us", to_json(latency_us(two ? &*two : nullptr, "remote_2hop"))},
                {"remote_3hop_us", to_json(latency_us(three_hop ? &*three_hop : nullptr, "remote_3hop"))},
                {"rtt_us", to_json(latency_us(two ? &*two : nullptr, "transport_rtt"))}};
  };
  auto transport_row = [&](TransportKind t, const std::optional<json>& two, const std::optional<json>& three_hop) {
    transports[std::string(name(t))] = row_of(two, three_hop);
  };
  transport_row(base.transport, remote, three);
  for (TransportKind t : kTransports) {
    if (t == base.transport) continue;
    const auto two = bench.run(fmt::format("remote-2hop-{}", name(t)), "remote 2-hop + transport round trip", 2, 1u,
                               WorkloadKind::Latency, stream_lines, 2 * o.samples, t);
    const auto three_hop = bench.run(fmt::format("remote-3hop-{}", name(t)), "remote 3-hop", 3, std::nullopt,
                                     WorkloadKind::Migratory, kMigratoryLines, o.samples, t);
    transport_row(t, two, three_hop);
  }
  // 8b. with --hostfile or --slurm: the same misses between nodes on different hosts (TCP),
  // beside tcp on one host
  json cluster = nullptr;
  if (o.cluster.wanted()) {
    const auto two = bench.run("remote-2hop-cluster", "remote 2-hop between hosts", 2, 1u, WorkloadKind::Latency,
                               stream_lines, 2 * o.samples, TransportKind::Shm, true);
    const auto three_hop = bench.run("remote-3hop-cluster", "remote 3-hop over hosts", 3, std::nullopt,
                                     WorkloadKind::Migratory, kMigratoryLines, o.samples, TransportKind::Shm, true);
    cluster = row_of(two, three_hop);
    cluster["launch"] = o.cluster.describe();
  }
  // 5. write misses by invalidation fan-out
  json upgrade = json::object();
  for (uint32_t k : kFanouts) {
    const auto s = bench.run(fmt::format("invalidate-{}", k), fmt::format("write miss invalidating {}", k), k + 1,
                             std::nullopt, WorkloadKind::SharedWrite, kSharedWriteLines, o.samples);
    const std::string key = fmt::format("invalidate_{}", k);
    const auto f = latency_us(s ? &*s : nullptr, key);
    upgrade[std::to_string(k)] = to_json(f);
    if (s && !f) notes[key] = fmt::format("the run produced no write miss invalidating {} sharers", k);
    else if (!s) notes[key] = "the run failed";
  }
  // 6. throughput
  json throughput = json::object(), throughput_detail = json::object();
  for (uint32_t n : o.node_count_list) {
    const uint64_t ops = n <= 2 ? kThroughputPairOps : kThroughputOps;
    const auto s = bench.run(fmt::format("throughput-{}", n), "throughput", n, std::nullopt, WorkloadKind::SharedRead,
                             stream_lines, ops);
    const std::string key = std::to_string(n);
    if (!s) {
      throughput[key] = nullptr;
      continue;
    }
    const uint64_t misses = count_of(*s, "local_misses") + count_of(*s, "remote_2hop") + count_of(*s, "remote_3hop");
    const double secs = s->value("host_seconds", 0.0);
    throughput[key] = secs > 0 ? json(static_cast<double>(misses) / secs / n) : json(nullptr);
    throughput_detail[key] = {{"misses", misses},
                              {"hits", count_of(*s, "hits")},
                              {"local_misses", count_of(*s, "local_misses")},
                              {"remote_2hop", count_of(*s, "remote_2hop")},
                              {"remote_3hop", count_of(*s, "remote_3hop")},
                              {"host_seconds", secs},
                              {"ops_per_pcpu", ops},
                              {"pcpus_per_node", s->value("cpus_per_node", 0u)}};
  }

  // 9. the demo's guest, a bare Debian boot: its memory on the vcpu's node against interleaved
  // over 4 nodes, the same 256 MiB and guest; host time shows what remote memory costs the host,
  // guest time what the model charges for it.
  json boots = json::object();
  for (const auto& [key, nodes] : {std::pair<const char*, uint32_t>{"local", 1}, {"interleave", 4}}) {
    if (g_interrupted.load()) break;
    bench.progress("[{}/{}] bare Debian boot, memory {} over {} node{}, {}", bench.next_step(), steps, key, nodes,
                   nodes == 1 ? "" : "s", name(base.transport));
    json failed = json::array();
    const json r = run_disco_subprocess(
        disco_exe, dir, fmt::format("boot-{}", key),
        {"--bare", "--guest", "debian", "--host-unpack", "--rtc-epoch", "1700000000", "--init-cmd",
         "echo disco-bench: booted", "--nodes", std::to_string(nodes), "--mem-per-node", fmt::format("{}MiB", 256 / nodes),
         "--placement", nodes == 1 ? "local" : "interleave", "--transport", std::string(name(base.transport))},
        failed);
    for (const json& f : failed) bench.fail(f["run"], f["exit"]);
    if (r.is_null()) continue;
    const json& guest = r["guest"];
    boots[key] = {{"host_s", r.value("host_seconds", 0.0)},
                  {"guest_s", guest["guest_seconds"].value("total", 0.0)},
                  {"miss_local_guest_s", guest["miss_guest_seconds"].value("local", 0.0)},
                  {"miss_remote_guest_s", guest["miss_guest_seconds"].value("remote", 0.0)},
                  {"instructions", r.value("guest_instructions", uint64_t{0})},
                  {"remote_misses", count_of(r, "remote_2hop") + count_of(r, "remote_3hop")}};
    bench.progress("  ok in {:.2f} s host, {:.3f} s guest", boots[key]["host_s"].get<double>(),
                   boots[key]["guest_s"].get<double>());
  }
  json boot_ratio = {{"host_ratio", nullptr}, {"guest_ratio", nullptr}};
  if (boots.contains("local") && boots.contains("interleave") && boots["local"]["host_s"].get<double>() > 0 &&
      boots["local"]["guest_s"].get<double>() > 0) {
    boot_ratio["host_ratio"] = boots["interleave"]["host_s"].get<double>() / boots["local"]["host_s"].get<double>();
    boot_ratio["guest_ratio"] = boots["interleave"]["guest_s"].get<double>() / boots["local"]["guest_s"].get<double>();
  }

  const auto local_us = latency_us(local ? &*local : nullptr, "local_miss");
  const auto r2_us = latency_us(remote ? &*remote : nullptr, "remote_2hop");
  const auto rtt_us = latency_us(remote ? &*remote : nullptr, "transport_rtt");
  const auto r3_us = latency_us(three ? &*three : nullptr, "remote_3hop");
  auto missing = [&](const char* key, const std::optional<json>& run, const std::optional<Figure>& f, const char* what) {
    if (!run) notes[key] = "the run failed";
    else if (!f) notes[key] = fmt::format("the run produced no {}", what);
  };
  missing("local_miss_us", local, local_us, "local miss");
  missing("remote_2hop_us", remote, r2_us, "remote 2-hop miss");
  missing("transport_rtt_us", remote, rtt_us, "transport round trip");
  missing("remote_3hop_us", three, r3_us, "remote 3-hop miss");

  std::optional<Figure> hit_ns = hit.hit_ns, raw_ns = hit.raw_ns;
  auto transport_figure = [&](TransportKind t, const char* key) -> std::optional<Figure> {
    const json& f = transports[std::string(name(t))][key];
    if (f.is_null()) return std::nullopt;
    return Figure{f["median"].get<double>(), f["p99"].get<double>(), f["count"].get<uint64_t>(), f["mean"].get<double>()};
  };
  const auto shm_2hop = transport_figure(TransportKind::Shm, "remote_2hop_us");
  const auto shm_2hop_over_spin = ratio(shm_2hop, shm_us);
  const auto ipc_over_shm = ratio(transport_figure(TransportKind::Ipc, "remote_2hop_us"), shm_2hop);
  std::optional<double> throughput_2_over_1;
  if (base.transport == TransportKind::Shm && throughput.contains("1") && throughput.contains("2") &&
      throughput["1"].is_number() && throughput["2"].is_number() && throughput["1"].get<double>() > 0)
    throughput_2_over_1 = throughput["2"].get<double>() / throughput["1"].get<double>();
  const auto r2_over_rtt = ratio(r2_us, rtt_us);
  const bool met_2hop = r2_over_rtt && *r2_over_rtt <= kTarget2HopOverTransport;
  const bool met_hit = hit_ns && hit_ns->median <= kTargetHitNs;
  json notes_json = json::object();
  for (auto& [k, v] : notes) notes_json[k] = v;

  json j = {
      {"hit_ns", to_json(hit_ns)},
      {"raw_load_ns", to_json(raw_ns)},
      {"hit_overhead_ratio", to_json(ratio(hit_ns, raw_ns))},
      {"local_miss_us", to_json(local_us)},
      {"remote_2hop_us", to_json(r2_us)},
      {"transport_rtt_us", to_json(rtt_us)},
      {"remote_3hop_us", to_json(r3_us)},
      {"shm_rtt_us", to_json(shm_us)},
      {"ratio_2hop_to_transport", to_json(r2_over_rtt)},
      {"ratio_2hop_to_transport_mean", to_json(mean_ratio(r2_us, rtt_us))},
      {"ratio_2hop_to_shm", to_json(ratio(r2_us, shm_us))},
      {"ratio_2hop_to_local", to_json(ratio(r2_us, local_us))},
      {"remote_2hop_minus_transport_us",
       r2_us && rtt_us ? json(r2_us->mean - rtt_us->mean) : json(nullptr)},
      {"upgrade_invalidate_us", upgrade},
      {"transports", transports},
      {"cluster", cluster},
      {"boot_interleave_vs_local", boot_ratio},
      {"boots", boots},
      {"ratio_shm_2hop_to_shm_rtt", to_json(shm_2hop_over_spin)},
      {"ratio_ipc_2hop_to_shm_2hop", to_json(ipc_over_shm)},
      {"ratio_throughput_2_to_1", to_json(throughput_2_over_1)},
      {"throughput", throughput},
      {"throughput_detail", throughput_detail},
      {"targets",
       {{"remote_2hop_over_transport", kTarget2HopOverTransport},
        {"hit_ns", kTargetHitNs},
        {"met_2hop", met_2hop},
        {"met_hit", met_hit},
        {"shm_2hop_over_shm_rtt", kTargetShm2HopOverSpin},
        {"ipc_2hop_over_shm_2hop", kTargetIpcOverShm2Hop},
        {"throughput_2_over_1", kTargetThroughput2Over1},
        {"met_shm_2hop", shm_2hop_over_spin && *shm_2hop_over_spin <= kTargetShm2HopOverSpin},
        {"met_ipc_over_shm", ipc_over_shm && *ipc_over_shm >= kTargetIpcOverShm2Hop},
        {"met_throughput", throughput_2_over_1 && *throughput_2_over_1 >= kTargetThroughput2Over1},
        {"boot_host_ratio", kTargetBootHostRatio},
        {"met_boot", boot_ratio["host_ratio"].is_number() &&
                         boot_ratio["host_ratio"].get<double>() <= kTargetBootHostRatio}}},
      {"samples", o.samples},
      {"host_cpus", std::thread::hardware_concurrency()},
      {"shm_placement", shm.placement},
      {"machine",
       {{"line_bytes", g.line_bytes},
        {"cache_bytes", base.shape.cache.size_bytes},
        {"cache_ways", base.shape.cache.ways},
        {"cpus_per_node", base.shape.pcpus},
        {"mem_per_node", g.mem_per_node},
        {"transport", o.machine.transport},
        {"pin", o.machine.pin},
        {"stream_lines", stream_lines}}},
      {"notes", notes_json},
      {"runs", bench.runs()},
      {"failures", bench.failures()},
      {"exit", g_interrupted.load() ? "interrupted" : bench.failures().empty() ? "ok" : "a sub-run failed"},
      {"results_dir", dir},
  };
  std::ofstream(dir + "/summary.json") << j.dump(2) << "\n";
  if (!o.json_path.empty()) std::ofstream(o.json_path) << j.dump(2) << "\n";

  const std::string hit_note =
      hit_ns ? fmt::format("{} batches of {} loads", kHitBatches, kHitLoadsPerBatch) : "failed: " + hit.error;
  const std::string shm_note = shm_us ? shm.placement : shm.error.empty() ? "not run" : "failed: " + shm.error;
  print_table(j, o, hit_ns, raw_ns, hit_note, shm_note, notes);
  if (g_interrupted.load()) return 130;
  return bench.failures().empty() ? 0 : 1;
}

}  // namespace disco
