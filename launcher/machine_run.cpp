#include "launcher/machine_run.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <zmq.hpp>

#include "interconnect/connection_guard.h"
#include "interconnect/control.h"
#include "launcher/cluster_launch.h"
#include "node/workloads.h"
#include "shm/sanitized.h"
#include "shm/segment.h"

namespace disco {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kRendezvousSeconds = 60;
// A run's ipc sockets live in /tmp/disco-<run id>/.
constexpr std::string_view kSocketParent = "/tmp";
constexpr std::string_view kSocketDirStem = "disco-";
// How long stopped nodes have to exit: processes ending on few cores take turns. A sanitizer's
// exit is slower: the leak check stops every thread of the node and scans its heap (128 nodes
// under AddressSanitizer took 13 s on 2 cores, 3 s uninstrumented), and a node that mapped a
// machine's memory unmaps its shadow too (a 4-node TSan boot beside another test outlasted 6 s).
constexpr int kStopGraceMs = kSanitized ? 15000 : 5000, kStopGracePerNodeMs = kSanitized ? 250 : 50;

// A run's host time: the nodes' own measure, from Start to their last pcpu's end, as the slowest
// node saw it. The launcher's clock would add the reports' way here and up to the 20 ms a node
// takes to notice its pcpus are done, most of a short run's time; it stays the answer where a
// report lacks the figure or claims more than the launcher saw.
double run_host_seconds(const std::vector<nlohmann::json>& reports, double launcher_seconds) {
  double slowest = 0;
  for (const nlohmann::json& r : reports) {
    const auto it = r.find("host_seconds");
    if (it == r.end() || !it->is_number()) return launcher_seconds;
    slowest = std::max(slowest, it->get<double>());
  }
  return slowest > 0 && slowest <= launcher_seconds ? slowest : launcher_seconds;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return "stopped";
}

// The node processes of a run and their exit statuses.
class NodeProcesses {
 public:
  ~NodeProcesses() { kill_all(SIGKILL); reap_all(0); }

  // `env`: NAME=value strings added to the child's environment (a secret never goes in argv).
  pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path,
              const std::vector<std::string>& env = {}) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(fmt::format("cannot start a node process: {}", strerror(errno)));
    if (pid == 0) {
      setpgid(0, 0);  // Ctrl-C reaches the launcher only; it stops the nodes cleanly
      const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
      }
      for (const std::string& e : env) ::putenv(const_cast<char*>(e.c_str()));
      execv(args[0], args.data());
      _exit(127);
    }
    pids_.push_back(pid);
    status_.push_back(-1);
    return pid;
  }

  // The first node that has exited since the last call, or -1.
  int poll_exit() {
    for (size_t i = 0; i < pids_.size(); ++i) {
      if (status_[i] != -1) continue;
      int st;
      if (waitpid(pids_[i], &st, WNOHANG) == pids_[i]) {
        status_[i] = st;
        return static_cast<int>(i);
      }
    }
    return -1;
  }
  bool exited(size_t i) const { return status_[i] != -1; }
  int status(size_t i) const { return status_[i]; }
  pid_t pid(size_t i) const { return pids_[i]; }

  void kill_all(int sig) {
    for (size_t i = 0; i < pids_.size(); ++i)
      if (status_[i] == -1) kill(pids_[i], sig);
  }
  // Waits up to timeout_ms for every node to exit; true if all did.
  bool reap_all(int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      bool all = true;
      for (size_t i = 0; i < pids_.size(); ++i) {
        if (status_[i] != -1) continue;
        int st;
        if (waitpid(pids_[i], &st, WNOHANG) == pids_[i])
          status_[i] = st;
        else
          all = false;
      }
      if (all || Clock::now() >= deadline) return all;
      usleep(10000);
    }
  }

 private:
  std::vector<pid_t> pids_;
  std::vector<int> status_;
};

class ControlPlane {
 public:
  ControlPlane(zmq::context_t& ctx, const std::string& endpoint, ConnectionGuard* guard)
      : sock_(ctx, zmq::socket_type::router) {
    sock_.set(zmq::sockopt::linger, 0);
    sock_.set(zmq::sockopt::router_mandatory, 1);
    if (guard) guard->listen_with(sock_);
    sock_.bind(endpoint);
  }
  std::string endpoint() { return sock_.get(zmq::sockopt::last_endpoint); }
  void send(NodeId n, const ControlMsg& m) {
    const std::vector<uint8_t> bytes = encode_control(m);
    const std::string id = fmt::format("n{}", n);
    try {
      sock_.send(zmq::buffer(id), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      sock_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {  // that node is gone: its exit is reported elsewhere
    }
  }
  std::optional<ControlMsg> recv(int timeout_ms) {
    zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0) return std::nullopt;  // EINTR too: the caller checks `interrupted`
    zmq::message_t id, body;
    if (!sock_.recv(id, zmq::recv_flags::dontwait)) return std::nullopt;
    if (!id.more() || !sock_.recv(body, zmq::recv_flags::dontwait)) return std::nullopt;
    while (body.more() && sock_.recv(body, zmq::recv_flags::dontwait)) {
    }  // extra frames: not ours
    return decode_control({static_cast<const uint8_t*>(body.data()), body.size()}, drops_);
  }

 private:
  zmq::socket_t sock_;
  DropCounters drops_;
};

std::string human_rate(double per_second) {
  if (per_second >= 1e6) return fmt::format("{:.2f}M", per_second / 1e6);
  if (per_second >= 1e3) return fmt::format("{:.1f}k", per_second / 1e3);
  return fmt::format("{:.0f}", per_second);
}

}  // namespace

void sweep_stale_runs() {
  sweep_stale_segments();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(kSocketParent, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(kSocketDirStem) || !entry.is_directory(ec)) continue;
    const std::string run_id = name.substr(kSocketDirStem.size());
    if (!run_is_stale(run_id)) continue;
    std::filesystem::remove_all(entry.path(), ec);
    spdlog::info("removed the socket folder of run {}: its launcher is gone", run_id);
  }
}

RunOutcome run_machine(const RunRequest& req, const std::atomic<bool>& interrupted) {
  const MachineConfig& cfg = req.config;
  const uint32_t n = cfg.shape.geometry.nodes;
  RunOutcome out;
  const std::string socket_dir = fmt::format("{}/{}{}", kSocketParent, kSocketDirStem, cfg.run_id);
  // Owner-only, and ours: a folder someone planted at that name is not used.
  if (::mkdir(socket_dir.c_str(), 0700) != 0)
    throw std::runtime_error(fmt::format("cannot create the run's socket folder {}: {}", socket_dir, std::strerror(errno)));
  const std::string config_path = req.results_dir + "/effective-config.json";
  std::ofstream(config_path) << to_json(cfg).dump(2) << "\n";
  // With tcp the control socket takes a free port and the nodes are told which; with shm the
  // control plane stays on ZeroMQ over ipc (it carries no coherence traffic). A cluster's nodes
  // reach it over TCP at the address the other hosts route to.
  const bool cluster = cfg.cluster;
  const bool over_tcp = cluster || cfg.transport == TransportKind::Tcp;
  const std::string control_bind =
      cluster ? fmt::format("tcp://{}:*", control_address(req.cluster.hosts()))
      : over_tcp ? fmt::format("tcp://{}:*", cfg.tcp_host)
                 : fmt::format("ipc://{}/control", socket_dir);

  struct Cleanup {  // segments and sockets never outlive the run, whatever path it leaves by
    const MachineConfig& cfg;
    std::string dir;
    ~Cleanup() {
      remove_run_segments(cfg.run_id, cfg.shape.geometry.nodes);
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{cfg, socket_dir};

  zmq::context_t ctx(1);
  // A TCP run listens where anyone on the network may knock: every socket of the run, the
  // launcher's and the nodes', speaks CURVE with a key made for this run, which the nodes read
  // from an owner-only file in the run's owner-only folder.
  std::unique_ptr<ConnectionGuard> guard;
  std::vector<std::string> key_flag, key_env;
  if (over_tcp) {
    const RunKey key = RunKey::generate();
    guard = std::make_unique<ConnectionGuard>(ctx, key);
    if (cluster) {
      key_env = {fmt::format("{}={}", kRunKeyEnv, key.secret_z85)};  // the engine takes it to every host
    } else {
      const std::string key_path = socket_dir + "/run.key";
      key.write(key_path);
      key_flag = {"--key-file", key_path};
    }
  }
  ControlPlane control(ctx, control_bind, guard.get());
  const std::string control_ep = control.endpoint();
  // A cluster run's one child is its launch engine (process 0: mpirun or srun), which starts and
  // watches every node; the launcher knows a node by its hello (its pid is on another host) and
  // its heartbeats.
  const std::string engine = req.cluster.engine();
  NodeProcesses procs;
  if (cluster) {
    procs.spawn(req.cluster.argv(n, {req.disco_exe, "node", "--config", config_path, "--node", "rank", "--control",
                                     control_ep, "--socket-dir", socket_dir, "--log-dir", req.results_dir}),
                fmt::format("{}/{}.log", req.results_dir, engine), key_env);
  } else {
    for (NodeId i = 0; i < n; ++i) {
      std::vector<std::string> argv{req.disco_exe, "node", "--config", config_path, "--node", std::to_string(i),
                                    "--control", control_ep, "--socket-dir", socket_dir};
      argv.insert(argv.end(), key_flag.begin(), key_flag.end());
      procs.spawn(argv, fmt::format("{}/node{}.log", req.results_dir, i));
    }
  }
  auto running = [&](NodeId i) { return !procs.exited(cluster ? 0 : i); };

  enum class Phase { Hello, Ready, Running, Collecting, Stopping };
  Phase phase = Phase::Hello;
  std::vector<ControlMsg> hellos(n);
  std::vector<bool> said_hello(n, false), ready(n, false), reported(n, false), collected(n, false);
  std::vector<uint64_t> accesses(n, 0), accesses_shown(n, 0), virtual_ns(n, 0);
  std::vector<ControlMsg> guests(n);  // each node's last heartbeat: its VMs' progress
  uint64_t guest_instructions_shown = 0;
  std::vector<Clock::time_point> last_beat(n, Clock::now());
  out.nodes.assign(n, nlohmann::json());
  uint32_t hellos_seen = 0, ready_seen = 0, reports_seen = 0, collected_seen = 0;
  std::vector<std::vector<uint64_t>> counters(n);
  // Where node i runs, for messages: its pid (and host, on a cluster) from its hello.
  auto where = [&](NodeId i) {
    if (!cluster) return fmt::format("pid {}", procs.pid(i));
    if (!said_hello[i]) return std::string("not yet heard from");
    return fmt::format("pid {} on host {}", hellos[i].endpoints.pid, hellos[i].endpoints.host);
  };
  const auto t_spawn = Clock::now();
  auto t_start = Clock::now();
  auto next_progress = t_start + std::chrono::seconds(1);
  std::string failure;

  // Keeps a node's report if it is a JSON object; false if it is not.
  auto take_report = [&](NodeId from, const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return false;
    out.nodes[from] = std::move(j);
    reported[from] = true;
    return true;
  };
  auto stop_all = [&](const std::string& reason) {
    for (NodeId i = 0; i < n; ++i) control.send(i, {.kind = ControlMsg::Kind::Stop, .reason = reason});
    phase = Phase::Stopping;
  };

  // Started: past the rendezvous, the nodes run (or their counters are being read).
  auto started = [&] { return phase == Phase::Running || phase == Phase::Collecting; };
  while (phase != Phase::Stopping) {
    if (interrupted.load()) {
      failure = "interrupted";
      stop_all(failure);
      break;
    }
    if (const int dead = procs.poll_exit(); dead >= 0) {
      if (cluster) {
        // The engine ends the job when a node or a host is lost: name the node heard from least recently.
        NodeId quiet = 0;
        for (NodeId i = 1; i < n; ++i)
          if (last_beat[i] < last_beat[quiet]) quiet = i;
        failure = fmt::format("{} {} before the run ended (a node or its host was lost; the last heard from was "
                              "node {}, {}, {:.1f} s ago); its output: {}/{}.log",
                              engine, describe_status(procs.status(0)), quiet, where(quiet),
                              std::chrono::duration<double>(Clock::now() - last_beat[quiet]).count(), req.results_dir,
                              engine);
        stop_all(failure);
        break;
      }
      failure = fmt::format("node {} (pid {}) {} before the run ended; its log: {}/node{}.log", dead, procs.pid(dead),
                            describe_status(procs.status(dead)), req.results_dir, dead);
      for (NodeId i = 0; i < n; ++i)
        if (!procs.exited(i))
          control.send(i, {.kind = ControlMsg::Kind::PeerDown, .node = static_cast<NodeId>(dead), .reason = failure});
      stop_all(failure);
      break;
    }
    if (started()) {
      // A node that stopped sending heartbeats is stopped (SIGSTOP) or hung: as good as dead to
      // the others. It is killed at once: a stopped process would never answer the Stop.
      const auto now = Clock::now();
      for (NodeId i = 0; i < n && failure.empty(); ++i)
        if (running(i) && now - last_beat[i] > std::chrono::seconds(cfg.node_timeout_s)) {
          failure = fmt::format("node {} ({}) sent no heartbeat for {} s: stopped or hung (--node-timeout); its log: {}/node{}.log",
                                i, where(i), cfg.node_timeout_s, req.results_dir, i);
          // On a cluster the node is another host's process: its engine ends it with the job.
          ::kill(procs.pid(cluster ? 0 : i), cluster ? SIGTERM : SIGKILL);
          for (NodeId k = 0; k < n; ++k)
            if (k != i && running(k))
              control.send(k, {.kind = ControlMsg::Kind::PeerDown, .node = i, .reason = failure});
        }
      if (!failure.empty()) {
        stop_all(failure);
        break;
      }
    }
    if (started() && req.timeout_s && Clock::now() - t_start > std::chrono::seconds(req.timeout_s)) {
      failure = fmt::format("the run was stopped after {} s (--timeout)", req.timeout_s);
      stop_all(failure);
      break;
    }
    if (!started() && Clock::now() - t_spawn > std::chrono::seconds(kRendezvousSeconds)) {
      failure = fmt::format("the nodes did not meet within {} s ({} hello, {} ready of {})", kRendezvousSeconds,
                            hellos_seen, ready_seen, n);
      // Which one, and what it last said: its log's last line.
      for (NodeId i = 0; i < n; ++i)
        if (!said_hello[i]) {
          std::ifstream log(fmt::format("{}/node{}.log", req.results_dir, i));
          std::string line, last = "(its log is empty)";
          while (std::getline(log, line))
            if (!line.empty()) last = line;
          failure += fmt::format("; node {} ({}) said no hello, its log: {}", i, where(i), last);
          break;
        }
      stop_all(failure);
      break;
    }
    if (req.progress && phase == Phase::Running && Clock::now() >= next_progress) {
      // One line a second: the machine's rate, then each node's own rate since the last line
      // (its heartbeat), or how long it has been silent.
      const auto now = Clock::now();
      const double secs = std::chrono::duration<double>(now - t_start).count();
      uint64_t total = 0, vmax = 0;
      std::string per_node;
      for (NodeId i = 0; i < n; ++i) {
        total += accesses[i];
        vmax = std::max(vmax, virtual_ns[i]);
        const double silent = std::chrono::duration<double>(now - last_beat[i]).count();
        if (reported[i])
          per_node += " done";
        else if (silent > 2.0)
          per_node += fmt::format(" silent {:.0f}s", silent);
        else
          per_node += fmt::format(" {}", human_rate(static_cast<double>(accesses[i] - accesses_shown[i])));
        accesses_shown[i] = accesses[i];
      }
      if (cfg.guest.is_null()) {
        fmt::print(stderr, "[{:6.1f} s] {} accesses/s, virtual {:.3f} ms | per node:{}\n", secs,
                   human_rate(total / secs), vmax / 1e6, per_node);
      } else {
        // A guest run: its VMs, and how fast they execute.
        uint32_t vms = 0, up = 0, ended = 0;
        uint64_t instructions = 0;
        for (const ControlMsg& g : guests) {
          vms += g.vms;
          up += g.vms_up;
          ended += g.vms_ended;
          instructions += g.guest_instructions;
        }
        fmt::print(stderr, "[{:6.1f} s] VMs {} of {}: {} up, {} running, {} ended | {} guest instructions/s\n", secs,
                   vms, cfg.guest.value("vms", nlohmann::json::array()).size(), up, vms - ended, ended,
                   human_rate(static_cast<double>(instructions - guest_instructions_shown)));
        guest_instructions_shown = instructions;
      }
      next_progress += std::chrono::seconds(1);
    }
    if (req.each_tick) req.each_tick();
    std::optional<ControlMsg> m = control.recv(20);
    if (!m) continue;
    const NodeId from = m->kind == ControlMsg::Kind::Hello ? m->endpoints.node : m->node;
    if (from >= n) continue;
    switch (m->kind) {
      case ControlMsg::Kind::Hello:
        if (phase != Phase::Hello || said_hello[from]) break;
        said_hello[from] = true;
        hellos[from] = *m;
        if (++hellos_seen == n) {
          ControlMsg table{.kind = ControlMsg::Kind::PeerTable};
          for (const auto& h : hellos) table.peers.push_back(h.endpoints);
          for (NodeId i = 0; i < n; ++i) control.send(i, table);
          phase = Phase::Ready;
        }
        break;
      case ControlMsg::Kind::Ready:
        if (phase != Phase::Ready || ready[from]) break;
        ready[from] = true;
        if (++ready_seen == n) {
          t_start = Clock::now();
          next_progress = t_start + std::chrono::seconds(1);
          std::fill(last_beat.begin(), last_beat.end(), t_start);
          for (NodeId i = 0; i < n; ++i) control.send(i, {.kind = ControlMsg::Kind::Start});
          phase = Phase::Running;
        }
        break;
      case ControlMsg::Kind::Heartbeat:
        last_beat[from] = Clock::now();
        accesses[from] = m->ops_done;
        virtual_ns[from] = m->virtual_ns;
        guests[from] = *m;
        break;
      case ControlMsg::Kind::Stats: {
        if (reported[from]) break;
        if (!take_report(from, m->json)) {
          failure = fmt::format("node {} sent a report that is not JSON", from);
          stop_all(failure);
          break;
        }
        if (++reports_seen == n) {
          out.host_seconds = run_host_seconds(out.nodes, std::chrono::duration<double>(Clock::now() - t_start).count());
          if (cfg.workload.kind != WorkloadKind::Counter) {
            stop_all("done");
            break;
          }
          // Every pcpu is done; each home reads its counters through the protocol, as the final
          // values may sit dirty in a cache (on another host, nowhere else).
          for (NodeId i = 0; i < n; ++i) control.send(i, {.kind = ControlMsg::Kind::Collect});
          phase = Phase::Collecting;
        }
        break;
      }
      case ControlMsg::Kind::Counters:
        if (phase != Phase::Collecting || collected[from]) break;
        if (m->values.size() != kCountersPerNode) {
          failure = fmt::format("node {} could not read its home's counters", from);
          stop_all(failure);
          break;
        }
        collected[from] = true;
        counters[from] = m->values;
        if (++collected_seen == n) {
          for (const auto& home : counters) out.counter_finals.insert(out.counter_finals.end(), home.begin(), home.end());
          stop_all("done");
        }
        break;
      default:
        break;
    }
  }

  // The nodes answer Stop with their final report, which replaces the one they sent when their
  // pcpus finished; keep them also after a failure, so the survivors' counters are not lost.
  // A node that exits cleanly has sent that report first, but it may still be on its way here.
  const int grace_ms = kStopGraceMs + kStopGracePerNodeMs * static_cast<int>(n);
  const auto grace = Clock::now() + std::chrono::milliseconds(grace_ms);
  std::vector<bool> final_report(n, false);
  auto all_in = [&] {
    if (!procs.reap_all(0)) return false;
    for (NodeId i = 0; i < n; ++i) {
      const int st = procs.status(cluster ? 0 : i);
      if (!final_report[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0) return false;
    }
    return true;
  };
  while (Clock::now() < grace && !all_in()) {
    std::optional<ControlMsg> m = control.recv(1);  // short: a node's exit wakes no poll
    if (!m || m->kind != ControlMsg::Kind::Stats || m->node >= n) continue;
    if (take_report(m->node, m->json)) final_report[m->node] = true;
  }
  if (!procs.reap_all(0)) {
    // The engine, told by SIGTERM, ends its job on every host; SIGKILL would leave that to its daemons.
    if (cluster) procs.kill_all(SIGTERM);
    if (!cluster || !procs.reap_all(grace_ms)) procs.kill_all(SIGKILL);
    procs.reap_all(1000);
    if (failure.empty()) failure = fmt::format("a node did not stop within {:.1f} s and was killed", grace_ms / 1000.0);
  }
  if (cluster && failure.empty() && (!WIFEXITED(procs.status(0)) || WEXITSTATUS(procs.status(0)) != 0))
    failure = fmt::format("{} {}; its output: {}/{}.log", engine, describe_status(procs.status(0)), req.results_dir, engine);
  for (NodeId i = 0; i < n && failure.empty() && !cluster; ++i)
    if (!WIFEXITED(procs.status(i)) || WEXITSTATUS(procs.status(i)) != 0)
      failure = fmt::format("node {} {}; its log: {}/node{}.log", i, describe_status(procs.status(i)), req.results_dir, i);
  if (!failure.empty()) {
    // Keep only the reports that arrived.
    std::vector<nlohmann::json> got;
    for (auto& j : out.nodes)
      if (!j.is_null()) got.push_back(std::move(j));
    out.nodes = std::move(got);
  }
  out.ok = failure.empty();
  out.exit = out.ok ? "ok" : failure;
  out.curve = guard != nullptr;
  out.refused_connections = guard ? guard->refused() : 0;
  return out;
}

}  // namespace disco
