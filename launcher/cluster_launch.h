// Starting a run's nodes on several hosts through an existing launch engine: Open MPI's mpirun
// with the user's hostfile, each rank one node (`disco node --node rank`). mpirun carries the
// run's secret key in the nodes' environment (-x), never on a command line; every socket of the
// run is then CURVE-guarded TCP (connection_guard.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace disco {

// The hosts an Open MPI hostfile names, in order ("host [slots=N] [max_slots=N]" lines, '#'
// comments). Throws std::runtime_error with a one-line reason: unreadable, empty, or a line
// that is not a host.
std::vector<std::string> hostfile_hosts(const std::string& path);

// The address of this host that the others reach: the launcher's control socket binds there.
// The first non-loopback route toward a named host; loopback when every host is this one.
std::string control_address(const std::vector<std::string>& hosts);

// `mpirun` on PATH, or a one-line reason in a std::runtime_error (how to install it).
std::string find_mpirun();

// The command line that starts `nodes` copies of `node_command` (a `disco node --node rank ...`)
// on the hosts of `hostfile`, rank r as node r.
// round_robin: node r on host r mod hosts (mpirun --map-by node), else each host's slots in turn.
std::vector<std::string> mpirun_argv(const std::string& mpirun, const std::string& hostfile, uint32_t nodes,
                                     bool round_robin, const std::vector<std::string>& node_command);

}  // namespace disco
