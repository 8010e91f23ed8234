// Host pinning: where on the host each node process runs (DESIGN §1: nodes are pinned with
// hwloc to host cores, and their memory follows onto the host NUMA node they run on).
//
// The launcher calls plan_pinning once to report the placement of every node; each node process
// calls pin_self first thing, before it creates its machine memory, so that MachineMemory::create
// binds the segment to the NUMA node the process now runs on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shm/machine_types.h"

namespace disco {

enum class PinPolicy {
  None,      // run where the host scheduler likes
  Core,      // node i on host core (i mod #cores): nodes do not share a core while there are enough
  NumaNode,  // node i on the PUs of host NUMA node (i mod #NUMA nodes)
};

std::optional<PinPolicy> parse_pin_policy(std::string_view text);
// "none", "core" or "numa-node"; nullopt for anything else.
std::string_view name(PinPolicy p);
// The spelling parse_pin_policy accepts.

struct PinPlan {
  std::vector<std::string> node_places;  // by node: "core 1 (PUs 1)", "numa-node 0 (PUs 0-1)", "unpinned"
};

PinPlan plan_pinning(PinPolicy policy, uint32_t nodes);
// Where each of the nodes would run on this host. Without a usable topology every node is
// "unpinned (reason)".

std::string pin_self(PinPolicy policy, NodeId node, uint32_t nodes);
// Binds this process to node's place in plan_pinning(policy, nodes) and returns its description.
// If binding is impossible it logs a warning and returns "unpinned (reason)": a run on an
// unpinned node is still correct, only its timings are noisier.

}  // namespace disco
