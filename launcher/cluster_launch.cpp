#include "launcher/cluster_launch.h"

#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
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

namespace {

// `name` on PATH, or a one-line reason in a std::runtime_error saying how to install it.
std::string find_program(const std::string& name, const std::string& install) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw std::runtime_error(fmt::format("{} is not installed ({})", name, install));
}

}  // namespace

std::string ClusterLaunch::check() const {
  if (slurm && !hostfile.empty()) return "--slurm and --hostfile: one launch engine, not both";
  if (slurm && std::getenv("SLURM_JOB_ID") == nullptr)
    return "--slurm: not inside a Slurm allocation (no SLURM_JOB_ID; use salloc or sbatch)";
  if (!hostfile.empty()) {
    try {
      hostfile_hosts(hostfile);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
  }
  return {};
}

std::vector<std::string> ClusterLaunch::hosts() const {
  if (!slurm) return hostfile_hosts(hostfile);
  const std::string scontrol = find_program("scontrol", "Slurm's client commands");
  FILE* p = ::popen((scontrol + " show hostnames 2>/dev/null").c_str(), "r");
  if (p == nullptr) throw std::runtime_error("--slurm: cannot run scontrol");
  std::vector<std::string> hosts;
  char line[256];
  while (std::fgets(line, sizeof line, p) != nullptr) {
    std::string h(line);
    while (!h.empty() && (h.back() == '\n' || h.back() == ' ')) h.pop_back();
    if (!h.empty()) hosts.push_back(h);
  }
  ::pclose(p);
  if (hosts.empty()) throw std::runtime_error("--slurm: scontrol show hostnames names no host of the allocation");
  return hosts;
}

std::vector<std::string> ClusterLaunch::argv(uint32_t nodes, const std::vector<std::string>& node_command) const {
  // Each node pins itself (hwloc), so the engine binds nothing.
  std::vector<std::string> argv;
  if (slurm) {
    argv = {find_program("srun", "Slurm's client commands"), "--ntasks", std::to_string(nodes), "--kill-on-bad-exit=1",
            "--export=ALL", "--cpu-bind=none", "--distribution", round_robin ? "cyclic" : "block"};
  } else {
    argv = {find_program("mpirun", "apt install openmpi-bin"), "--hostfile", hostfile, "-np", std::to_string(nodes),
            "--map-by", round_robin ? "node" : "slot", "--bind-to", "none", "-x", kRunKeyEnv};
    if (::geteuid() == 0) argv.push_back("--allow-run-as-root");  // Open MPI refuses root unless told
  }
  argv.insert(argv.end(), node_command.begin(), node_command.end());
  return argv;
}

std::string ClusterLaunch::describe() const {
  if (!slurm) return "mpirun on the hosts of " + hostfile;
  const char* job = std::getenv("SLURM_JOB_ID");
  return fmt::format("srun in Slurm job {}", job ? job : "?");
}

}  // namespace disco
