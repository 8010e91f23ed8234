#include "launcher/run_report.h"

#include <fmt/format.h>

#include <map>
#include <numeric>

#include "node/latency_histogram.h"

namespace disco {

nlohmann::json summarize(const MachineConfig& cfg, const RunOutcome& run, const std::string& results_dir) {
  using nlohmann::json;
  const auto& g = cfg.shape.geometry;
  uint64_t ops = 0, checker_errors = 0, failed = 0, vps_max = 0;
  std::map<std::string, uint64_t> pcpu_sum, node_sum;
  uint64_t dropped = 0, refused = run.refused_connections;
  std::vector<uint64_t> ops_by_pcpu(uint64_t{g.nodes} * cfg.shape.pcpus, 0);
  json errors = json::array();
  for (const json& nj : run.nodes) {
    const uint32_t node = nj.value("node", 0u);
    uint32_t p = 0;
    const json pcpus = nj.value("pcpus", json::array());
    for (const json& pj : pcpus) {
      for (auto& [k, v] : pj.items())
        if (v.is_number_unsigned()) pcpu_sum[k] += v.get<uint64_t>();
      ops += pj.value("ops", uint64_t{0});
      checker_errors += pj.value("checker_errors", uint64_t{0});
      failed += pj.value("failed_accesses", uint64_t{0});
      vps_max = std::max(vps_max, pj.value("virtual_ps", uint64_t{0}));
      if (node < g.nodes && p < cfg.shape.pcpus) ops_by_pcpu[node * cfg.shape.pcpus + p] = pj.value("ops", uint64_t{0});
      const json first = pj.value("first_errors", json::array());
      for (const json& e : first)
        if (errors.size() < 10) errors.push_back(e);
      ++p;
    }
    const json node_stats = nj.value("node_stats", json::object()), drops = nj.value("drops", json::object());
    for (auto& [k, v] : node_stats.items())
      if (v.is_number_unsigned()) node_sum[k] += v.get<uint64_t>();
    for (auto& [k, v] : drops.items())
      if (v.is_number_unsigned()) dropped += v.get<uint64_t>();
    refused += nj.value("refused_connections", uint64_t{0});
  }
  std::map<std::string, LatencyHistogram> latency;
  for (const json& nj : run.nodes) {
    const json hist = nj.value("latency_histograms", json::object());
    for (auto& [k, v] : hist.items()) latency[k].merge(LatencyHistogram::from_json(v));
  }
  json lat = json::object();
  for (auto& [k, h] : latency)
    if (h.count()) lat[k] = {{"median", h.percentile(0.5)}, {"p99", h.percentile(0.99)}, {"count", h.count()}};
  std::string exit = run.exit;
  json j = {
      {"nodes", g.nodes},
      {"cpus_per_node", cfg.shape.pcpus},
      {"mem_per_node", g.mem_per_node},
      {"workload", std::string(name(cfg.workload.kind))},
      {"ops", ops},
      {"ops_requested", cfg.workload.ops * g.nodes * cfg.shape.pcpus},
      {"checker_errors", checker_errors},
      {"first_errors", errors},
      {"failed_accesses", failed},
      {"stats",
       {{"hits", pcpu_sum["hits"]},
        {"local_misses", pcpu_sum["local_misses"]},
        {"remote_2hop", pcpu_sum["remote_2hop"]},
        {"remote_3hop", pcpu_sum["remote_3hop"]},
        {"invalidations", node_sum["invalidations"]},
        {"unheld_invalidations", node_sum["unheld_invalidations"]},
        {"forwards", node_sum["forwards"]},
        {"writebacks", node_sum["writebacks"]},
        {"evictions", node_sum["evictions"]},
        {"stalls", node_sum["stalls"]},
        {"protocol_errors", node_sum["protocol_errors"]},
        {"lines_sent", node_sum["lines_sent"]},
        {"dropped_messages", dropped}}},
      {"security", {{"curve", run.curve}, {"refused_connections", refused}}},
      {"host_seconds", run.host_seconds},
      {"virtual_seconds", static_cast<double>(vps_max) / 1e12},
      {"results_dir", results_dir},
      {"latency_ns", lat},
      {"counter_descriptions", run.nodes.empty() ? json::object() : run.nodes[0].value("counter_descriptions", json::object())},
      {"per_node", run.nodes},
  };
  if (cfg.workload.kind == WorkloadKind::Counter && run.ok) {
    const std::vector<uint64_t> expected = expected_counters(g, cfg.shape.pcpus, ops_by_pcpu);
    const uint64_t e = std::accumulate(expected.begin(), expected.end(), uint64_t{0});
    const uint64_t f = std::accumulate(run.counter_finals.begin(), run.counter_finals.end(), uint64_t{0});
    const bool exact = expected == run.counter_finals;
    j["counter"] = {{"expected", e}, {"final", f}, {"exact", exact}, {"per_counter_final", run.counter_finals}};
    if (!exact) exit = fmt::format("counter finals differ from the increments made (expected {}, final {})", e, f);
  }
  if (!cfg.guest.is_null()) {
    // A guest run: every VM's report, from the pcpus that ran them, in id order.
    std::map<uint32_t, json> by_id;
    uint64_t flushes = 0, switches = 0;
    for (const json& nj : run.nodes)
      for (const json& pj : nj.value("pcpus", json::array())) {
        const json guest = pj.value("guest", json::object());
        for (const json& vm : guest.value("vms", json::array())) by_id[vm.value("id", 0u)] = vm;
        flushes += guest.value("machine_tlb_flushes", uint64_t{0});
        switches += guest.value("switches", uint64_t{0});
      }
    const json configured = cfg.guest.value("vms", json::array());
    json vms = json::array();
    uint64_t instructions = 0;
    bool all_off = true;
    for (const json& c : configured) {
      const uint32_t id = c.value("id", 0u);
      json vm = by_id.count(id) ? by_id[id] : json{{"id", id}, {"node", c.value("node", 0u)}, {"exit", "no report"},
                                                   {"console", c.value("console", "")}, {"instructions", 0}};
      instructions += vm.value("instructions", uint64_t{0});
      const std::string vm_exit = vm.value("exit", "no report");
      if (vm_exit != "poweroff") {
        all_off = false;
        if (exit == "ok")
          exit = vm.contains("error") ? fmt::format("VM {}: {}", id, vm["error"].get<std::string>())
                                      : fmt::format("VM {} did not power off (it ended: {})", id, vm_exit);
      }
      vms.push_back(std::move(vm));
    }
    j["vms"] = vms;
    j["guest_instructions"] = instructions;
    j["poweroff"] = all_off;
    j["machine_tlb_flushes"] = flushes;
    j["vcpu_switches"] = switches;
    j["workload"] = "guest";
    if (!vms.empty()) j["console"] = vms[0].value("console", "");
    if (configured.size() == 1 && configured[0].value("mode", "") == "bare") {
      // Bare mode's guest object: the one VM, with pages per node as a list over the nodes.
      json guest = vms[0];
      json pages = json::array();
      for (uint32_t n = 0; n < g.nodes; ++n)
        pages.push_back(guest.value("machine_pages", json::object()).value(std::to_string(n), uint64_t{0}));
      guest["pages_by_node"] = pages;
      guest["guest_instructions"] = guest.value("instructions", uint64_t{0});
      guest["poweroff"] = all_off;
      j["guest"] = guest;
    }
  }
  if (exit == "ok" && checker_errors) exit = fmt::format("the checker found {} errors", checker_errors);
  if (exit == "ok" && failed) exit = fmt::format("{} accesses failed", failed);
  j["exit"] = exit;
  return j;
}

bool summary_ok(const nlohmann::json& summary) { return summary.value("exit", "") == "ok"; }

void print_vm_table(const nlohmann::json& vms) {
  // Guest seconds: user + kernel + monitor + idle = total; the misses' share of it, served
  // locally and remotely, is inside user and kernel.
  fmt::print("  {:>3} {:>4} {:<9} {:>12} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>9} {:>9} {:>7} {:>9} {:>9} {:>5}\n",
             "VM", "node", "exit", "instructions", "guest s", "user", "kernel", "monitor", "idle", "l.miss", "r.miss",
             "entries", "tlb miss", "l2 hit%", "local", "remote", "MiB");
  for (const nlohmann::json& vm : vms) {
    const nlohmann::json t = vm.value("guest_seconds", nlohmann::json::object());
    uint64_t entries = 0, pages = 0;
    const nlohmann::json by_kind = vm.value("monitor_entries", nlohmann::json::object()),
                         by_node = vm.value("machine_pages", nlohmann::json::object());
    for (const auto& [kind, e] : by_kind.items()) entries += e.value("count", uint64_t{0});
    for (const auto& [node, n] : by_node.items()) pages += n.get<uint64_t>();
    const nlohmann::json m = vm.value("miss_guest_seconds", nlohmann::json::object());
    fmt::print("  {:>3} {:>4} {:<9} {:>12} {:>8.3f} {:>7.3f} {:>7.3f} {:>7.3f} {:>7.3f} {:>7.3f} {:>7.3f} {:>9} {:>9} {:>7.1f} {:>9} {:>9} {:>5}\n",
               vm.value("id", 0u), vm.value("node", 0u), vm.value("exit", "?"), vm.value("instructions", uint64_t{0}),
               t.value("total", 0.0), t.value("user", 0.0), t.value("kernel", 0.0), t.value("monitor", 0.0),
               t.value("idle", 0.0), m.value("local", 0.0), m.value("remote", 0.0), entries, vm.value("tlb_misses", uint64_t{0}), 100 * vm.value("l2tlb_hit_rate", 0.0),
               vm.value("local_misses", uint64_t{0}), vm.value("remote_misses", uint64_t{0}), pages * 4096 >> 20);
    if (vm.contains("error")) fmt::print("      {}\n", vm["error"].get<std::string>());
  }
}

void print_summary(const nlohmann::json& s) {
  const auto& st = s["stats"];
  const uint64_t hits = st["hits"], local = st["local_misses"], r2 = st["remote_2hop"], r3 = st["remote_3hop"];
  const uint64_t accesses = hits + local + r2 + r3;
  auto pct = [&](uint64_t v) { return accesses ? 100.0 * static_cast<double>(v) / static_cast<double>(accesses) : 0.0; };
  fmt::print("result: {}\n", s["exit"].get<std::string>());
  if (s.contains("guest_instructions"))
    fmt::print("  guest instructions {:>11}  (console: {})\n", s["guest_instructions"].get<uint64_t>(),
               s["console"].get<std::string>());
  else
    fmt::print("  workload ops      {:>12}\n", s["ops"].get<uint64_t>());
  fmt::print("  accesses          {:>12}\n", accesses);
  fmt::print("  hits              {:>12}  {:5.1f} %\n", hits, pct(hits));
  fmt::print("  local misses      {:>12}  {:5.1f} %\n", local, pct(local));
  fmt::print("  remote 2-hop      {:>12}  {:5.1f} %\n", r2, pct(r2));
  fmt::print("  remote 3-hop      {:>12}  {:5.1f} %\n", r3, pct(r3));
  fmt::print("  invalidations     {:>12}\n", st["invalidations"].get<uint64_t>());
  fmt::print("  writebacks        {:>12}\n", st["writebacks"].get<uint64_t>());
  if (const uint64_t lines = st.value("lines_sent", uint64_t{0}))
    fmt::print("  lines sent        {:>12}  (messages with a line's bytes, between hosts)\n", lines);
  fmt::print("  dropped messages  {:>12}\n", st["dropped_messages"].get<uint64_t>());
  if (s["security"]["curve"].get<bool>())
    fmt::print("  refused peers     {:>12}  (connections without the run's CURVE key)\n",
               s["security"]["refused_connections"].get<uint64_t>());
  if (s.contains("counter"))
    fmt::print("  counter           expected {}, final {} ({})\n", s["counter"]["expected"].get<uint64_t>(),
               s["counter"]["final"].get<uint64_t>(), s["counter"]["exact"].get<bool>() ? "exact" : "WRONG");
  if (s["workload"] == "random") fmt::print("  checker errors    {:>12}\n", s["checker_errors"].get<uint64_t>());
  for (const auto& e : s["first_errors"]) fmt::print("    {}\n", e.get<std::string>());
  if (s.contains("latency_ns"))
    for (auto& [k, v] : s["latency_ns"].items())
      fmt::print("  {:<17} median {:>8.1f} us   p99 {:>8.1f} us   ({} misses)\n", k + " latency",
                 v["median"].get<double>() / 1e3, v["p99"].get<double>() / 1e3, v["count"].get<uint64_t>());
  if (s.contains("vms")) print_vm_table(s["vms"]);
  fmt::print("  host time {:.2f} s, virtual time {:.3f} ms\n", s["host_seconds"].get<double>(),
             s["virtual_seconds"].get<double>() * 1e3);
  fmt::print("  results: {}\n", s["results_dir"].get<std::string>());
}

}  // namespace disco
