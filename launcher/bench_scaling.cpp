#include "launcher/bench_scaling.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "launcher/disco_subrun.h"
#include "launcher/numeric_flag.h"
#include "launcher/run_command.h"
#include "launcher/shell.h"
#include "node/latency_histogram.h"
#include "node/workloads.h"
#include "shm/machine_types.h"

namespace disco {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Small, so that twice the cores' worth of nodes fits anywhere; the working set is 4 times the
// node's cache, so that a streaming workload misses on every access, as bench coherence's does.
constexpr std::string_view kMemPerNode = "4MiB";
constexpr std::string_view kCacheSize = "256KiB";
constexpr uint32_t kLines = 8192;  // 1 MiB of 128-byte lines

// Remote misses' latency: every node's 2-hop and 3-hop histograms merged, then read.
json remote_latency_us(const json& summary) {
  LatencyHistogram remote;
  for (const json& node : summary.value("per_node", json::array())) {
    const json hist = node.value("latency_histograms", json::object());
    for (const char* key : {"remote_2hop", "remote_3hop"})
      if (hist.contains(key)) remote.merge(LatencyHistogram::from_json(hist[key]));
  }
  if (remote.count() == 0) return {{"p50", nullptr}, {"p99", nullptr}};
  return {{"p50", remote.percentile(0.5) / 1e3}, {"p99", remote.percentile(0.99) / 1e3}};
}

// scaling.svg: misses per second per node against the node count, a line per transport.
std::string plot(const std::string& dir, const json& by_transport, const std::string& workload) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) return "gnuplot is not installed (make deps installs it)";
  std::string data_files;
  for (auto& [t, rows] : by_transport.items()) {
    std::ofstream dat(fmt::format("{}/scaling-{}.dat", dir, t));
    dat << "# nodes misses_per_s_per_node aggregate_misses_per_s\n";
    for (const json& r : rows)
      if (r["per_node_misses_per_s"].is_number())
        dat << r["nodes"].get<uint32_t>() << " " << r["per_node_misses_per_s"].get<double>() << " "
            << r["aggregate_misses_per_s"].get<double>() << "\n";
    data_files += fmt::format("{}'{}/scaling-{}.dat' using 1:2 with linespoints title '{}'", data_files.empty() ? "" : ", ",
                              dir, t, t);
  }
  std::ofstream gp(dir + "/scaling.gp");
  gp << "set terminal svg size 800,500\n"
     << "set output '" << dir << "/scaling.svg'\n"
     << "set title 'disco bench scaling: " << workload << "'\n"
     << "set xlabel 'nodes'\nset ylabel 'misses per host second per node'\n"
     << "set logscale xy 2\nset grid\nset key top right\n"
     << "plot " << data_files << "\n";
  gp.close();
  const std::string cmd = fmt::format("gnuplot {} > {} 2>&1", shell_quoted(dir + "/scaling.gp"), shell_quoted(dir + "/gnuplot.log"));
  if (std::system(cmd.c_str()) != 0) return "gnuplot failed: see " + dir + "/gnuplot.log";
  return {};
}

}  // namespace

void add_scaling_flags(CLI::App& cmd, ScalingOptions& o) {
  add_number(cmd, "--max-nodes", o.max_nodes, "largest node count (default: twice the host's cores)");
  cmd.add_option("--transports", o.transports, "transports to sweep, comma-separated: shm, ipc, tcp")->capture_default_str();
  cmd.add_option("--workload", o.workload, "the machine workload every run runs")->capture_default_str();
  add_number(cmd, "--ops", o.ops, "operations per pcpu of every run");
  cmd.add_option("--json", o.json_path, "also write the results to this file");
  cmd.add_option("--results", o.results_root, "folder that receives the bench's folder")->capture_default_str();
}

std::optional<std::string> resolve_scaling(ScalingOptions& o) {
  if (o.max_nodes == 0) o.max_nodes = std::clamp<uint32_t>(2 * static_cast<uint32_t>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN))), 2, kMaxNodes);
  if (o.max_nodes > kMaxNodes) return fmt::format("--max-nodes {} is over the machine's limit of {} nodes", o.max_nodes, kMaxNodes);
  if (!parse_workload(o.workload)) return fmt::format("--workload '{}' is not a machine workload", o.workload);
  if (o.ops == 0) return "--ops 0: every run needs operations";
  o.transport_list.clear();
  for (size_t start = 0; start <= o.transports.size();) {
    const size_t comma = std::min(o.transports.find(',', start), o.transports.size());
    const std::string t = o.transports.substr(start, comma - start);
    if (t != "shm" && t != "ipc" && t != "tcp") return fmt::format("--transports '{}': '{}' is not shm, ipc or tcp", o.transports, t);
    if (std::find(o.transport_list.begin(), o.transport_list.end(), t) == o.transport_list.end()) o.transport_list.push_back(t);
    start = comma + 1;
  }
  o.counts.clear();
  for (uint32_t n = 1; n <= o.max_nodes; n *= 2) o.counts.push_back(n);
  if (o.counts.back() != o.max_nodes) o.counts.push_back(o.max_nodes);
  return check_json_path(o.json_path);
}

int bench_scaling(const ScalingOptions& o, const std::string& disco_exe) {
  const std::string dir = make_results_dir(o.results_root, "bench-scaling");
  fmt::print("disco bench scaling: {} workload over {} lines, {} ops per pcpu, {} and a {} cache per node, nodes {} to {}, "
             "transports {}\n", o.workload, kLines, o.ops, kMemPerNode, kCacheSize, o.counts.front(), o.counts.back(), o.transports);
  fmt::print("{:<6} {:>6} {:>16} {:>16} {:>12} {:>12} {:>9}\n", "", "nodes", "misses/s total", "misses/s/node",
             "remote p50", "remote p99", "host s");
  std::fflush(stdout);
  json failures = json::array(), by_transport = json::object();
  for (const std::string& t : o.transport_list) {
    json rows = json::array();
    for (uint32_t n : o.counts) {
      const json s = run_disco_subprocess(disco_exe, dir, fmt::format("{}-{}", t, n),
                                          {"--nodes", std::to_string(n), "--transport", t, "--workload", o.workload,
                                           "--ops", std::to_string(o.ops), "--mem-per-node", std::string(kMemPerNode),
                                           "--cache-size", std::string(kCacheSize), "--lines", std::to_string(kLines)},
                                          failures);
      json row = {{"nodes", n}};
      if (s.is_null()) {
        row.update({{"aggregate_misses_per_s", nullptr}, {"per_node_misses_per_s", nullptr}, {"remote_latency_us", nullptr}});
        fmt::print("{:<6} {:>6}   run failed: {}\n", t, n, failures.back().value("exit", "?"));
      } else {
        const json& st = s["stats"];
        const uint64_t misses = st.value("local_misses", uint64_t{0}) + st.value("remote_2hop", uint64_t{0}) +
                                st.value("remote_3hop", uint64_t{0});
        const double secs = s.value("host_seconds", 0.0);
        const double total = secs > 0 ? static_cast<double>(misses) / secs : 0;
        const json lat = remote_latency_us(s);
        row.update({{"misses", misses}, {"host_seconds", secs}, {"aggregate_misses_per_s", total},
                    {"per_node_misses_per_s", total / n}, {"remote_latency_us", lat}});
        auto us = [](const json& v) { return v.is_number() ? fmt::format("{:.1f} us", v.get<double>()) : std::string("-"); };
        fmt::print("{:<6} {:>6} {:>16.0f} {:>16.0f} {:>12} {:>12} {:>9.2f}\n", t, n, total, total / n, us(lat["p50"]),
                   us(lat["p99"]), secs);
      }
      std::fflush(stdout);
      rows.push_back(row);
    }
    by_transport[t] = rows;
  }
  const std::string plot_error = plot(dir, by_transport, o.workload);
  json j = {{"workload", o.workload},
            {"ops_per_pcpu", o.ops},
            {"mem_per_node", std::string(kMemPerNode)},
            {"cache_size", std::string(kCacheSize)},
            {"lines", kLines},
            {"host_cores", sysconf(_SC_NPROCESSORS_ONLN)},
            {"transports", by_transport},
            {"plot", plot_error.empty() ? json(dir + "/scaling.svg") : json(nullptr)},
            {"failures", failures},
            {"results_dir", dir}};
  std::ofstream(dir + "/scaling.json") << j.dump(2) << "\n";
  if (!o.json_path.empty()) std::ofstream(o.json_path) << j.dump(2) << "\n";
  if (plot_error.empty())
    fmt::print("plot: {}/scaling.svg\n", dir);
  else
    fmt::print("no plot: {}\n", plot_error);
  fmt::print("results: {}\n", dir);
  return failures.empty() ? 0 : 1;
}

}  // namespace disco
