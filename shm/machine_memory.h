// MachineMemory: the machine address -> host pointer map of one node process (DESIGN §4).
//
// The whole machine's memory is one contiguous range of this process's address space, so a
// machine address becomes a host pointer with one add. Node n's slice [n*M, (n+1)*M) is the
// shared-memory segment segment_name(run_id, n), mapped at base() + n*M.
//
// Call sequence: MachineMemory(geometry, run_id); create(self) for the node this process is;
// once every node has created its segment (the launcher's rendezvous), open_all(); then host().
// Slices not yet mapped stay reserved but inaccessible, so a stray access faults instead of
// landing in some other mapping.
#pragma once

#include <boost/interprocess/mapped_region.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "shm/host_map.h"
#include "shm/machine_types.h"

namespace disco {

// "" when /dev/shm has room for `total_bytes` of machine memory, else one line saying how much
// it has. Segment pages are allocated at their first touch, so the launcher asks this for the
// whole machine before it starts any node; each node asks again for its own segment.
std::string check_shm_room(uint64_t total_bytes);

class MachineMemory {
 public:
  MachineMemory(const MachineGeometry& g, std::string run_id);
  // Reserves geometry().total_bytes() of address space; maps nothing yet. Throws
  // std::runtime_error if the geometry is unusable or the address space is not available.
  ~MachineMemory();
  // Unmaps everything; never removes segments (the launcher owns their lifetime).

  MachineMemory(const MachineMemory&) = delete;
  MachineMemory& operator=(const MachineMemory&) = delete;

  void create(NodeId n);
  // Creates node n's segment, owner-only (mode 0600) and zero-filled, binds it to the host NUMA
  // node(s) of the CPUs this thread is bound to (only a warning if that is impossible: a one-node
  // host is normal), checks that /dev/shm has room for all of it, and maps it; its pages are
  // allocated at their first touch. A /dev/shm too full for it is an error here; one that fills
  // up later is a one-line error and exit at that touch (a SIGBUS handler), not a crash. Throws
  // std::runtime_error if the segment already exists or cannot be made; a segment it created
  // and could not finish is removed again.

  void open(NodeId n);
  // Maps node n's segment, created by another node process. Throws std::runtime_error if it
  // is missing or does not have the geometry's size (a different run's geometry).

  void open_all(const HostMap& hosts = {}, NodeId self = 0);
  // Opens every node not yet mapped that shares `self`'s host; gives each node on another host a
  // local copy instead: private, zero-filled memory at its slice, where this node keeps the bytes
  // of that node's lines it caches (the cluster data path; its pages come at their first touch).

  uint8_t* host(MachineAddr a) const { return base_ + a; }
  // The host byte behind machine address a; a must be inside a mapped node's slice.

  uint8_t* base() const { return base_; }
  bool mapped(NodeId n) const { return n < regions_.size() && (regions_[n].get_size() != 0 || copies_[n]); }
  const MachineGeometry& geometry() const { return geometry_; }
  const std::string& run_id() const { return run_id_; }

 private:
  void check_unmapped(NodeId n) const;
  void map_at_slice(NodeId n, const boost::interprocess::shared_memory_object& segment);

  MachineGeometry geometry_;
  std::string run_id_;
  uint8_t* base_ = nullptr;
  std::vector<boost::interprocess::mapped_region> regions_;  // by node; empty = not mapped
  std::vector<bool> copies_;  // by node: its slice is this process's local copy
};

}  // namespace disco
