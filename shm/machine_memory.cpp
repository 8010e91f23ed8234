#include "shm/machine_memory.h"

#include <fcntl.h>
#include <hwloc.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <mutex>
#include <spdlog/spdlog.h>
#include <stdexcept>

#include "shm/segment.h"

namespace disco {

namespace bip = boost::interprocess;

namespace {

struct TopologyDeleter {
  void operator()(hwloc_topology_t t) const { hwloc_topology_destroy(t); }
};
using Topology = std::unique_ptr<hwloc_topology, TopologyDeleter>;

struct BitmapDeleter {
  void operator()(hwloc_bitmap_t b) const { hwloc_bitmap_free(b); }
};
using Bitmap = std::unique_ptr<hwloc_bitmap_s, BitmapDeleter>;

// Binds [addr, addr+len) to the host NUMA node(s) of this thread's CPUs. Returns empty on
// success, else why not.
std::string bind_to_local_numa_nodes(void* addr, size_t len) {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) return "hwloc_topology_init failed";
  Topology topo(raw);
  if (hwloc_topology_load(topo.get()) != 0) return fmt::format("hwloc_topology_load: {}", std::strerror(errno));
  Bitmap cpus(hwloc_bitmap_alloc());
  Bitmap numa_nodes(hwloc_bitmap_alloc());
  if (!cpus || !numa_nodes) return "out of memory";
  if (hwloc_get_cpubind(topo.get(), cpus.get(), HWLOC_CPUBIND_THREAD) != 0)
    return fmt::format("hwloc_get_cpubind: {}", std::strerror(errno));
  hwloc_cpuset_to_nodeset(topo.get(), cpus.get(), numa_nodes.get());
  if (hwloc_set_area_membind(topo.get(), addr, len, numa_nodes.get(), HWLOC_MEMBIND_BIND,
                             HWLOC_MEMBIND_MIGRATE | HWLOC_MEMBIND_BYNODESET) != 0)
    return fmt::format("hwloc_set_area_membind: {}", std::strerror(errno));
  return {};
}

// Binds node n's new segment to the host NUMA node(s) of this thread's CPUs, so that its pages
// are born on the right node when first touched, and checks that /dev/shm has room for all of it. Pages are not allocated ahead: a guest touches a fraction of its memory
// (the Debian boot 33 MiB of 256), and allocating and freeing the rest took 0.15 s a run. It
// works through a temporary mapping so that nothing in the reservation changes until every step
// that can fail is done; the binding is the segment's shared policy and outlives that mapping.
void place_segment_pages(NodeId n, const bip::shared_memory_object& segment, uint64_t size) {
  {
    bip::mapped_region view(segment, bip::read_write, 0, size);
    if (std::string why = bind_to_local_numa_nodes(view.get_address(), size); !why.empty())
      spdlog::warn("node {}'s memory is not bound to a host NUMA node ({}); it stays where the host puts it", n,
                   why);
  }
  if (std::string why = check_shm_room(size); !why.empty()) throw std::runtime_error(why);
}

// A page of machine memory that cannot be allocated at its first touch (its filesystem filled up
// after place_segment_pages() looked) is a SIGBUS there: said in one line, not a crash. The
// reservations of this process's MachineMemory objects, for the handler.
constexpr int kMaxReservations = 256;  // one per MachineMemory: the protocol tester makes one per node
std::atomic<uintptr_t> reservation_begin[kMaxReservations], reservation_end[kMaxReservations];

void on_sigbus(int sig, siginfo_t* info, void*) {
  const auto at = reinterpret_cast<uintptr_t>(info->si_addr);
  for (int i = 0; i < kMaxReservations; ++i) {
    if (at >= reservation_begin[i].load() && at < reservation_end[i].load()) {
      static const char kMessage[] =
          "disco: machine memory could not be allocated on first use (its shared-memory filesystem is full)\n";
      (void)!::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
      ::_exit(1);
    }
  }
  ::signal(sig, SIG_DFL);  // not ours: fault again, as without the handler
}

void watch_reservation(uint8_t* base, uint64_t size) {
  static std::once_flag installed;
  std::call_once(installed, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    ::sigaction(SIGBUS, &sa, nullptr);
  });
  for (int i = 0; i < kMaxReservations; ++i) {
    uintptr_t free_slot = 0;
    if (reservation_begin[i].compare_exchange_strong(free_slot, reinterpret_cast<uintptr_t>(base))) {
      reservation_end[i].store(reinterpret_cast<uintptr_t>(base) + size);
      return;
    }
  }
}

void unwatch_reservation(uint8_t* base) {
  for (int i = 0; i < kMaxReservations; ++i)
    if (reservation_begin[i].load() == reinterpret_cast<uintptr_t>(base)) {
      reservation_end[i].store(0);
      reservation_begin[i].store(0);
    }
}

}  // namespace

std::string check_shm_room(uint64_t total_bytes) {
  struct statvfs fs;
  if (::statvfs("/dev/shm", &fs) != 0)
    return fmt::format("cannot see the room in /dev/shm for {} bytes of the machine's segments: {}", total_bytes,
                       std::strerror(errno));
  const uint64_t room = uint64_t{fs.f_bavail} * fs.f_frsize;
  if (room < total_bytes)
    return fmt::format("cannot allocate {} bytes of the machine's segments: /dev/shm has only {} bytes free", total_bytes,
                       room);
  return {};
}

MachineMemory::MachineMemory(const MachineGeometry& g, std::string run_id)
    : geometry_(g), run_id_(std::move(run_id)) {
  if (std::string why = g.check(); !why.empty()) throw std::runtime_error("machine memory: " + why);
  // NORESERVE: this is address space only; the segments bring the memory.
  void* p = ::mmap(nullptr, g.total_bytes(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    throw std::runtime_error(fmt::format("cannot reserve {} bytes of address space for machine memory: {}",
                                         g.total_bytes(), std::strerror(errno)));
  base_ = static_cast<uint8_t*>(p);
  regions_.resize(g.nodes);
  copies_.resize(g.nodes);
  watch_reservation(base_, g.total_bytes());
}

MachineMemory::~MachineMemory() {
  unwatch_reservation(base_);
  // Each byte of the reservation is unmapped exactly once: a mapped slice by its region, the
  // rest here. Unmapping the whole reservation after the regions could hit a mapping another
  // thread placed in a slice the region had just freed.
  for (NodeId n = 0; n < regions_.size(); ++n) {
    if (regions_[n].get_size() != 0)
      regions_[n] = bip::mapped_region();
    else
      ::munmap(base_ + n * geometry_.mem_per_node, geometry_.mem_per_node);
  }
}

void MachineMemory::check_unmapped(NodeId n) const {
  if (n >= geometry_.nodes)
    throw std::runtime_error(fmt::format("node {} is outside the machine's {} nodes", n, geometry_.nodes));
  if (mapped(n)) throw std::runtime_error(fmt::format("node {}'s memory is already mapped", n));
}

void MachineMemory::map_at_slice(NodeId n, const bip::shared_memory_object& segment) {
  // MAP_FIXED replaces the reserved slice in place; Boost adds MAP_SHARED.
  regions_[n] = bip::mapped_region(segment, bip::read_write, 0, geometry_.mem_per_node,
                                   base_ + n * geometry_.mem_per_node, MAP_FIXED);
}

void MachineMemory::create(NodeId n) {
  check_unmapped(n);
  const std::string name = segment_name(run_id_, n);
  bip::shared_memory_object segment;
  try {
    // Owner-only: the segment is a guest's whole memory, no other local user's to read.
    segment = bip::shared_memory_object(bip::create_only, name.c_str(), bip::read_write, bip::permissions(0600));
  } catch (const bip::interprocess_exception& e) {
    throw std::runtime_error(fmt::format("cannot create machine-memory segment {}: {}", name, e.what()));
  }
  try {
    segment.truncate(static_cast<bip::offset_t>(geometry_.mem_per_node));
    place_segment_pages(n, segment, geometry_.mem_per_node);
    map_at_slice(n, segment);
  } catch (const std::exception& e) {
    bip::shared_memory_object::remove(name.c_str());  // ours and unusable: nobody may open it
    throw std::runtime_error(fmt::format("cannot create machine-memory segment {}: {}", name, e.what()));
  }
}

void MachineMemory::open(NodeId n) {
  check_unmapped(n);
  std::string name = segment_name(run_id_, n);
  try {
    bip::shared_memory_object segment(bip::open_only, name.c_str(), bip::read_write);
    bip::offset_t size = 0;
    if (!segment.get_size(size) || static_cast<uint64_t>(size) != geometry_.mem_per_node)
      throw std::runtime_error(fmt::format("machine-memory segment {} has {} bytes, expected {}", name, size,
                                           geometry_.mem_per_node));
    map_at_slice(n, segment);
  } catch (const bip::interprocess_exception& e) {
    throw std::runtime_error(fmt::format("cannot open machine-memory segment {}: {}", name, e.what()));
  }
}

void MachineMemory::open_all(const HostMap& hosts, NodeId self) {
  for (NodeId n = 0; n < geometry_.nodes; ++n) {
    if (mapped(n)) continue;
    if (hosts.same_host(n, self)) {
      open(n);
      continue;
    }
    // MAP_FIXED over the reserved slice, as a segment is; NORESERVE: only cached lines' pages are touched.
    if (::mmap(base_ + n * geometry_.mem_per_node, geometry_.mem_per_node, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) == MAP_FAILED)
      throw std::runtime_error(fmt::format("cannot map a local copy of node {}'s memory: {}", n, std::strerror(errno)));
    copies_[n] = true;
  }
}

}  // namespace disco
