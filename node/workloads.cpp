#include "node/workloads.h"

#include <fmt/format.h>

#include <array>

#include "node/splitmix.h"

namespace disco {
namespace {

constexpr std::array<std::pair<std::string_view, WorkloadKind>, 8> kKinds{{
    {"private", WorkloadKind::Private},
    {"shared-read", WorkloadKind::SharedRead},
    {"migratory", WorkloadKind::Migratory},
    {"false-sharing", WorkloadKind::FalseSharing},
    {"counter", WorkloadKind::Counter},
    {"random", WorkloadKind::Random},
    {"shared-write", WorkloadKind::SharedWrite},
    {"latency", WorkloadKind::Latency},
}};
constexpr uint32_t kFalseSharingLines = 16;
constexpr size_t kMaxReportedErrors = 5;


// Line i of an array spread round-robin over every node's workload area.
MachineAddr interleaved_line(const MachineGeometry& g, uint64_t i) {
  const uint64_t node = i % g.nodes;
  return node * g.mem_per_node + kWorkloadAreaOffset + (i / g.nodes) * g.line_bytes;
}

// Runs the random workload's checker state for one pcpu.
class RandomChecker {
 public:
  RandomChecker(const MachineGeometry& g, const WorkloadSpec& spec, PcpuPlace where, uint32_t total_pcpus,
                MemoryPort& port, WorkloadResult& result)
      : g_(g), port_(port), result_(result), me_(where.global()), total_(total_pcpus),
        words_(uint64_t{spec.lines} * (g.line_bytes / 8)), pairs_(words_ / 2),
        mine_(pairs_ > me_ ? (pairs_ - me_ - 1) / total_ + 1 : 0), last_seen_(pairs_, 0), shadow_(mine_, 0) {}

  bool step(SplitMix64& rng) {
    const uint64_t r = rng.below(10);
    if (r < 4 || mine_ == 0) return read_designated(rng.below(pairs_), rng.below(4) == 0);
    const uint64_t k = rng.below(mine_);
    const uint64_t pair = me_ + k * total_;
    if (r < 7) return write_designated(pair);
    return scratch(k, pair, rng);
  }

 private:
  MachineAddr word_addr(uint64_t w) const {
    const uint64_t per_line = g_.line_bytes / 8;
    return interleaved_line(g_, w / per_line) + (w % per_line) * 8;
  }
  uint32_t owner(uint64_t pair) const { return static_cast<uint32_t>(pair % total_); }

  void error(std::string what) {
    ++result_.checker_errors;
    if (result_.first_errors.size() < kMaxReportedErrors) result_.first_errors.push_back(std::move(what));
  }

  // Designated words have one writer, which stores (seq << 16 | writer+1) with seq rising: any
  // reader must see a value of that writer, never older than one it saw before, and the writer
  // must read back exactly its last store.
  bool read_designated(uint64_t pair, bool half) {
    const MachineAddr a = word_addr(2 * pair);
    const uint64_t tag = owner(pair) + 1;
    if (half) {
      uint16_t low;
      if (!port_.load(a, low)) return false;
      if (low != tag && !(low == 0 && last_seen_[pair] == 0))
        error(fmt::format("word {:#x}: 2-byte read {:#x}, writer tag is {:#x}", a, low, tag));
      return true;
    }
    uint64_t v;
    if (!port_.load(a, v)) return false;
    const uint64_t seq = v >> 16;
    if (v != 0 && (v & 0xffff) != tag)
      error(fmt::format("word {:#x}: read {:#x}, not written by pcpu {}", a, v, tag - 1));
    else if (seq < last_seen_[pair])
      error(fmt::format("word {:#x}: read seq {} after having seen {}", a, seq, last_seen_[pair]));
    else if (owner(pair) == me_ && seq != last_seen_[pair])
      error(fmt::format("word {:#x}: writer read seq {}, its last store was {}", a, seq, last_seen_[pair]));
    last_seen_[pair] = std::max(last_seen_[pair], seq);
    return true;
  }

  bool write_designated(uint64_t pair) {
    const uint64_t seq = ++last_seen_[pair];
    return port_.store(word_addr(2 * pair), seq << 16 | (me_ + 1));
  }

  // Scratch words have one writer too, which stores random 1/2/4/8-byte pieces and reads back
  // pieces of other sizes against its shadow copy: lost or torn stores show up here.
  bool scratch(uint64_t k, uint64_t pair, SplitMix64& rng) {
    const MachineAddr a = word_addr(2 * pair + 1);
    const unsigned size = 1u << rng.below(4);
    const unsigned off = static_cast<unsigned>(rng.below(8 / size)) * size;
    const uint64_t value = rng.next();
    bool ok = true;
    switch (size) {
      case 1: ok = port_.store<uint8_t>(a + off, static_cast<uint8_t>(value)); break;
      case 2: ok = port_.store<uint16_t>(a + off, static_cast<uint16_t>(value)); break;
      case 4: ok = port_.store<uint32_t>(a + off, static_cast<uint32_t>(value)); break;
      default: ok = port_.store<uint64_t>(a, value); break;
    }
    if (!ok) return false;
    const uint64_t mask = size == 8 ? ~uint64_t{0} : ((uint64_t{1} << (size * 8)) - 1) << (off * 8);
    shadow_[k] = (shadow_[k] & ~mask) | ((value << (off * 8)) & mask);
    const unsigned rsize = 1u << rng.below(4);
    const unsigned roff = static_cast<unsigned>(rng.below(8 / rsize)) * rsize;
    uint64_t got = 0;
    switch (rsize) {
      case 1: { uint8_t x; ok = port_.load(a + roff, x); got = x; break; }
      case 2: { uint16_t x; ok = port_.load(a + roff, x); got = x; break; }
      case 4: { uint32_t x; ok = port_.load(a + roff, x); got = x; break; }
      default: ok = port_.load(a, got); break;
    }
    if (!ok) return false;
    const uint64_t want = rsize == 8 ? shadow_[k] : (shadow_[k] >> (roff * 8)) & ((uint64_t{1} << (rsize * 8)) - 1);
    if (got != want)
      error(fmt::format("scratch {:#x}+{}: {}-byte read {:#x}, wrote {:#x}", a, roff, rsize, got, want));
    return true;
  }

  const MachineGeometry& g_;
  MemoryPort& port_;
  WorkloadResult& result_;
  const uint32_t me_, total_;
  const uint64_t words_, pairs_, mine_;
  std::vector<uint64_t> last_seen_;
  std::vector<uint64_t> shadow_;
};

}  // namespace

std::optional<WorkloadKind> parse_workload(std::string_view s) {
  for (auto [n, k] : kKinds)
    if (n == s) return k;
  return std::nullopt;
}

std::string_view name(WorkloadKind w) {
  for (auto [n, k] : kKinds)
    if (k == w) return n;
  return "?";
}

MachineAddr counter_addr(const MachineGeometry& g, NodeId home, uint32_t i) {
  return uint64_t{home} * g.mem_per_node + uint64_t{i} * g.line_bytes;
}

uint64_t workload_bytes_per_node(const WorkloadSpec& w, const MachineGeometry& g, uint32_t pcpus_per_node) {
  const uint64_t spread = (uint64_t{w.lines} + g.nodes - 1) / g.nodes * g.line_bytes;
  switch (w.kind) {
    case WorkloadKind::Private: return uint64_t{w.lines} * g.line_bytes * pcpus_per_node;
    case WorkloadKind::Counter: return 0;
    case WorkloadKind::FalseSharing: return (kFalseSharingLines + g.nodes - 1) / g.nodes * g.line_bytes;
    case WorkloadKind::Latency: return uint64_t{w.lines} * g.line_bytes;
    default: return spread;
  }
}

std::vector<uint64_t> expected_counters(const MachineGeometry& g, uint32_t pcpus_per_node,
                                        const std::vector<uint64_t>& ops_by_global_pcpu) {
  const uint64_t c = uint64_t{g.nodes} * kCountersPerNode;
  std::vector<uint64_t> expected(c, 0);
  for (uint64_t gid = 0; gid < ops_by_global_pcpu.size(); ++gid) {
    const uint64_t n = ops_by_global_pcpu[gid];
    for (auto& e : expected) e += n / c;
    for (uint64_t j = 0; j < n % c; ++j) ++expected[(gid + j) % c];
  }
  return expected;
}

WorkloadResult run_workload(const WorkloadSpec& spec, const MachineGeometry& g, PcpuPlace where, MemoryPort& port,
                            const std::atomic<bool>& stop) {
  WorkloadResult res;
  const uint32_t total = g.nodes * where.pcpus_per_node;
  const uint32_t gid = where.global();
  SplitMix64 rng{spec.seed * 0x100000001b3ull + gid};
  const uint64_t words_per_line = g.line_bytes / 8;
  const uint64_t counters = uint64_t{g.nodes} * kCountersPerNode;
  const MachineAddr private_base = uint64_t{where.node} * g.mem_per_node + kWorkloadAreaOffset +
                                   uint64_t{where.pcpu} * spec.lines * g.line_bytes;
  RandomChecker checker(g, spec, where, total, port, res);
  std::vector<uint64_t> false_sharing_last(kFalseSharingLines, 0);

  for (uint64_t i = 0; i < spec.ops; ++i) {
    if ((i & 255) == 0 && stop.load(std::memory_order_relaxed)) break;
    bool ok = true;
    switch (spec.kind) {
      case WorkloadKind::Private: {
        const MachineAddr a = private_base + rng.below(spec.lines) * g.line_bytes + rng.below(words_per_line) * 8;
        uint64_t v;
        ok = (i & 1) ? port.store<uint64_t>(a, i) : port.load(a, v);
        break;
      }
      case WorkloadKind::SharedRead: {
        uint64_t v;
        ok = port.load(interleaved_line(g, rng.below(spec.lines)) + rng.below(words_per_line) * 8, v);
        break;
      }
      case WorkloadKind::Migratory: {
        const MachineAddr a = interleaved_line(g, rng.below(spec.lines));
        uint64_t v = 0;
        ok = port.load(a, v) && port.store<uint64_t>(a, v + 1);
        break;
      }
      case WorkloadKind::FalseSharing: {
        const uint64_t l = rng.below(kFalseSharingLines);
        const MachineAddr a = interleaved_line(g, l) + (gid % words_per_line) * 8;
        ok = port.store<uint64_t>(a, ++false_sharing_last[l]);
        uint64_t v;
        if (ok && total <= words_per_line) {  // one writer per word: it must read its own store
          ok = port.load(a, v);
          if (ok && v != false_sharing_last[l]) {
            ++res.checker_errors;
            if (res.first_errors.size() < kMaxReportedErrors)
              res.first_errors.push_back(fmt::format("false-sharing word {:#x}: read {}, wrote {}", a, v,
                                                     false_sharing_last[l]));
          }
        }
        break;
      }
      case WorkloadKind::Counter: {
        const uint64_t c = (gid + i) % counters;
        const MachineAddr a = counter_addr(g, static_cast<NodeId>(c / kCountersPerNode), c % kCountersPerNode);
        bool stored = false;
        while (ok && !stored) {
          uint64_t v;
          ok = port.load_linked(a, v) && port.store_conditional<uint64_t>(a, v + 1, stored);
          if (!stored && stop.load(std::memory_order_relaxed)) break;
        }
        ok = ok && stored;  // an increment counts only once it is stored
        break;
      }
      case WorkloadKind::Random:
        ok = checker.step(rng);
        break;
      case WorkloadKind::SharedWrite: {
        const MachineAddr a = interleaved_line(g, rng.below(spec.lines)) + (gid % words_per_line) * 8;
        uint64_t v;
        ok = rng.below(8) == 0 ? port.store<uint64_t>(a, i) : port.load(a, v);
        break;
      }
      case WorkloadKind::Latency: {
        // Lines of the next node, walked in order: with more lines than the cache holds each
        // read misses, clean, to the same home the round trips go to.
        const NodeId home = static_cast<NodeId>((where.node + 1) % g.nodes);
        if (i & 1) {
          uint64_t rtt;
          ok = port.ping(home, rtt);
        } else {
          const uint64_t line = (i / 2 * total + gid) % spec.lines;
          uint64_t v;
          ok = port.load(uint64_t{home} * g.mem_per_node + kWorkloadAreaOffset + line * g.line_bytes, v);
        }
        break;
      }
    }
    if (!ok) {
      ++res.failed_accesses;
      break;
    }
    ++res.ops;
  }
  return res;
}

}  // namespace disco
