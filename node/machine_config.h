// The whole configuration of a run, as the launcher fills it (every default explicit) and
// writes it to effective-config.json; each node process reads that same file. Reading is
// strict: an unknown key, a wrong type or an impossible combination is a one-line error.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "node/host_pinning.h"
#include "node/node.h"
#include "node/workloads.h"

namespace disco {

// shm: rings in shared memory (nodes on one host; the default); ipc, tcp: ZeroMQ.
enum class TransportKind { Shm, Ipc, Tcp };
std::string_view name(TransportKind t);
std::optional<TransportKind> parse_transport(std::string_view s);
inline constexpr std::string_view kTransportNames = "shm, ipc or tcp";

struct MachineConfig {
  NodeShape shape;
  WorkloadSpec workload;
  PinPolicy pin = PinPolicy::Core;
  TransportKind transport = TransportKind::Shm;
  std::string tcp_host = "127.0.0.1";
  // Nodes on several hosts, started by mpirun or srun: the transport within a host, TCP (with the
  // run's key) between hosts, and the lines' bytes travel in the messages (node/line_data.h).
  bool cluster = false;
  uint32_t heartbeat_ms = 250;
  uint32_t node_timeout_s = 10;  // a running node silent this long is hung (or stopped): the run fails
  std::string run_id;  // names the segments and the socket folder of this run
  // The guests a run boots instead of a workload (owned and checked by monitor/monitor.h;
  // the node only carries it); null for a workload run.
  nlohmann::json guest;

  std::string check() const;  // empty when the configuration can run
};

nlohmann::json to_json(const MachineConfig& c);
// Throws std::runtime_error with a one-line message on any problem.
MachineConfig machine_config_from_json(const nlohmann::json& j);

// "64MiB", "1GiB", "1TiB", "4096", "512KiB" (or K, M, G, T): sizes for flags, at most 1 PiB;
// nullopt if not a size (a sign, a fraction or an overflow included).
std::optional<uint64_t> parse_size(std::string_view s);

}  // namespace disco
