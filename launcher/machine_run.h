// One run of the emulated machine: the launcher's side of a run. It starts one process per
// node (`disco node`; on several hosts, through mpirun or srun), meets them at the rendezvous (hello ->
// peer table -> ready -> start),
// shows progress, notices a node that dies (within a second), collects every node's report,
// stops them, and removes the run's segments and sockets whatever happened.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "launcher/cluster_launch.h"
#include "node/machine_config.h"

namespace disco {

struct RunRequest {
  MachineConfig config;        // complete and checked; run_id filled
  std::string results_dir;     // exists; node logs and the config go here
  std::string disco_exe;       // the binary to start nodes with
  bool progress = true;        // progress lines on stderr for long runs
  std::function<void()> each_tick;  // called every few ms while the run goes, and once at its end
  uint64_t timeout_s = 0;           // stop the run after this many host seconds (0: never)
  ClusterLaunch cluster;            // a cluster run (config.cluster): how its nodes start on the hosts
};

struct RunOutcome {
  bool ok = false;
  std::string exit;                     // "ok" or what went wrong, one line
  std::vector<nlohmann::json> nodes;    // each node's stats report (may be fewer after a failure)
  std::vector<uint64_t> counter_finals; // counter workload: every counter, node-major
  double host_seconds = 0;              // Start to the last pcpu's end, as the slowest node measured it
  bool curve = false;                   // the run's sockets spoke CURVE with a key of its own (TCP runs)
  uint64_t refused_connections = 0;     // ... and the launcher's control socket refused this many peers
};

// `interrupted` (set by a signal handler) stops the run cleanly.
RunOutcome run_machine(const RunRequest& req, const std::atomic<bool>& interrupted);

// Removes what runs whose launcher died left behind: segments and ipc socket folders.
void sweep_stale_runs();

}  // namespace disco
