#include "shm/machine_types.h"

#include <fmt/format.h>

namespace disco {

std::string MachineGeometry::check() const {
  // Each setting is named as the user sets it: its flag (experiment files use the same names).
  if (nodes == 0) return "--nodes 0: the machine needs at least one node";
  if (nodes > kMaxNodes)
    return fmt::format("--nodes {}: more than the machine's limit of {} nodes", nodes, kMaxNodes);
  if (line_bytes < 8 || line_bytes > 4096 || (line_bytes & (line_bytes - 1)) != 0)
    return fmt::format("--line-size {}: must be a power of two from 8 to 4096", line_bytes);
  if (mem_per_node == 0 || mem_per_node % kPageBytes != 0)
    return fmt::format("--mem-per-node ({} bytes) must be a non-zero multiple of the page size ({})", mem_per_node,
                       kPageBytes);
  if (mem_per_node > (uint64_t{1} << 40)) return "--mem-per-node is larger than 1 TiB";
  return {};
}

}  // namespace disco
