#include "node/host_pinning.h"

#include <hwloc.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <spdlog/spdlog.h>

namespace disco {

namespace {

struct TopologyDeleter {
  void operator()(hwloc_topology_t t) const { hwloc_topology_destroy(t); }
};
using Topology = std::unique_ptr<hwloc_topology, TopologyDeleter>;

// The loaded topology of this host, or null with the reason in *why.
Topology load_topology(std::string* why) {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) {
    *why = "hwloc_topology_init failed";
    return nullptr;
  }
  Topology topo(raw);
  if (hwloc_topology_load(topo.get()) != 0) {
    *why = fmt::format("hwloc_topology_load: {}", std::strerror(errno));
    return nullptr;
  }
  return topo;
}

std::string pu_list(hwloc_const_cpuset_t cpus) {
  char* text = nullptr;
  if (hwloc_bitmap_list_asprintf(&text, cpus) < 0) return "?";
  std::string list(text);
  std::free(text);
  return list;
}

// The host object node i runs on under a pinning policy (not None). Hosts whose topology shows
// no cores (some virtual machines) are pinned per PU instead.
hwloc_obj_t place_of(hwloc_topology_t topo, PinPolicy policy, NodeId node) {
  hwloc_obj_type_t type = policy == PinPolicy::NumaNode ? HWLOC_OBJ_NUMANODE : HWLOC_OBJ_CORE;
  int count = hwloc_get_nbobjs_by_type(topo, type);
  if (count <= 0 && type == HWLOC_OBJ_CORE) {
    type = HWLOC_OBJ_PU;
    count = hwloc_get_nbobjs_by_type(topo, type);
  }
  if (count <= 0) return nullptr;
  return hwloc_get_obj_by_type(topo, type, static_cast<unsigned>(node % count));
}

std::string no_place(PinPolicy policy) {
  return fmt::format("the host shows no {}", policy == PinPolicy::NumaNode ? "NUMA nodes" : "cores");
}

std::string describe(hwloc_obj_t place) {
  std::string_view kind = place->type == HWLOC_OBJ_NUMANODE ? "numa-node"
                          : place->type == HWLOC_OBJ_CORE   ? "core"
                                                            : "pu";
  return fmt::format("{} {} (PUs {})", kind, place->logical_index, pu_list(place->cpuset));
}

}  // namespace

std::optional<PinPolicy> parse_pin_policy(std::string_view text) {
  for (PinPolicy p : {PinPolicy::None, PinPolicy::Core, PinPolicy::NumaNode})
    if (text == name(p)) return p;
  return std::nullopt;
}

std::string_view name(PinPolicy p) {
  switch (p) {
    case PinPolicy::None: return "none";
    case PinPolicy::Core: return "core";
    case PinPolicy::NumaNode: return "numa-node";
  }
  return "?";
}

PinPlan plan_pinning(PinPolicy policy, uint32_t nodes) {
  PinPlan plan;
  if (policy == PinPolicy::None) {
    plan.node_places.assign(nodes, "unpinned");
    return plan;
  }
  std::string why;
  Topology topo = load_topology(&why);
  for (uint32_t i = 0; i < nodes; ++i) {
    hwloc_obj_t place = topo ? place_of(topo.get(), policy, static_cast<NodeId>(i)) : nullptr;
    if (topo && !place) why = no_place(policy);
    plan.node_places.push_back(place ? describe(place) : fmt::format("unpinned ({})", why));
  }
  return plan;
}

std::string pin_self(PinPolicy policy, NodeId node, uint32_t nodes) {
  if (policy == PinPolicy::None) return "unpinned";
  std::string why;
  if (node >= nodes) {
    why = fmt::format("node {} is outside the machine's {} nodes", node, nodes);
  } else if (Topology topo = load_topology(&why)) {
    hwloc_obj_t place = place_of(topo.get(), policy, node);
    if (!place) {
      why = no_place(policy);
    } else if (hwloc_set_cpubind(topo.get(), place->cpuset, HWLOC_CPUBIND_PROCESS) != 0) {
      why = fmt::format("binding to {} failed: {}", describe(place), std::strerror(errno));
    } else {
      return describe(place);
    }
  }
  spdlog::warn("node {} runs unpinned: {}", node, why);
  return fmt::format("unpinned ({})", why);
}

}  // namespace disco
