// The body of one node process (`disco node`, started by the launcher): it pins itself,
// creates its segment, binds its ports, meets the others at the launcher's rendezvous, runs
// the workload on its pcpu threads while its engine serves the other nodes, reports, and
// stops when the launcher says so.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "node/machine_config.h"
#include "node/node.h"

namespace disco {

// `disco node --node`: a number, or "rank" for the rank the launch engine gave this process
// (mpirun: OMPI_COMM_WORLD_RANK, PMIx: PMIX_RANK, srun: SLURM_PROCID), which is its node. Throws
// std::runtime_error with a one-line reason.
NodeId node_id_from(const std::string& given);

// Sends this process's stdout and stderr to `path` (created 0600, appended). A node started on
// another host by mpirun keeps its output on mpirun's channel when the path cannot be opened there.
void log_to(const std::string& path);

struct NodeProcessArgs {
  MachineConfig config;
  NodeId self = 0;
  std::string control_endpoint;  // the launcher's control socket
  std::string socket_dir;        // where ipc:// ports are bound
  std::string key_file;          // the run's key (run_key.h): set for a TCP run, whose sockets all use it
                                 // (a cluster run's nodes find it in their environment instead)
};

// What one pcpu thread is given to run.
struct PcpuRun {
  const MachineConfig& config;
  PcpuPlace where;
  MemoryPort& port;
  const PcpuStats& stats;  // the port's counters
  uint8_t* machine_base;   // host address of machine address 0 (MachineMemory::base)
  const std::atomic<bool>& stop;
};

// The node a NodeProgram runs on, once it is up (memory mapped, peers connected, engine running).
struct NodeContext {
  const MachineConfig& config;
  NodeId self;
  Node& node;
  uint8_t* machine_base;
};

// How far a node's guests are, for the launcher's progress line (sent in heartbeats).
struct GuestProgress {
  uint32_t vms = 0;      // built on this node so far
  uint32_t up = 0;       // ... that have run a user process
  uint32_t ended = 0;    // ... that have ended (powered off, crashed, stopped...)
  uint64_t instructions = 0;
};

// What a node runs on its pcpus instead of one of its own workloads: a layer above the node (the
// monitor) supplies it. Built once per node process; run_pcpu() is every pcpu thread's body.
class NodeProgram {
 public:
  virtual ~NodeProgram() = default;
  virtual WorkloadResult run_pcpu(const PcpuRun& run) = 0;
  virtual GuestProgress progress() const = 0;
  // Where the node's engine delivers monitor messages, if the program takes them.
  virtual MonitorService* monitor_service() { return nullptr; }
  // The program's own counters for the node's report (node<i>-stats.json), after the pcpus ended.
  virtual nlohmann::json report() const { return nlohmann::json::object(); }
};
using NodeProgramFactory = std::function<std::unique_ptr<NodeProgram>(const NodeContext&)>;

// Returns the process exit status: 0 after a clean stop, 1 when the run could not go on. Without
// a program, each pcpu runs the configured workload.
int run_node_process(const NodeProcessArgs& args, const NodeProgramFactory& program = {});

}  // namespace disco
