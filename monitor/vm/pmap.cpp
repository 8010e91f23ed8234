#include "monitor/vm/pmap.h"

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

Pmap::Pmap(uint64_t guest_bytes, uint32_t nodes) : table_(guest_bytes / kPageBytes, kUnmapped), by_node_(nodes, 0) {}

std::string Pmap::check_bare(Placement policy, uint64_t guest_bytes, const MachineGeometry& g) {
  const uint64_t pages = guest_bytes / kPageBytes, node_pages = g.mem_per_node / kPageBytes;
  // Interleave puts ceil(pages / N) pages on node 0; local and first-touch (one vcpu) put all on one node.
  const uint64_t most_on_one_node = policy == Placement::Interleave ? (pages + g.nodes - 1) / g.nodes : pages;
  if (most_on_one_node > node_pages)
    return fmt::format("a guest of {} MiB placed {} needs {} MiB on one node; each node has {} MiB (raise --mem-per-node)",
                       guest_bytes >> 20, name(policy), most_on_one_node * kPageBytes >> 20, g.mem_per_node >> 20);
  return {};
}

Pmap Pmap::bare(Placement policy, uint64_t guest_bytes, const MachineGeometry& g, NodeId home) {
  if (const std::string e = check_bare(policy, guest_bytes, g); !e.empty()) throw std::invalid_argument(e);
  Pmap p(guest_bytes, g.nodes);
  p.first_touch_ = g;
  if (policy == Placement::FirstTouch) return p;
  for (uint64_t page = 0; page < p.table_.size(); ++page)
    p.table_[page] = p.place(policy == Placement::Local ? home : static_cast<NodeId>(page % g.nodes));
  return p;
}

void Pmap::map_range(uint64_t first_page, uint64_t count, MachineAddr machine, NodeId node) {
  if (first_page > table_.size() || count > table_.size() - first_page || node >= by_node_.size())
    throw std::out_of_range("pmap: a range beyond the VM's memory");
  for (uint64_t i = 0; i < count; ++i) table_[first_page + i] = machine + i * kPageBytes;
  by_node_[node] += count;
}

std::optional<MachineAddr> Pmap::linear_base() const {
  if (table_.empty() || table_[0] == kUnmapped) return std::nullopt;
  for (uint64_t p = 0; p < table_.size(); ++p)
    if (table_[p] != table_[0] + p * kPageBytes) return std::nullopt;
  return table_[0];
}

MachineAddr Pmap::place(NodeId node) {
  if (!first_touch_ || node >= first_touch_->nodes || by_node_[node] >= first_touch_->mem_per_node / kPageBytes)
    throw std::runtime_error(fmt::format("node {} has no free page for the guest", node));
  return node * first_touch_->mem_per_node + by_node_[node]++ * kPageBytes;
}

}  // namespace disco
