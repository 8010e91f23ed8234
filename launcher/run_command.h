// `disco run`: the flags, the effective configuration, the results folder, the run, the report.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "launcher/cluster_launch.h"
#include "launcher/guest_options.h"
#include "node/machine_config.h"

namespace disco {

struct RunOptions {
  MachineConfig config;
  std::string mem_per_node = "64MiB";
  std::string cache_size = "1MiB";
  std::string workload = "random";
  std::string pin = "core";
  std::string transport = "shm";
  ClusterLaunch cluster;  // --hostfile, --slurm: a cluster run, its nodes started by mpirun or srun
  std::string json_path;
  std::string results_root = "results";
  std::string name;
  bool quiet = false;
  GuestOptions guest;
  uint64_t timeout_s = 0;  // host seconds after which the run is stopped (0: none)
  std::string config_file;  // --config: read before the flags (experiment_file.h)
  bool nodes_given = false;
  bool cpu_mhz_given = false;
  bool mem_per_node_given = false;
};

// Declares the machine's flags (shared by `run` and `bench`) on a subcommand.
void add_machine_flags(CLI::App& cmd, RunOptions& o);
// Turns the flags into a complete configuration; a one-line reason when they cannot run.
std::optional<std::string> resolve(RunOptions& o);

// The whole `disco run`; returns the exit status (0 ok, 1 the run failed, 130 interrupted).
int run_command(RunOptions& o, const std::string& disco_exe, const std::string& command_line);

// One line saying why `--json path` cannot be written (no folder, a folder, not writable), or nothing.
std::optional<std::string> check_json_path(const std::string& path);

// A fresh results/<time>-<name>/ folder.
std::string make_results_dir(const std::string& root, const std::string& name);

}  // namespace disco
