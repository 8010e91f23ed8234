// The body of one node process (`disco node`, started by the launcher): it pins itself,
// creates its segment, binds its ports, meets the others at the launcher's rendezvous, runs
// the workload on its pcpu threads while its engine serves the other nodes, reports, and
// stops when the launcher says so.
#pragma once

#include <string>

#include "node/machine_config.h"

namespace disco {

struct NodeProcessArgs {
  MachineConfig config;
  NodeId self = 0;
  std::string control_endpoint;  // the launcher's control socket
  std::string socket_dir;        // where ipc:// ports are bound
};

// Returns the process exit status: 0 after a clean stop, 1 when the run could not go on.
int run_node_process(const NodeProcessArgs& args);

}  // namespace disco
