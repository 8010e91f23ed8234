#include "node/machine_config.h"

#include "node/strict_json.h"

#include <fmt/format.h>

#include <charconv>
#include <stdexcept>

namespace disco {
namespace {

using nlohmann::json;

}  // namespace

std::string MachineConfig::check() const {
  if (auto e = shape.geometry.check(); !e.empty()) return e;
  if (shape.pcpus == 0 || shape.pcpus > kMaxPcpusPerNode)
    return fmt::format("--cpus-per-node {}: must be 1..{}", shape.pcpus, kMaxPcpusPerNode);
  if (auto e = shape.cache.check(shape.geometry.line_bytes, shape.pcpus); !e.empty()) return e;
  if (auto e = shape.timing.check(); !e.empty()) return e;
  if (workload.lines == 0) return "--lines 0: the workload needs at least one line";
  const uint64_t need = kWorkloadAreaOffset + workload_bytes_per_node(workload, shape.geometry, shape.pcpus);
  if (need > shape.geometry.mem_per_node)
    return fmt::format("--lines {}: workload {} needs {} bytes per node, the nodes have {}", workload.lines,
                       name(workload.kind), need, shape.geometry.mem_per_node);
  if (heartbeat_ms == 0 || heartbeat_ms > 60000) return "heartbeat must be 1..60000 ms";
  if (node_timeout_s == 0 || node_timeout_s > 3600) return "--node-timeout must be 1..3600 s";
  if (uint64_t{node_timeout_s} * 1000 <= heartbeat_ms) return "--node-timeout must be longer than a heartbeat";
  return {};
}

json to_json(const MachineConfig& c) {
  const auto& s = c.shape;
  json j = {
      {"nodes", s.geometry.nodes},
      {"cpus_per_node", s.pcpus},
      {"mem_per_node", s.geometry.mem_per_node},
      {"line_bytes", s.geometry.line_bytes},
      {"cache", {{"size_bytes", s.cache.size_bytes}, {"ways", s.cache.ways}, {"filter_entries", s.cache.filter_entries}}},
      {"timing",
       {{"cpu_mhz", s.timing.cpu_mhz},
        {"cycles_per_access", s.timing.cycles_per_access},
        {"local_miss_ns", s.timing.local_miss_ns},
        {"remote_miss_ns", s.timing.remote_miss_ns},
        {"remote_dirty_ns", s.timing.remote_dirty_ns}}},
      {"workload",
       {{"name", name(c.workload.kind)}, {"ops", c.workload.ops}, {"lines", c.workload.lines}, {"seed", c.workload.seed}}},
      {"pin", name(c.pin)},
      {"transport", name(c.transport)},
      {"tcp_host", c.tcp_host},
      {"cluster", c.cluster},
      {"heartbeat_ms", c.heartbeat_ms},
      {"node_timeout_s", c.node_timeout_s},
      {"run_id", c.run_id},
  };
  if (!c.guest.is_null()) j["guest"] = c.guest;
  return j;
}

MachineConfig machine_config_from_json(const json& j) {
  MachineConfig c;
  auto& s = c.shape;
  StrictObject top(j, "config");
  top.get("nodes", s.geometry.nodes);
  top.get("cpus_per_node", s.pcpus);
  top.get("mem_per_node", s.geometry.mem_per_node);
  top.get("line_bytes", s.geometry.line_bytes);
  StrictObject cache(top.sub("cache"), "cache");
  cache.get("size_bytes", s.cache.size_bytes);
  cache.get("ways", s.cache.ways);
  cache.get("filter_entries", s.cache.filter_entries);
  cache.finish();
  StrictObject timing(top.sub("timing"), "timing");
  timing.get("cpu_mhz", s.timing.cpu_mhz);
  timing.get("cycles_per_access", s.timing.cycles_per_access);
  timing.get("local_miss_ns", s.timing.local_miss_ns);
  timing.get("remote_miss_ns", s.timing.remote_miss_ns);
  timing.get("remote_dirty_ns", s.timing.remote_dirty_ns);
  timing.finish();
  StrictObject w(top.sub("workload"), "workload");
  std::string wname(name(c.workload.kind));
  w.get("name", wname);
  w.get("ops", c.workload.ops);
  w.get("lines", c.workload.lines);
  w.get("seed", c.workload.seed);
  w.finish();
  const auto kind = parse_workload(wname);
  if (!kind) throw std::runtime_error(fmt::format("config: unknown workload '{}' (one of {})", wname, kWorkloadNames));
  c.workload.kind = *kind;
  std::string pin(name(c.pin)), transport(name(c.transport));
  top.get("pin", pin);
  top.get("transport", transport);
  top.get("tcp_host", c.tcp_host);
  top.get("cluster", c.cluster);
  top.get("heartbeat_ms", c.heartbeat_ms);
  top.get("node_timeout_s", c.node_timeout_s);
  top.get("run_id", c.run_id);
  top.get("guest", c.guest);  // checked by its owner (monitor/monitor.h)
  top.finish();
  const auto policy = parse_pin_policy(pin);
  if (!policy) throw std::runtime_error(fmt::format("config: pin '{}' is not none, core or numa-node", pin));
  c.pin = *policy;
  const auto kind_of_transport = parse_transport(transport);
  if (!kind_of_transport) throw std::runtime_error(fmt::format("config: transport '{}' is not {}", transport, kTransportNames));
  c.transport = *kind_of_transport;
  if (auto e = c.check(); !e.empty()) throw std::runtime_error("config: " + e);
  return c;
}

std::string_view name(TransportKind t) {
  switch (t) {
    case TransportKind::Shm: return "shm";
    case TransportKind::Ipc: return "ipc";
    case TransportKind::Tcp: return "tcp";
  }
  return "?";
}

std::optional<TransportKind> parse_transport(std::string_view s) {
  for (TransportKind t : {TransportKind::Shm, TransportKind::Ipc, TransportKind::Tcp})
    if (s == name(t)) return t;
  return std::nullopt;
}

std::optional<uint64_t> parse_size(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p == s.data()) return std::nullopt;
  const std::string_view unit(p, s.data() + s.size() - p);
  uint64_t mul = 1;
  if (unit.empty() || unit == "B") mul = 1;
  else if (unit == "KiB" || unit == "K" || unit == "k") mul = uint64_t{1} << 10;
  else if (unit == "MiB" || unit == "M") mul = uint64_t{1} << 20;
  else if (unit == "GiB" || unit == "G") mul = uint64_t{1} << 30;
  else if (unit == "TiB" || unit == "T") mul = uint64_t{1} << 40;
  else return std::nullopt;
  // At most a PiB: far above any limit, and the product cannot overflow.
  if (v > (uint64_t{1} << 50) / mul) return std::nullopt;
  return v * mul;
}

}  // namespace disco
