#include "node/node_process.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <initializer_list>
#include <thread>
#include <zmq.hpp>

#include "interconnect/connection_guard.h"
#include "interconnect/control.h"
#include "interconnect/host_routed_transport.h"
#include "interconnect/outward_address.h"
#include "interconnect/shm_transport.h"
#include "interconnect/zmq_transport.h"
#include "shm/host_map.h"
#include "shm/machine_memory.h"
#include "shm/segment.h"

namespace disco {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kRendezvousTimeoutMs = 60000;
constexpr size_t kHotPagesReported = 16;

class ControlLink {
 public:
  ControlLink(zmq::context_t& ctx, NodeId self, const std::string& endpoint, const ConnectionGuard* guard)
      : sock_(ctx, zmq::socket_type::dealer) {
    sock_.set(zmq::sockopt::linger, 1000);
    sock_.set(zmq::sockopt::routing_id, fmt::format("n{}", self));
    if (guard) guard->connect_with(sock_);
    sock_.connect(endpoint);
  }
  void send(const ControlMsg& m) {
    const std::vector<uint8_t> bytes = encode_control(m);
    sock_.send(zmq::buffer(bytes), zmq::send_flags::none);
  }
  // The next valid control message, or nullopt after timeout_ms.
  std::optional<ControlMsg> recv(int timeout_ms) {
    zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0) return std::nullopt;  // EINTR too
    zmq::message_t msg;
    if (!sock_.recv(msg, zmq::recv_flags::dontwait)) return std::nullopt;
    return decode_control({static_cast<const uint8_t*>(msg.data()), msg.size()}, drops_);
  }
  // Waits for a message of `kind`; Stop or timeout -> nullopt.
  std::optional<ControlMsg> expect(ControlMsg::Kind kind, int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      auto m = recv(100);
      if (!m) continue;
      if (m->kind == kind) return m;
      if (m->kind == ControlMsg::Kind::Stop) return std::nullopt;
    }
    return std::nullopt;
  }

 private:
  zmq::socket_t sock_;
  DropCounters drops_;
};

nlohmann::json stats_json(Node& node, const NodeShape& shape, const std::vector<WorkloadResult>& results,
                          const DropCounters& drops, uint64_t refused_connections, const std::string& place,
                          double host_seconds, const NodeProgram* program) {
  nlohmann::json j;
  if (program != nullptr) j["program"] = program->report();
  j["node"] = node.id();
  j["place"] = place;
  j["host_seconds"] = host_seconds;
  nlohmann::json pcpus = nlohmann::json::array();
  for (PcpuId p = 0; p < shape.pcpus; ++p) {
    nlohmann::json pj;
    for_each_counter(node.pcpu_stats(p), kPcpuCounters,
                     [&](std::string_view n, std::string_view, uint64_t v) { pj[std::string(n)] = v; });
    pj["virtual_ps"] = node.pcpu_stats(p).virtual_ps(shape.timing.access_ps());
    pj["ops"] = results[p].ops;
    pj["checker_errors"] = results[p].checker_errors;
    pj["first_errors"] = results[p].first_errors;
    if (!results[p].report.is_null()) pj["guest"] = results[p].report;
    pcpus.push_back(pj);
  }
  j["pcpus"] = pcpus;
  nlohmann::json nj;
  nlohmann::json described;
  for_each_counter(node.stats(), kNodeCounters, [&](std::string_view n, std::string_view d, uint64_t v) {
    nj[std::string(n)] = v;
    described[std::string(n)] = d;
  });
  for (const auto& c : kPcpuCounters) described[std::string(c.name)] = c.description;
  j["counter_descriptions"] = described;
  j["node_stats"] = nj;
  nlohmann::json dj;
  for (unsigned r = 0; r < kDropReasons; ++r)
    dj[std::string(name(static_cast<DropReason>(r)))] = drops.count(static_cast<DropReason>(r));
  j["drops"] = dj;
  j["refused_connections"] = refused_connections;
  // The pages of this home that missed most, with who missed them (the hot-page policy's input).
  const std::vector<uint32_t> counts = node.directory().page_miss_counts();
  const uint32_t nodes = shape.geometry.nodes;
  std::vector<std::pair<uint64_t, uint64_t>> totals;  // (misses, local page)
  for (uint64_t page = 0; page * nodes < counts.size(); ++page) {
    uint64_t t = 0;
    for (uint32_t r = 0; r < nodes; ++r) t += counts[page * nodes + r];
    if (t) totals.emplace_back(t, page);
  }
  std::partial_sort(totals.begin(), totals.begin() + std::min(totals.size(), kHotPagesReported), totals.end(),
                    std::greater<>());
  nlohmann::json hot = nlohmann::json::array();
  for (size_t i = 0; i < std::min(totals.size(), kHotPagesReported); ++i) {
    const uint64_t page = totals[i].second;
    hot.push_back({{"machine_page", node.id() * shape.geometry.mem_per_node / kPageBytes + page},
                   {"misses_by_node", std::vector<uint32_t>(counts.begin() + page * nodes,
                                                            counts.begin() + (page + 1) * nodes)}});
  }
  j["hot_pages"] = hot;
  PcpuLatency sum;
  for (PcpuId p = 0; p < shape.pcpus; ++p) {
    const PcpuLatency& l = node.pcpu_latency(p);
    sum.local.merge(l.local);
    sum.remote_2hop.merge(l.remote_2hop);
    sum.remote_3hop.merge(l.remote_3hop);
    sum.transport_rtt.merge(l.transport_rtt);
    for (unsigned k = 0; k < PcpuLatency::kFanouts; ++k) sum.by_fanout[k].merge(l.by_fanout[k]);
  }
  nlohmann::json lat = {{"local_miss", sum.local.to_json()},
                        {"remote_2hop", sum.remote_2hop.to_json()},
                        {"remote_3hop", sum.remote_3hop.to_json()},
                        {"transport_rtt", sum.transport_rtt.to_json()}};
  for (unsigned k = 1; k < PcpuLatency::kFanouts; ++k)
    if (sum.by_fanout[k].count())
      lat[k + 1 < PcpuLatency::kFanouts ? fmt::format("invalidate_{}", k) : fmt::format("invalidate_{}_or_more", k)] =
          sum.by_fanout[k].to_json();
  j["latency_histograms"] = lat;
  return j;
}

// The counter workload's counters of this node's home, read through pcpu 0's port once every
// pcpu of the machine is done: a coherent load fetches a value another node's cache holds dirty
// (on another host, the home's memory is not current). Empty if a load failed (a peer is down).
std::vector<uint64_t> read_home_counters(Node& node, const MachineGeometry& g, NodeId self) {
  static_assert(kCountersPerNode <= kMaxCounterValues);
  std::vector<uint64_t> values(kCountersPerNode);
  for (uint32_t c = 0; c < kCountersPerNode; ++c)
    if (!node.port(0).load(counter_addr(g, self, c), values[c])) return {};
  return values;
}

// The value of the first of `vars` the environment sets (the launch engines name the same fact
// differently: Open MPI, PMIx, Slurm), or nullptr.
const char* first_env(std::initializer_list<const char*> vars) {
  for (const char* var : vars)
    if (const char* v = std::getenv(var)) return v;
  return nullptr;
}

}  // namespace

NodeId node_id_from(const std::string& given) {
  std::string text = given;
  if (given == "rank") {
    const char* rank = first_env({"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID"});
    text = rank != nullptr ? rank : "";
    if (text.empty()) throw std::runtime_error("--node rank: no rank in the environment (not started by mpirun or srun)");
  }
  uint32_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id >= kMaxNodes)
    throw std::runtime_error(fmt::format("--node {}: '{}' is not a node number", given, text));
  return static_cast<NodeId>(id);
}

void log_to(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    spdlog::warn("cannot write the node log {}: {}; logging here", path, std::strerror(errno));
    return;
  }
  ::dup2(fd, STDOUT_FILENO);
  ::dup2(fd, STDERR_FILENO);
  ::close(fd);
}

int run_node_process(const NodeProcessArgs& args, const NodeProgramFactory& make_program) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the launcher
  const MachineConfig& cfg = args.config;
  const NodeShape& shape = cfg.shape;
  const NodeId self = args.self;
  // On a cluster a node takes the core of its rank among its host's ranks.
  NodeId pin_as = self;
  if (const char* local = cfg.cluster ? first_env({"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"}) : nullptr)
    pin_as = static_cast<NodeId>(std::min<unsigned long>(std::strtoul(local, nullptr, 10), self));
  const std::string place = pin_self(cfg.pin, pin_as, shape.geometry.nodes);

  MachineMemory memory(shape.geometry, cfg.run_id);
  memory.create(self);
  zmq::context_t ctx(1);
  // Before every socket it guards, and destroyed after them.
  std::unique_ptr<ConnectionGuard> guard;
  if (!args.key_file.empty()) {
    guard = std::make_unique<ConnectionGuard>(ctx, RunKey::read(args.key_file));
  } else if (cfg.cluster) {
    const char* secret = std::getenv(kRunKeyEnv);
    if (secret == nullptr) throw std::runtime_error(fmt::format("a cluster node needs the run's key in {}", kRunKeyEnv));
    guard = std::make_unique<ConnectionGuard>(ctx, RunKey::from_secret(secret));
    ::unsetenv(kRunKeyEnv);
  }
  DropCounters drops;
  const uint32_t ports = kFirstPcpuPort + shape.pcpus;
  std::unique_ptr<ZmqTransport> zmq_transport;
  std::unique_ptr<ShmTransport> shm_transport;
  std::unique_ptr<HostRoutedTransport> routed;
  std::vector<std::string> endpoints;
  std::string host = "localhost";
  if (cfg.cluster) {
    // Rings to the nodes of this host, TCP to the others, bound where the launcher's host reaches.
    shm_transport = std::make_unique<ShmTransport>(cfg.run_id, self, shape.geometry.nodes, ports, drops,
                                                   ShmTransport::Waiting::Yield);
    shm_transport->bind();
    zmq_transport = std::make_unique<ZmqTransport>(ctx, self, ports, guard.get());
    endpoints = zmq_transport->bind("tcp://" + outward_address(tcp_endpoint_host(args.control_endpoint)));
    host = this_host_identity();
  } else if (cfg.transport == TransportKind::Shm) {
    // Spinning pays only while every pcpu of the run has a core of its own (the engines are
    // mostly asleep, or answering the pcpus that wait).
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const bool own_cores = cores > 0 && uint64_t{shape.geometry.nodes} * shape.pcpus <= static_cast<uint64_t>(cores);
    shm_transport = std::make_unique<ShmTransport>(cfg.run_id, self, shape.geometry.nodes, ports, drops,
                                                   own_cores ? ShmTransport::Waiting::Spin : ShmTransport::Waiting::Yield);
    endpoints = shm_transport->bind();
  } else {
    zmq_transport = std::make_unique<ZmqTransport>(ctx, self, ports, guard.get());
    endpoints = zmq_transport->bind(cfg.transport == TransportKind::Ipc ? "ipc://" + args.socket_dir : "tcp://" + cfg.tcp_host);
  }
  ControlLink control(ctx, self, args.control_endpoint, guard.get());
  ControlMsg hello{.kind = ControlMsg::Kind::Hello, .node = self};
  hello.endpoints = {.node = self, .pid = static_cast<uint32_t>(getpid()), .host = host, .ports = endpoints};
  control.send(hello);

  auto table = control.expect(ControlMsg::Kind::PeerTable, kRendezvousTimeoutMs);
  if (!table || table->peers.size() != shape.geometry.nodes) {
    spdlog::error("node {}: no usable peer table from the launcher", self);
    return 1;
  }
  const uint32_t nodes = shape.geometry.nodes;
  std::vector<std::vector<std::string>> by_node(nodes);
  std::vector<std::string> host_of(nodes);
  for (const NodeEndpoints& e : table->peers)
    if (e.node < nodes) {
      by_node[e.node] = e.ports;
      host_of[e.node] = e.host;
    }
  NodeShape here = shape;  // with the run's host map
  if (cfg.cluster) {
    here.hosts = HostMap(host_of);
    std::vector<std::vector<std::string>> local(nodes), remote(nodes);
    for (NodeId n = 0; n < nodes; ++n)
      if (here.hosts.same_host(self, n))
        local[n] = ShmTransport::endpoints(cfg.run_id, n, ports);
      else
        remote[n] = by_node[n];
    shm_transport->connect(local);
    zmq_transport->connect(remote);
    routed = std::make_unique<HostRoutedTransport>(self, here.hosts, ports, *shm_transport, *zmq_transport, drops);
    spdlog::info("node {}: {} hosts; this one ({}) holds {} of the {} nodes", self, here.hosts.hosts(), host,
                 std::count(host_of.begin(), host_of.end(), host), nodes);
  } else if (shm_transport) {
    shm_transport->connect(by_node);
  } else {
    zmq_transport->connect(by_node);
  }
  Transport& transport = routed ? static_cast<Transport&>(*routed)
                         : shm_transport ? static_cast<Transport&>(*shm_transport)
                                         : *zmq_transport;
  memory.open_all(here.hosts, self);

  Node node(self, here, memory.base(), transport, drops);
  // The program takes its messages from the first one on: a peer may ask it for pages at once.
  std::unique_ptr<NodeProgram> program;
  if (make_program) program = make_program({.config = cfg, .self = self, .node = node, .machine_base = memory.base()});
  if (program) node.set_monitor_service(program->monitor_service());
  node.start_engine();
  control.send({.kind = ControlMsg::Kind::Ready, .node = self});
  if (!control.expect(ControlMsg::Kind::Start, kRendezvousTimeoutMs)) {
    node.stop();
    node.stop_engine();  // before the program it serves goes
    return 0;  // stopped before the start (another node failed): nothing to report
  }

  // Every node of this host has mapped every segment it needs (each did before its Ready): the
  // names can go now, so that nothing of the run outlives it on a host the launcher cannot clean.
  if (cfg.cluster) remove_run_segments(cfg.run_id, nodes);
  const auto t0 = Clock::now();
  std::atomic<bool> stop{false};
  std::atomic<uint32_t> finished{0};
  std::vector<WorkloadResult> results(shape.pcpus);
  // When each pcpu ended: the node's host time runs to the last, not to when this thread, which
  // looks up from its control socket every 20 ms, noticed (most of a short run's time).
  std::vector<Clock::time_point> ended(shape.pcpus, t0);
  std::vector<std::thread> pcpus;
  for (PcpuId p = 0; p < shape.pcpus; ++p)
    pcpus.emplace_back([&, p] {
      const PcpuPlace where{self, p, shape.pcpus};
      results[p] = program ? program->run_pcpu({cfg, where, node.port(p), node.pcpu_stats(p), memory.base(), stop})
                           : run_workload(cfg.workload, shape.geometry, where, node.port(p), stop);
      ended[p] = Clock::now();
      finished.fetch_add(1);
    });

  bool reported = false, stopped = false;
  auto report = [&] {
    for (auto& t : pcpus)
      if (t.joinable()) t.join();
    Clock::time_point last = t0;
    for (const auto& e : ended) last = std::max(last, e);
    const double secs = std::chrono::duration<double>(last - t0).count();
    control.send({.kind = ControlMsg::Kind::Stats, .node = self,
                  .json = stats_json(node, shape, results, drops, guard ? guard->refused() : 0, place, secs,
                                     program.get()).dump()});
    reported = true;
  };
  auto next_beat = Clock::now();
  while (!stopped) {
    if (!reported && finished.load() == shape.pcpus) report();
    if (Clock::now() >= next_beat) {
      uint64_t accesses = 0, vps = 0;
      for (PcpuId p = 0; p < shape.pcpus; ++p) {
        accesses += node.pcpu_stats(p).accesses();
        vps = std::max(vps, node.pcpu_stats(p).virtual_ps(shape.timing.access_ps()));
      }
      const GuestProgress guests = program ? program->progress() : GuestProgress{};
      control.send({.kind = ControlMsg::Kind::Heartbeat, .node = self, .ops_done = accesses, .virtual_ns = vps / 1000,
                    .vms = guests.vms, .vms_up = guests.up, .vms_ended = guests.ended,
                    .guest_instructions = guests.instructions});
      next_beat = Clock::now() + std::chrono::milliseconds(cfg.heartbeat_ms);
    }
    auto m = control.recv(20);
    if (!m) continue;
    if (m->kind == ControlMsg::Kind::PeerDown) {
      spdlog::warn("node {}: node {} is down ({}); requests to it now fail", self, m->node, m->reason);
      node.peer_down(m->node);
    } else if (m->kind == ControlMsg::Kind::Stop) {
      stopped = true;
    } else if (m->kind == ControlMsg::Kind::Collect && reported) {
      control.send({.kind = ControlMsg::Kind::Counters, .node = self,
                    .values = read_home_counters(node, shape.geometry, self)});
    }
  }
  stop = true;
  node.stop();
  node.stop_engine();
  // The final report, after the engine stopped: it replaces the one sent when the pcpus
  // finished and counts what arrived since (late drops, the last forwards served).
  report();
  return 0;
}

}  // namespace disco
