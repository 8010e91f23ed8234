#include "launcher/run_command.h"

#include "interconnect/shm_transport.h"

#include <fmt/format.h>

#include <unistd.h>

#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "launcher/machine_run.h"
#include "launcher/numeric_flag.h"
#include "launcher/run_report.h"
#include "launcher/terminal_input.h"
#include "shm/machine_memory.h"
#include "shm/segment.h"

namespace disco {
namespace {

std::atomic<bool> g_interrupted{false};  // set by the signal handler only
void on_signal(int) { g_interrupted.store(true); }

}  // namespace

void add_machine_flags(CLI::App& cmd, RunOptions& o) {
  auto& s = o.config.shape;
  add_number(cmd, "--nodes", s.geometry.nodes, "emulated NUMA nodes (one process each)");
  add_number(cmd, "--cpus-per-node", s.pcpus, "pcpus (threads) per node");
  cmd.add_option("--mem-per-node", o.mem_per_node, "machine memory per node (a multiple of 4KiB)")->capture_default_str();
  add_number(cmd, "--line-size", s.geometry.line_bytes, "coherence line size in bytes");
  cmd.add_option("--cache-size", o.cache_size, "each node's cache size")->capture_default_str();
  add_number(cmd, "--cache-ways", s.cache.ways, "each node's cache associativity");
  cmd.add_option("--pin", o.pin, "pin node processes: none, core or numa-node")->capture_default_str();
  cmd.add_option("--transport", o.transport, "shm (rings in shared memory), ipc or tcp (ZeroMQ; tcp on loopback)")->capture_default_str();
  cmd.add_option("--hostfile", o.cluster.hostfile,
                 "run the nodes on several hosts: Open MPI's mpirun starts them from this hostfile (shm within a host, "
                 "TCP between hosts, the same paths on every host)");
  cmd.add_flag("--slurm", o.cluster.slurm, "run the nodes on the hosts of this Slurm allocation, started by srun");
  add_number(cmd, "--node-timeout", o.config.node_timeout_s,
             "seconds a running node may send no heartbeat before the run fails naming it (stopped or hung)");
  add_number(cmd, "--cpu-mhz", s.timing.cpu_mhz, "virtual clock of a pcpu");
  add_number(cmd, "--local-miss-ns", s.timing.local_miss_ns, "modelled local miss latency");
  add_number(cmd, "--remote-miss-ns", s.timing.remote_miss_ns, "modelled 2-hop remote miss latency");
  add_number(cmd, "--remote-dirty-ns", s.timing.remote_dirty_ns, "modelled 3-hop (dirty remote) miss latency");
  cmd.add_option("--results", o.results_root, "folder that receives one folder per run")->capture_default_str();
  cmd.add_flag("--quiet", o.quiet, "no progress lines");
}

std::optional<std::string> resolve(RunOptions& o) {
  MachineConfig& c = o.config;
  const auto mem = parse_size(o.mem_per_node);
  if (!mem) return fmt::format("--mem-per-node '{}' is not a size (like 64MiB)", o.mem_per_node);
  c.shape.geometry.mem_per_node = *mem;
  const auto cache = parse_size(o.cache_size);
  if (!cache) return fmt::format("--cache-size '{}' is not a size (like 1MiB)", o.cache_size);
  c.shape.cache.size_bytes = *cache;
  const auto w = parse_workload(o.workload);
  if (!w) return fmt::format("--workload '{}' is not one of {}", o.workload, kWorkloadNames);
  c.workload.kind = *w;
  const auto pin = parse_pin_policy(o.pin);
  if (!pin) return fmt::format("--pin '{}' is not none, core or numa-node", o.pin);
  c.pin = *pin;
  const auto transport = parse_transport(o.transport);
  if (!transport) return fmt::format("--transport '{}' is not {}", o.transport, kTransportNames);
  c.transport = *transport;
  if (o.cluster.wanted()) {
    if (c.transport != TransportKind::Shm)
      return "a cluster run moves messages through shm within a host and TCP between hosts (leave --transport out)";
    if (auto e = o.cluster.check(); !e.empty()) return e;
    c.cluster = true;
  }
  if (auto e = c.check(); !e.empty()) return e;
  return std::nullopt;
}

std::string make_results_dir(const std::string& root, const std::string& name) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  std::string dir = fmt::format("{}/{}-{}", root, stamp, name);
  for (int i = 2; std::filesystem::exists(dir); ++i) dir = fmt::format("{}/{}-{}-{}", root, stamp, name, i);
  std::filesystem::create_directories(dir);
  return dir;
}

std::optional<std::string> check_json_path(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (path.empty()) return std::nullopt;
  const fs::path json(path);
  const fs::path folder = json.has_parent_path() ? json.parent_path() : fs::path(".");
  if (!fs::is_directory(folder, ec)) return fmt::format("--json {}: there is no folder {}", path, folder.string());
  if (fs::is_directory(json, ec)) return fmt::format("--json {} is a folder", path);
  if (::access(folder.c_str(), W_OK) != 0) return fmt::format("--json {}: cannot write in {}", path, folder.string());
  return std::nullopt;
}

std::optional<std::string> check_output_paths(const RunOptions& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (auto err = check_json_path(o.json_path)) return err;
  fs::create_directories(o.results_root, ec);
  if (ec) return fmt::format("--results {}: cannot create it: {}", o.results_root, ec.message());
  if (::access(o.results_root.c_str(), W_OK) != 0) return fmt::format("--results {}: cannot write in it", o.results_root);
  return std::nullopt;
}

int run_command(RunOptions& o, const std::string& disco_exe, const std::string& command_line) {
  MachineConfig& c = o.config;
  const bool guest = o.guest.wanted();
  const auto refuse = [](const std::string& why) {
    fmt::print(stderr, "disco: {}\n", why);
    return 2;
  };
  // Everything that can be checked before anything exists: the VMs, the machine they need, the
  // output paths.
  ResolvedGuests guests;
  if (guest) {
    // A guest's clock defaults to 100 MHz: guest seconds spent polling the RTC cost instructions.
    if (auto e = plan_guests(o.guest, o.cpu_mhz_given ? c.shape.timing.cpu_mhz : 100, c.shape.geometry.nodes, guests))
      return refuse(*e);
    // Without --mem-per-node each node gets what its VMs need.
    if (!o.mem_per_node_given) c.shape.geometry.mem_per_node = guest_memory_per_node(guests.monitor, c.shape.geometry.nodes);
    std::string e = c.check();
    if (e.empty()) e = check(guests.monitor, c.shape.geometry);
    if (!e.empty()) return refuse(e);
  }
  if (auto e = check_output_paths(o)) return refuse(*e);
  // The machine's memory and, over shm, every node's inbox of rings.
  const uint64_t rings = c.transport == TransportKind::Shm
                             ? uint64_t{c.shape.geometry.nodes} *
                                   ShmTransport::inbox_bytes(c.shape.geometry.nodes, kFirstPcpuPort + c.shape.pcpus)
                             : 0;
  if (const std::string e = check_shm_room(c.shape.geometry.total_bytes() + rings); !e.empty()) return refuse(e);

  sweep_stale_runs();
  c.run_id = make_run_id();
  const std::string dir = make_results_dir(
      o.results_root, !o.name.empty() ? o.name : guest ? std::string("guest") : std::string(name(c.workload.kind)));
  std::ofstream(dir + "/command.txt") << command_line << "\n";
  std::string console_path;  // the console streamed to the terminal, if any
  if (guest) {
    if (auto e = prepare_guests(o.guest, dir, guests)) return refuse(*e);
    for (const VmConfig& vm : guests.monitor.vms) std::ofstream(vm.console_path, std::ios::trunc).flush();
    if (guests.streamed >= 0) console_path = guests.monitor.vms[guests.streamed].console_path;
    c.guest = to_json(guests.monitor);
  }

  const auto& g = c.shape.geometry;
  fmt::print("disco: {} nodes x {} pcpus, {} MiB per node, {} B lines, {} KiB {}-way cache per node, {}\n",
             g.nodes, c.shape.pcpus, g.mem_per_node >> 20, g.line_bytes, c.shape.cache.size_bytes >> 10,
             c.shape.cache.ways, c.cluster ? std::string("shm within a host, tcp between hosts") : o.transport + " transport");
  if (guest) {
    const VmConfig& vm = guests.monitor.vms[0];
    if (vm.mode == VmMode::Bare)
      fmt::print("guest (bare): {}{}, {} MiB placed {}, append '{}'\n", vm.kernel, vm.initrd.empty() ? "" : " + " + vm.initrd,
                 vm.ram_bytes >> 20, name(vm.placement), vm.append);
    else
      fmt::print("guests: {} VMs under the Disco monitor, {} MiB each, {}{}, append '{}'; tlb switch {}, quantum {} us\n",
                 guests.monitor.vms.size(), vm.ram_bytes >> 20, vm.kernel, vm.initrd.empty() ? "" : " + " + vm.initrd,
                 vm.append, mips::name(guests.monitor.sched.tlb_switch), guests.monitor.sched.quantum_us);
  } else {
    fmt::print("workload {}: {} ops per pcpu, {} lines, seed {}\n", name(c.workload.kind), c.workload.ops,
               c.workload.lines, c.workload.seed);
  }
  if (c.cluster) {
    fmt::print("  nodes started by {} (shm within a host, TCP between hosts)\n", o.cluster.describe());
  } else {
    const PinPlan plan = plan_pinning(c.pin, g.nodes);
    for (size_t i = 0; i < plan.node_places.size(); ++i)
      fmt::print("  node {:>2} -> {}\n", i, plan.node_places[i]);
  }
  std::fflush(stdout);

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  // The streamed console reaches the terminal as the file grows (--quiet: only the file).
  std::ifstream console_in;
  std::function<void()> follow_console;
  if (!console_path.empty() && !o.quiet) {
    follow_console = [&] {
      if (!console_in.is_open()) console_in.open(console_path, std::ios::binary);
      char buf[4096];
      for (;;) {
        console_in.clear();
        console_in.read(buf, sizeof buf);
        const std::streamsize n = console_in.gcount();
        if (n <= 0) break;
        std::fwrite(buf, 1, static_cast<size_t>(n), stdout);
      }
      std::fflush(stdout);
    };
  }
  // --interactive: keystrokes to the guest; Ctrl-A x stops the run like Ctrl-C would.
  std::optional<TerminalInput> terminal;
  bool user_quit = false;
  std::function<void()> tick = follow_console;
  if (guest && guests.streamed >= 0 && !guests.monitor.vms[guests.streamed].input_fifo.empty()) {
    terminal.emplace(guests.monitor.vms[guests.streamed].input_fifo);
    tick = [&] {
      if (follow_console) follow_console();
      if (terminal->poll() && !user_quit) {
        user_quit = true;
        g_interrupted.store(true);
      }
    };
  }
  // Progress lines, unless a console has the terminal.
  const RunOutcome run =
      run_machine({c, dir, disco_exe, !o.quiet && !follow_console, tick, o.timeout_s, o.cluster}, g_interrupted);
  if (follow_console) follow_console();
  terminal.reset();  // the terminal is the user's again before the summary prints
  const nlohmann::json summary = summarize(c, run, dir);
  for (const auto& nj : run.nodes)
    std::ofstream(fmt::format("{}/node{}-stats.json", dir, nj.value("node", 0u))) << nj.dump(2) << "\n";
  std::ofstream(dir + "/summary.json") << summary.dump(2) << "\n";
  if (!o.json_path.empty()) std::ofstream(o.json_path) << summary.dump(2) << "\n";
  print_summary(summary);
  if (user_quit) return 0;
  if (g_interrupted.load()) return 130;
  return summary_ok(summary) ? 0 : 1;
}

}  // namespace disco
