// The pmap of a VM (the paper's section 4.2.2): for every page of the VM's guest physical memory,
// the machine page behind it. Every guest access to RAM goes through it (kseg0/kseg1 directly,
// mapped addresses after the TLB), so a guest reaches only the machine pages listed here.
//
// Under the monitor the pages come from the memmaps of the nodes (monitor/numa/memmap.h), which
// reserve them for the VM when it is created (map_range). In bare mode the guest owns the machine
// and its physical addresses are machine addresses placed by `--placement`:
//   local        every page on the vcpu's node, in order (the baseline: no remote misses)
//   interleave   page p on node p mod N: most accesses remote on a machine of N nodes
//   first-touch  a page goes to the node of the first vcpu that touches it (IRIX's policy; bare
//                mode's one vcpu places it like local, but lazily)
// Each node's memory is handed out from its start; a node that runs out makes placement fail
// (checked up front for local and interleave).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shm/machine_types.h"

namespace disco {

enum class Placement : uint8_t { Local, Interleave, FirstTouch };
std::optional<Placement> parse_placement(std::string_view s);
std::string_view name(Placement p);

class Pmap {
 public:
  static constexpr MachineAddr kUnmapped = ~MachineAddr{0};

  // `guest_bytes` (a page multiple) of guest physical memory, nothing mapped yet.
  explicit Pmap(uint64_t guest_bytes, uint32_t nodes);
  // Bare mode's machine: physical placed by `policy` for a vcpu on `home`; throws
  // std::invalid_argument with check()'s reason when the machine cannot hold it.
  static Pmap bare(Placement policy, uint64_t guest_bytes, const MachineGeometry& g, NodeId home);
  // Empty when the machine can hold bare mode's guest memory this way, else a one-line reason.
  static std::string check_bare(Placement policy, uint64_t guest_bytes, const MachineGeometry& g);

  // Maps guest pages [first, first + count) to the machine pages from `machine` on, of `node`.
  void map_range(uint64_t first_page, uint64_t count, MachineAddr machine, NodeId node);

  // The machine address of guest physical `gpa` (< bytes()); a page still unmapped is placed
  // now (bare first-touch) on `toucher`'s node.
  MachineAddr machine_address(uint64_t gpa, NodeId toucher) {
    MachineAddr& page = table_[gpa / kPageBytes];
    if (page == kUnmapped) [[unlikely]] page = place(toucher);
    return page + gpa % kPageBytes;
  }
  // The table itself, by guest page: a machine address, or kUnmapped (machine_address() places
  // it). For compiled code that reads it directly.
  const MachineAddr* table() const { return table_.data(); }
  // Where guest physical 0 is when every page sits at that base plus its guest address (one
  // node's memory in order), so compiled code can skip the table.
  std::optional<MachineAddr> linear_base() const;
  uint64_t bytes() const { return table_.size() * kPageBytes; }
  uint64_t pages() const { return table_.size(); }
  // Pages mapped on each node so far.
  const std::vector<uint64_t>& pages_by_node() const { return by_node_; }

 private:
  MachineAddr place(NodeId node);

  std::vector<MachineAddr> table_;
  std::vector<uint64_t> by_node_;
  // Bare first-touch: the machine it places on, and the pages handed out per node.
  std::optional<MachineGeometry> first_touch_;
};

}  // namespace disco
