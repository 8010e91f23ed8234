#include "monitor/physical_placement.h"

#include <fmt/format.h>

#include <stdexcept>

namespace disco {

std::optional<Placement> parse_placement(std::string_view s) {
  if (s == "local") return Placement::Local;
  if (s == "interleave") return Placement::Interleave;
  if (s == "first-touch") return Placement::FirstTouch;
  return std::nullopt;
}

std::string_view name(Placement p) {
  switch (p) {
    case Placement::Local: return "local";
    case Placement::Interleave: return "interleave";
    case Placement::FirstTouch: return "first-touch";
  }
  return "?";
}

std::string PhysicalPlacement::check(Placement policy, uint64_t guest_bytes, const MachineGeometry& g) {
  const uint64_t pages = guest_bytes / kPageBytes, node_pages = g.mem_per_node / kPageBytes;
  // Interleave puts ceil(pages / N) pages on node 0; local and first-touch (one vcpu) put all on one node.
  const uint64_t most_on_one_node = policy == Placement::Interleave ? (pages + g.nodes - 1) / g.nodes : pages;
  if (most_on_one_node > node_pages)
    return fmt::format("a guest of {} MiB placed {} needs {} MiB on one node; each node has {} MiB (raise --mem-per-node)",
                       guest_bytes >> 20, name(policy), most_on_one_node * kPageBytes >> 20, g.mem_per_node >> 20);
  return {};
}

PhysicalPlacement::PhysicalPlacement(Placement policy, uint64_t guest_bytes, const MachineGeometry& g, NodeId home)
    : geometry_(g), table_(guest_bytes / kPageBytes, kUnplaced), used_(g.nodes, 0) {
  if (const std::string e = check(policy, guest_bytes, g); !e.empty()) throw std::invalid_argument(e);
  if (policy == Placement::FirstTouch) return;
  for (uint64_t p = 0; p < table_.size(); ++p)
    table_[p] = place(policy == Placement::Local ? home : static_cast<NodeId>(p % g.nodes));
  bool linear = !table_.empty();
  for (uint64_t p = 0; p < table_.size() && linear; ++p) linear = table_[p] == table_[0] + p * kPageBytes;
  if (linear) linear_base_ = table_[0];
}

MachineAddr PhysicalPlacement::place(NodeId node) {
  if (used_[node] >= geometry_.mem_per_node / kPageBytes)
    throw std::runtime_error(fmt::format("node {} has no free page for the guest", node));
  return node * geometry_.mem_per_node + used_[node]++ * kPageBytes;
}

}  // namespace disco
