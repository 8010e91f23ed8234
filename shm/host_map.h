// Which nodes of a run share a host, hence memory (DESIGN §4). Nodes on one host map each other's
// segments and move only permission; a node on another host than a line's home keeps its own copy
// of the line, and the line's bytes travel in the protocol's messages (the cluster data path).
#pragma once

#include <string>
#include <vector>

#include "shm/machine_types.h"

namespace disco {

// What this process's host is, for the rendezvous: processes with equal identities can map each
// other's shared-memory segments. The host name alone is not enough (network namespaces share it,
// containers may not): the kernel's boot id and the device of /dev/shm name the memory itself.
std::string this_host_identity();

class HostMap {
 public:
  HostMap() = default;  // every node on one host
  // Nodes with equal names share a host: names[n] is node n's.
  explicit HostMap(const std::vector<std::string>& names);

  bool one_host() const { return host_of_.empty(); }
  bool same_host(NodeId a, NodeId b) const { return one_host() || host_of_[a] == host_of_[b]; }
  uint32_t hosts() const { return one_host() ? 1 : count_; }
  uint16_t host_of(NodeId n) const { return one_host() ? 0 : host_of_[n]; }

 private:
  std::vector<uint16_t> host_of_;  // by node, hosts numbered in order of first appearance
  uint32_t count_ = 1;
};

}  // namespace disco
