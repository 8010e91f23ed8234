#include "launcher/cluster_launch.h"

#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "interconnect/outward_address.h"
#include "interconnect/run_key.h"

namespace disco {

std::vector<std::string> hostfile_hosts(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("--hostfile {}: cannot read it", path));
  std::vector<std::string> hosts;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string host, option;
    if (!(words >> host)) continue;
    if (host.find('=') != std::string::npos || host.size() > 255)
      throw std::runtime_error(fmt::format("--hostfile {} line {}: '{}' is not a host", path, number, host));
    while (words >> option)
      if (!option.starts_with("slots=") && !option.starts_with("max_slots=") && !option.starts_with("max-slots="))
        throw std::runtime_error(fmt::format("--hostfile {} line {}: unknown option '{}'", path, number, option));
    hosts.push_back(host);
  }
  if (hosts.empty()) throw std::runtime_error(fmt::format("--hostfile {}: it names no host", path));
  return hosts;
}

std::string control_address(const std::vector<std::string>& hosts) {
  for (const std::string& h : hosts) {
    const std::string a = outward_address(h);
    if (!a.starts_with("127.")) return a;
  }
  return "127.0.0.1";
}

std::string find_mpirun() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/mpirun";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw std::runtime_error("--hostfile starts the nodes with Open MPI's mpirun, which is not installed (apt install openmpi-bin)");
}

std::vector<std::string> mpirun_argv(const std::string& mpirun, const std::string& hostfile, uint32_t nodes,
                                     bool round_robin, const std::vector<std::string>& node_command) {
  // Each node pins itself (hwloc), so mpirun binds nothing.
  std::vector<std::string> argv{mpirun, "--hostfile", hostfile, "-np", std::to_string(nodes), "--map-by",
                                round_robin ? "node" : "slot", "--bind-to", "none", "-x", kRunKeyEnv};
  if (::geteuid() == 0) argv.push_back("--allow-run-as-root");  // Open MPI refuses root unless told
  argv.insert(argv.end(), node_command.begin(), node_command.end());
  return argv;
}

}  // namespace disco
