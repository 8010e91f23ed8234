// The `disco` command: `run` a machine, `bench` it, and the hidden `node` that the launcher
// starts once per emulated node.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "launcher/bench_coherence.h"
#include "launcher/bench_overhead.h"
#include "launcher/bench_scaling.h"
#include "launcher/experiment_file.h"
#include "launcher/numeric_flag.h"
#include "launcher/run_command.h"
#include "monitor/monitor.h"
#include "node/node_process.h"

namespace {

std::string self_exe(const char* argv0) {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(argv0) : p.string();
}

// The --config of `disco run`, found before the flags are parsed: the file is read first and
// the flags go over it.
std::string config_file_in(int argc, char** argv) {
  std::string path;
  for (int i = 2; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--config" && i + 1 < argc) path = argv[++i];
    if (a.starts_with("--config=")) path = a.substr(9);
  }
  return path;
}

std::string joined(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) s += (i ? " " : "") + std::string(argv[i]);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace disco;
  CLI::App app{"disco: the Disco VMM on an emulated cc-NUMA machine of node processes"};
  app.require_subcommand(1);

  RunOptions run;
  run.config.shape.geometry.nodes = 4;
  CLI::App* run_cmd = app.add_subcommand("run", "launch the machine's node processes and run a workload on every pcpu");
  add_machine_flags(*run_cmd, run);
  run_cmd->add_option("--workload", run.workload, std::string("one of ") + std::string(kWorkloadNames))->capture_default_str();
  add_number(*run_cmd, "--ops", run.config.workload.ops, "operations per pcpu");
  add_number(*run_cmd, "--lines", run.config.workload.lines, "working set in lines");
  add_number(*run_cmd, "--seed", run.config.workload.seed, "workload seed");
  run_cmd->add_option("--json", run.json_path, "also write the summary to this file");
  run_cmd->add_option("--name", run.name, "name of the results folder (default: the workload)");
  add_guest_flags(*run_cmd, run.guest);
  add_number(*run_cmd, "--timeout", run.timeout_s, "stop the run after this many seconds (0: never)");
  run_cmd->add_option("--config", run.config_file, "an experiment file (TOML): its settings, under the flags given");

  BenchOptions bench;
  CLI::App* bench_cmd = app.add_subcommand("bench", "measure the machine");
  bench_cmd->require_subcommand(1);
  CLI::App* coherence = bench_cmd->add_subcommand("coherence", "what memory accesses cost: latencies, fan-out, throughput");
  add_bench_flags(*coherence, bench);
  OverheadOptions overhead;
  CLI::App* overhead_cmd = bench_cmd->add_subcommand("overhead", "what the Disco monitor costs against bare mode (the paper's Figure 5)");
  add_overhead_flags(*overhead_cmd, overhead);
  ScalingOptions scaling;
  CLI::App* scaling_cmd = bench_cmd->add_subcommand("scaling", "how far the machine scales: misses/s and latency per node count and transport");
  add_scaling_flags(*scaling_cmd, scaling);

  NodeProcessArgs node;
  std::string node_config;
  CLI::App* node_cmd = app.add_subcommand("node", "one node process (started by the launcher)");
  node_cmd->group("");  // hidden
  node_cmd->add_option("--config", node_config)->required();
  std::string node_id;
  node_cmd->add_option("--node", node_id, "the node's number, or 'rank': its rank under mpirun or srun")->required();
  std::string node_log_dir;
  node_cmd->add_option("--log-dir", node_log_dir, "write this node's log, node<N>.log, here (a cluster run's nodes are not the launcher's children)");
  node_cmd->add_option("--control", node.control_endpoint)->required();
  node_cmd->add_option("--socket-dir", node.socket_dir)->required();
  node_cmd->add_option("--key-file", node.key_file);

  if (argc > 1 && std::string_view(argv[1]) == "run")
    if (const std::string file = config_file_in(argc, argv); !file.empty())
      if (auto err = read_experiment_file(file, run)) {
        fmt::print(stderr, "disco: {}\n", *err);
        return 2;
      }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "disco: {}\n", e.what());
    return 2;
  }

  try {
    if (*run_cmd) {
      run.cpu_mhz_given |= run_cmd->get_option("--cpu-mhz")->count() > 0;
      run.mem_per_node_given |= run_cmd->get_option("--mem-per-node")->count() > 0;
      run.nodes_given |= run_cmd->get_option("--nodes")->count() > 0;
      // A guest machine has one node unless told otherwise.
      if (run.guest.wanted() && !run.nodes_given) run.config.shape.geometry.nodes = 1;
      if (auto err = resolve(run)) {
        fmt::print(stderr, "disco: {}\n", *err);
        return 2;
      }
      return run_command(run, self_exe(argv[0]), joined(argc, argv));
    }
    if (*coherence) {
      if (auto err = resolve_bench(bench)) {
        fmt::print(stderr, "disco: {}\n", *err);
        return 2;
      }
      return bench_coherence(bench, self_exe(argv[0]));
    }
    if (*scaling_cmd) {
      if (auto err = resolve_scaling(scaling)) {
        fmt::print(stderr, "disco: {}\n", *err);
        return 2;
      }
      return bench_scaling(scaling, self_exe(argv[0]));
    }
    if (*overhead_cmd) {
      if (auto err = resolve_overhead(overhead)) {
        fmt::print(stderr, "disco: {}\n", *err);
        return 2;
      }
      return bench_overhead(overhead, self_exe(argv[0]));
    }
    if (*node_cmd) {
      node.self = node_id_from(node_id);
      if (!node_log_dir.empty()) log_to(fmt::format("{}/node{}.log", node_log_dir, node.self));
      std::ifstream in(node_config);
      node.config = machine_config_from_json(nlohmann::json::parse(in));
      if (node.config.guest.is_null()) return run_node_process(node);
      const MonitorConfig guest = monitor_config_from_json(node.config.guest);
      return run_node_process(node, [&guest](const NodeContext& n) { return std::make_unique<Monitor>(guest, n); });
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "disco: {}\n", e.what());
    return 1;
  }
  return 2;
}
