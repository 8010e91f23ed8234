#include "interconnect/shm_transport.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <map>
#include <string_view>
#include <memory>
#include <mutex>
#include <thread>
#include <sched.h>

#include <fmt/format.h>

#include "shm/cpu_relax.h"
#include "shm/segment.h"

namespace disco {
namespace bip = boost::interprocess;

namespace {

constexpr uint64_t kInboxMagic = 0x786f626e'69637364ull;  // "dscinbox", little-endian
constexpr uint32_t kInboxVersion = 1;
constexpr size_t kMaxPorts = kFirstPcpuPort + kMaxPcpusPerNode;
constexpr int64_t kMaxSleepNs = 200'000'000;  // a sleeper wakes this often to look for stalled rings

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

size_t align64(size_t n) { return (n + 63) & ~size_t{63}; }

// One mapping of an inbox per process, shared by every ShmTransport in it: a segment mapped twice
// would give each of its bytes two addresses, and ThreadSanitizer (which knows memory by address)
// would then see a ring's producers and its consumer touch unrelated bytes -- no ordering between
// them, a race report for every lap. Node processes hold one transport each; tests and tools hold
// several, and they share mappings through this table.
class MappedInboxes {
 public:
  static std::shared_ptr<bip::mapped_region> map(const std::string& name, const bip::shared_memory_object& segment,
                                                 size_t size) {
    static std::mutex mutex;
    static std::map<std::string, std::weak_ptr<bip::mapped_region>> mapped;
    std::lock_guard lock(mutex);
    if (auto it = mapped.find(name); it != mapped.end()) {
      if (auto region = it->second.lock(); region && region->get_size() >= size) return region;
      mapped.erase(it);
    }
    auto region = std::make_shared<bip::mapped_region>(segment, bip::read_write, 0, size);
    mapped[name] = region;
    return region;
  }
};

}  // namespace

struct ShmTransport::Bell {
  alignas(64) std::atomic<uint32_t> rung;      // moves on every message of the bell's ports: the futex word
  std::atomic<uint32_t> sleepers;              // receivers about to sleep or asleep on `rung`
};

// The inbox segment: a header, the bells, then the rings, [port][sender].
struct ShmTransport::Inbox {
  struct alignas(64) Header {
    uint64_t magic;
    uint32_t version, owner, nodes, ports;
    uint64_t ring_bytes;
  };

  static size_t bells(uint32_t ports) { return ports - kFirstPcpuPort + 1; }
  static size_t rings_offset(uint32_t ports) { return align64(sizeof(Header) + bells(ports) * sizeof(Bell)); }
  static size_t ring_stride() { return align64(MessageRing::bytes_for(kRingBytes)); }
  static size_t bytes(uint32_t nodes, uint32_t ports) { return rings_offset(ports) + size_t{nodes} * ports * ring_stride(); }

  bip::shared_memory_object segment;
  std::shared_ptr<bip::mapped_region> region;

  uint8_t* base() const { return static_cast<uint8_t*>(region->get_address()); }
  Header& header() const { return *reinterpret_cast<Header*>(base()); }
  Bell& bell(uint32_t b) const { return reinterpret_cast<Bell*>(base() + sizeof(Header))[b]; }
  // The shape is the caller's (checked against the header on connect), never read back from a
  // header another process could have changed.
  void* ring(uint32_t nodes, uint32_t ports, PortIndex port, NodeId sender) const {
    return base() + rings_offset(ports) + (size_t{port} * nodes + sender) * ring_stride();
  }
};

ShmTransport::ShmTransport(std::string run_id, NodeId self, uint32_t nodes, uint32_t ports, DropCounters& drops,
                           Waiting waiting, int stall_ms)
    : run_id_(std::move(run_id)), self_(self), nodes_(nodes), ports_(ports), drops_(drops), waiting_(waiting),
      stall_ns_(int64_t{stall_ms} * 1'000'000) {
  if (stall_ms <= 0) throw std::invalid_argument(fmt::format("ShmTransport: a stall of {} ms", stall_ms));
  if (ports < kFirstPcpuPort || ports > kMaxPorts)
    throw std::invalid_argument(fmt::format("ShmTransport: {} ports, must be {}..{}", ports, kFirstPcpuPort, kMaxPorts));
  if (nodes == 0 || self >= nodes) throw std::invalid_argument(fmt::format("ShmTransport: node {} of {}", self, nodes));
}

ShmTransport::~ShmTransport() = default;

std::vector<std::string> ShmTransport::bind() {
  if (own_) throw std::logic_error("ShmTransport::bind called twice");
  const std::string name = inbox_segment_name(run_id_, self_);
  auto inbox = std::make_unique<Inbox>();
  const size_t size = inbox_bytes(nodes_, ports_);
  try {
    inbox->segment = bip::shared_memory_object(bip::create_only, name.c_str(), bip::read_write, bip::permissions(0600));
    inbox->segment.truncate(static_cast<bip::offset_t>(size));
    inbox->region = MappedInboxes::map(name, inbox->segment, size);
  } catch (const bip::interprocess_exception& e) {
    throw std::runtime_error(fmt::format("node {}: cannot make its inbox segment {} ({} bytes): {}", self_, name, size, e.what()));
  }
  Inbox::Header& h = inbox->header();
  for (size_t b = 0; b < Inbox::bells(ports_); ++b) new (&inbox->bell(static_cast<uint32_t>(b))) Bell{};
  for (PortIndex p = 0; p < ports_; ++p)
    for (NodeId s = 0; s < nodes_; ++s) MessageRing::construct(inbox->ring(nodes_, ports_, p, s), kRingBytes);
  h.version = kInboxVersion;
  h.owner = self_;
  h.nodes = nodes_;
  h.ports = ports_;
  h.ring_bytes = kRingBytes;
  std::atomic_ref<uint64_t>(h.magic).store(kInboxMagic, std::memory_order_release);  // last: the inbox is whole

  in_.resize(ports_);
  for (PortIndex p = 0; p < ports_; ++p) {
    in_[p].reserve(nodes_);
    for (NodeId s = 0; s < nodes_; ++s) in_[p].emplace_back(inbox->ring(nodes_, ports_, p, s), kRingBytes);
  }
  next_sender_.assign(ports_, 0);
  stalled_since_.assign(ports_, std::vector<int64_t>(nodes_, 0));
  own_ = std::move(inbox);

  return endpoints(run_id_, self_, ports_);
}

size_t ShmTransport::inbox_bytes(uint32_t nodes, uint32_t ports) { return Inbox::bytes(nodes, ports); }

std::vector<std::string> ShmTransport::endpoints(std::string_view run_id, NodeId node, uint32_t ports) {
  const std::string name = inbox_segment_name(run_id, node);
  std::vector<std::string> out;
  for (PortIndex p = 0; p < ports; ++p) out.push_back(fmt::format("shm://{}/{}", name, p));
  return out;
}

void ShmTransport::connect(const std::vector<std::vector<std::string>>& endpoints_by_node) {
  if (connected_) throw std::logic_error("ShmTransport::connect called twice");
  if (endpoints_by_node.size() != nodes_)
    throw std::runtime_error(fmt::format("shm transport: a peer table of {} nodes for a machine of {}", endpoints_by_node.size(), nodes_));
  peers_.resize(nodes_);
  out_.reserve(size_t{nodes_} * ports_);
  out_bells_.reserve(size_t{nodes_} * ports_);
  for (NodeId n = 0; n < nodes_; ++n) {
    const std::string name = inbox_segment_name(run_id_, n);
    const std::vector<std::string>& given = endpoints_by_node[n];
    if (given.empty() && n != self_) {  // on another host: no ring reaches it
      out_.resize(out_.size() + ports_);
      out_bells_.resize(out_bells_.size() + ports_, nullptr);
      continue;
    }
    if (given.size() != ports_)
      throw std::runtime_error(fmt::format("shm transport: node {} has {} ports in the peer table, not {}", n, given.size(), ports_));
    const std::vector<std::string> expected = endpoints(run_id_, n, ports_);
    for (PortIndex p = 0; p < ports_; ++p)
      if (given[p] != expected[p])
        throw std::runtime_error(fmt::format("shm transport: node {} port {} is '{}', not this run's inbox", n, p, given[p]));
    Inbox* inbox = own_.get();
    if (n != self_ || !own_) {
      auto peer = std::make_unique<Inbox>();
      const size_t size = inbox_bytes(nodes_, ports_);
      try {
        peer->segment = bip::shared_memory_object(bip::open_only, name.c_str(), bip::read_write);
        bip::offset_t actual = 0;
        if (!peer->segment.get_size(actual) || static_cast<size_t>(actual) < size)
          throw std::runtime_error(fmt::format("shm transport: inbox {} holds {} bytes, not {}", name, actual, size));
        peer->region = MappedInboxes::map(name, peer->segment, size);
      } catch (const bip::interprocess_exception& e) {
        throw std::runtime_error(fmt::format("shm transport: cannot open node {}'s inbox {}: {}", n, name, e.what()));
      }
      const Inbox::Header& h = peer->header();
      if (std::atomic_ref<uint64_t>(const_cast<uint64_t&>(h.magic)).load(std::memory_order_acquire) != kInboxMagic ||
          h.version != kInboxVersion || h.owner != n || h.nodes != nodes_ || h.ports != ports_ || h.ring_bytes != kRingBytes)
        throw std::runtime_error(fmt::format("shm transport: inbox {} is not node {}'s of this machine", name, n));
      inbox = peer.get();
      peers_[n] = std::move(peer);
    }
    for (PortIndex p = 0; p < ports_; ++p) {
      try {
        out_.emplace_back(std::in_place, inbox->ring(nodes_, ports_, p, self_), kRingBytes);
      } catch (const std::invalid_argument& e) {
        throw std::runtime_error(fmt::format("shm transport: node {}'s inbox: {}", n, e.what()));
      }
      out_bells_.push_back(&inbox->bell(bell_of(p)));
    }
  }
  connected_ = true;
}

bool ShmTransport::send(NodeId dst, PortIndex port, std::span<const uint8_t> bytes) {
  if (!connected_ || dst >= nodes_ || port >= ports_) return false;
  const size_t index = size_t{dst} * ports_ + port;
  if (!out_[index]) return false;
  MessageRing& ring = *out_[index];
  MessageRing::Push pushed = ring.push(bytes);
  if (pushed == MessageRing::Push::Full) {
    full_waits_.fetch_add(1, std::memory_order_relaxed);
    const int64_t deadline = now_ns() + int64_t{kSendPatienceMs} * 1'000'000;
    for (unsigned spins = 0; pushed == MessageRing::Push::Full; ++spins) {
      if (spins < 64) cpu_relax();
      else if (now_ns() > deadline) return false;
      else std::this_thread::yield();
      pushed = ring.push(bytes);
    }
  }
  if (pushed != MessageRing::Push::Ok) return false;
  Bell& bell = *out_bells_[index];
  // An awake receiver watches the rings themselves; the bell is rung only for a sleeper. The
  // fence orders the record's stamp before the look at `sleepers`, against the receiver's
  // sleepers-then-rings (wait()): either it sees the record before it sleeps, or we see it asleep.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (bell.sleepers.load(std::memory_order_relaxed) != 0) {
    bell.rung.fetch_add(1, std::memory_order_release);
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&bell.rung), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
    wakes_.fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

void ShmTransport::check_port(PortIndex port) const {
  if (port >= ports_ || !own_)
    throw std::out_of_range(fmt::format("node {} has no port {} (it has {})", self_, port, own_ ? ports_ : 0));
}

bool ShmTransport::take(PortIndex port, Frame& out) {
  std::vector<MessageRing>& rings = in_[port];
  uint32_t sender = next_sender_[port];
  for (uint32_t i = 0; i < nodes_; ++i, sender = sender + 1 == nodes_ ? 0 : sender + 1) {
    const MessageRing::Pop got = rings[sender].pop([&](std::span<const uint8_t> m) { out.assign(m); });
    if (got == MessageRing::Pop::Ok) {
      next_sender_[port] = sender + 1 == nodes_ ? 0 : sender + 1;  // fair: the next sender goes first
      return true;
    }
    if (got == MessageRing::Pop::Corrupt)
      drops_.drop(DropReason::BadRecord, fmt::format("ring of node {} to node {} port {}: a record no sender wrote whole; its ring was resynced", sender, self_, port));
  }
  return false;
}

void ShmTransport::resync_stalled(PortIndex port, int64_t now) {
  for (NodeId s = 0; s < nodes_; ++s) {
    int64_t& since = stalled_since_[port][s];
    auto drop = [&](std::string_view why) {
      const uint64_t bytes = in_[port][s].drop_stalled();
      drops_.drop(DropReason::BadRecord, fmt::format("ring of node {} to node {} port {}: {}, up to {} bytes dropped", s, self_, port, why, bytes));
      since = 0;
    };
    if (!in_[port][s].stalled())
      since = 0;
    else if (in_[port][s].claim_impossible())  // no sender can write to it: at once
      drop("its positions were corrupt");
    else if (in_[port][s].producer_gone())  // died mid-message: no one will publish it
      drop("its sender died mid-message");
    else if (since == 0)
      since = now;
    else if (now - since > stall_ns_)
      drop(fmt::format("nothing published for {} ms by a live sender", stall_ns_ / 1'000'000));
  }
}

bool ShmTransport::sleep_on(uint32_t b, uint32_t seen, int64_t timeout_ns) {
  const timespec ts{.tv_sec = timeout_ns / 1'000'000'000, .tv_nsec = timeout_ns % 1'000'000'000};
  sleeps_.fetch_add(1, std::memory_order_relaxed);
  // Not FUTEX_PRIVATE: the word is in a segment that other processes ring.
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(&own_->bell(b).rung), FUTEX_WAIT, seen, &ts, nullptr, 0) == -1 &&
         errno == EINTR;
}

template <typename Ready>
bool ShmTransport::wait(std::span<const PortIndex> ports, int timeout_ms, Ready&& ready) {
  const uint32_t b = bell_of(ports[0]);
  bool one_bell = true;
  for (PortIndex p : ports) one_bell = one_bell && bell_of(p) == b;
  Bell& bell = own_->bell(b);
  const int64_t start = now_ns();
  const int64_t deadline = timeout_ms < 0 ? INT64_MAX : start + int64_t{timeout_ms} * 1'000'000;
  // Watch the rings themselves (their lines stay in this core's cache until a sender writes
  // one): a reply usually comes within microseconds, far sooner than a futex wake-up (tens of
  // microseconds on a virtualised host). With a core of its own a receiver spins, briefly; where
  // threads outnumber cores it yields the core between looks, so that a peer sharing it runs,
  // and goes on looking for longer (a yield costs the others little).
  const bool yield = waiting_ == Waiting::Yield;
  const int64_t watch_ns = yield ? kYieldWatchNs : kSpinWatchNs;
  for (int64_t now = start; now - start < watch_ns && now < deadline; now = now_ns())
    for (unsigned i = 0; i < 16; ++i) {
      if (ready()) return true;
      if (yield)
        sched_yield();
      else
        cpu_relax();
    }
  for (;;) {
    const int64_t now = now_ns();
    for (PortIndex p : ports) resync_stalled(p, now);
    bell.sleepers.fetch_add(1, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with send()'s: see there
    const uint32_t seen = bell.rung.load(std::memory_order_acquire);
    if (ready()) {
      bell.sleepers.fetch_sub(1, std::memory_order_relaxed);
      return true;
    }
    if (now >= deadline) {
      bell.sleepers.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    const int64_t nap = std::min<int64_t>({deadline - now, kMaxSleepNs, one_bell ? kMaxSleepNs : int64_t{1'000'000}});
    const bool interrupted = sleep_on(b, seen, nap);
    bell.sleepers.fetch_sub(1, std::memory_order_relaxed);
    if (ready()) return true;
    if (interrupted) return false;
  }
}

bool ShmTransport::recv(PortIndex port, Frame& out, int timeout_ms) {
  check_port(port);
  if (take(port, out)) return true;
  if (timeout_ms == 0) return false;
  const PortIndex one[] = {port};
  return wait(one, timeout_ms, [&] { return take(port, out); });
}

int ShmTransport::poll(std::span<const PortIndex> ports, int timeout_ms) {
  if (ports.empty()) return -1;
  for (PortIndex p : ports) check_port(p);
  int found = -1;
  auto ready = [&] {
    for (size_t i = 0; i < ports.size(); ++i)
      for (const MessageRing& r : in_[ports[i]])
        if (r.ready()) {
          found = static_cast<int>(i);
          return true;
        }
    return false;
  };
  if (ready() || timeout_ms == 0) return found;
  return wait(ports, timeout_ms, ready) ? found : -1;
}

ShmTransport::Counters ShmTransport::counters() const {
  return {.full_waits = full_waits_.load(std::memory_order_relaxed),
          .wakes = wakes_.load(std::memory_order_relaxed), .sleeps = sleeps_.load(std::memory_order_relaxed)};
}

}  // namespace disco
