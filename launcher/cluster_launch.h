// Starting a run's nodes on several hosts through an existing launch engine, each rank one node
// (`disco node --node rank`): Open MPI's mpirun with the user's hostfile, or Slurm's srun inside
// the user's allocation. The engine carries the run's secret key to the nodes in their
// environment (mpirun -x, srun --export), never on a command line; every socket of the run is
// then CURVE-guarded TCP (connection_guard.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace disco {

struct ClusterLaunch {
  std::string hostfile;     // --hostfile: mpirun starts the nodes on these hosts
  bool slurm = false;       // --slurm: srun starts them in the current Slurm allocation
  bool round_robin = false; // node r on host r mod hosts (else each host's slots in turn)

  bool wanted() const { return slurm || !hostfile.empty(); }
  // A one-line reason when the launch cannot work (both asked, no allocation, a bad hostfile).
  std::string check() const;
  // The hosts the nodes run on: the hostfile's, or the allocation's (scontrol show hostnames).
  // Throws std::runtime_error with a one-line reason.
  std::vector<std::string> hosts() const;
  // The engine's command line that starts `nodes` copies of `node_command` (a `disco node
  // --node rank ...`), rank r as node r. Throws std::runtime_error if the engine is not installed.
  std::vector<std::string> argv(uint32_t nodes, const std::vector<std::string>& node_command) const;
  std::string engine() const { return slurm ? "srun" : "mpirun"; }
  std::string describe() const;  // "mpirun on the hosts of F" or "srun in Slurm job J"
};

// The hosts an Open MPI hostfile names, in order ("host [slots=N] [max_slots=N]" lines, '#'
// comments). Throws std::runtime_error with a one-line reason: unreadable, empty, or a line
// that is not a host.
std::vector<std::string> hostfile_hosts(const std::string& path);

// The address of this host that the others reach: the launcher's control socket binds there.
// The first non-loopback route toward a named host; loopback when every host is this one.
std::string control_address(const std::vector<std::string>& hosts);

}  // namespace disco
