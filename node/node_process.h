// The body of one node process (`disco node`, started by the launcher): it pins itself,
// creates its segment, binds its ports, meets the others at the launcher's rendezvous, runs
// the workload on its pcpu threads while its engine serves the other nodes, reports, and
// stops when the launcher says so.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "node/machine_config.h"

namespace disco {

struct NodeProcessArgs {
  MachineConfig config;
  NodeId self = 0;
  std::string control_endpoint;  // the launcher's control socket
  std::string socket_dir;        // where ipc:// ports are bound
};

// What one pcpu thread is given to run.
struct PcpuRun {
  const MachineConfig& config;
  PcpuPlace where;
  MemoryPort& port;
  uint8_t* machine_base;  // host address of machine address 0 (MachineMemory::base)
  const std::atomic<bool>& stop;
};
// The program of every pcpu thread; layers above the node supply one (a guest), else each pcpu
// runs the configured workload.
using PcpuProgram = std::function<WorkloadResult(const PcpuRun&)>;

// Returns the process exit status: 0 after a clean stop, 1 when the run could not go on.
int run_node_process(const NodeProcessArgs& args, const PcpuProgram& program = {});

}  // namespace disco
