// Where a bare-mode guest's physical memory lives in the machine (`--placement`): a table from
// guest physical page to machine address, so a guest page can be homed on any node and even
// bare Linux makes real remote accesses through the coherence protocol.
//
//   local        every page on the vcpu's own node: no remote misses (the baseline)
//   interleave   page p on node p mod N: most accesses remote on a machine of N nodes
//   first-touch  a page is placed on the node of the first vcpu that touches it (IRIX's
//                policy); with bare mode's single vcpu it places like `local`, but lazily
//
// Each node's memory is handed out from its start, page by page; a node that runs out of
// memory makes the placement fail (checked up front for local and interleave).
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

class PhysicalPlacement {
 public:
  // `guest_bytes` of guest physical memory (a page multiple) for a vcpu on node `home`.
  PhysicalPlacement(Placement policy, uint64_t guest_bytes, const MachineGeometry& g, NodeId home);
  // Empty when the machine can hold the guest's memory this way, else a one-line reason.
  static std::string check(Placement policy, uint64_t guest_bytes, const MachineGeometry& g);

  // The machine address of guest physical address `gpa` (< guest_bytes), touched by a vcpu of
  // node `toucher`.
  MachineAddr machine_address(uint64_t gpa, NodeId toucher) {
    MachineAddr& page = table_[gpa / kPageBytes];
    if (page == kUnplaced) [[unlikely]] page = place(toucher);
    return page + gpa % kPageBytes;
  }
  // The table itself, by guest physical page: a machine address, or ~0 while a page is unplaced
  // (machine_address() places it). For compiled code that reads it directly.
  const MachineAddr* table() const { return table_.data(); }
  static constexpr MachineAddr kUnplacedPage = ~MachineAddr{0};
  // Where guest physical 0 is when every page sits at that base plus its guest address (local
  // placement: one node's memory, handed out in order), so compiled code can skip the table.
  std::optional<MachineAddr> linear_base() const { return linear_base_; }
  // Pages placed on each node so far.
  const std::vector<uint64_t>& pages_by_node() const { return used_; }

 private:
  static constexpr MachineAddr kUnplaced = kUnplacedPage;
  MachineAddr place(NodeId node);

  MachineGeometry geometry_;
  std::vector<MachineAddr> table_;
  std::vector<uint64_t> used_;  // pages handed out per node
  std::optional<MachineAddr> linear_base_;
};

}  // namespace disco
