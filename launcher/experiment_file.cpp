#include "launcher/experiment_file.h"

#include <filesystem>
#include <limits>
#include <set>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace disco {
namespace {

namespace fs = std::filesystem;

// The keys of one table, read by type; the first problem is kept, and a key nobody asked for is one.
class Section {
 public:
  Section(const toml::table* table, std::string name, fs::path folder, std::optional<std::string>& error)
      : table_(table), name_(std::move(name)), folder_(std::move(folder)), error_(error) {}

  template <class T>
  void number(const char* key, T& out, bool* given = nullptr) {
    const toml::node* n = find(key);
    if (n == nullptr) return;
    const std::optional<int64_t> v = n->value_exact<int64_t>();
    if (!v) return fail(key, "must be a whole number");
    if (*v < 0 || static_cast<uint64_t>(*v) > std::numeric_limits<T>::max())
      return fail(key, fmt::format("{} is not from 0 to {}", *v, std::numeric_limits<T>::max()));
    out = static_cast<T>(*v);
    if (given) *given = true;
  }
  void text(const char* key, std::string& out, bool* given = nullptr) {
    const toml::node* n = find(key);
    if (n == nullptr) return;
    const std::optional<std::string> v = n->value_exact<std::string>();
    if (!v) return fail(key, "must be a string");
    out = *v;
    if (given) *given = true;
  }
  void path(const char* key, std::string& out) {
    bool given = false;
    text(key, out, &given);
    if (given && !out.empty()) out = (folder_ / out).lexically_normal().string();
  }
  void flag(const char* key, bool& out) {
    const toml::node* n = find(key);
    if (n == nullptr) return;
    const std::optional<bool> v = n->value_exact<bool>();
    if (!v) return fail(key, "must be true or false");
    out = *v;
  }
  // A list of "HOST:GUEST" strings whose HOST part is a path.
  void host_guest_list(const char* key, std::vector<std::string>& out) {
    const toml::node* n = find(key);
    if (n == nullptr) return;
    const toml::array* a = n->as_array();
    if (a == nullptr) return fail(key, "must be a list of \"HOST:GUEST\" strings");
    out.clear();
    for (const toml::node& item : *a) {
      const std::optional<std::string> v = item.value_exact<std::string>();
      if (!v || v->find(':') == std::string::npos) return fail(key, "must be a list of \"HOST:GUEST\" strings");
      const size_t colon = v->find(':');
      out.push_back((folder_ / v->substr(0, colon)).lexically_normal().string() + v->substr(colon));
    }
  }
  void finish() {
    if (table_ == nullptr || error_) return;
    for (const auto& [key, value] : *table_)
      if (!seen_.contains(std::string(key.str()))) return fail(std::string(key.str()).c_str(), "is not a key of this table");
  }

 private:
  const toml::node* find(const char* key) {
    seen_.insert(key);
    return table_ == nullptr || error_ ? nullptr : table_->get(key);
  }
  void fail(const char* key, const std::string& why) {
    if (!error_) error_ = fmt::format("{}.{} {}", name_, key, why);
  }

  const toml::table* table_;
  std::string name_;
  fs::path folder_;
  std::optional<std::string>& error_;
  std::set<std::string> seen_;
};

// What a VM boots, in [guest] (every VM's) and in a [[vm]] (one VM's).
void read_boot_keys(Section& s, BootSpec& b) {
  s.path("kernel", b.kernel);
  s.path("initrd", b.initrd);
  s.text("append", b.append, &b.append_given);
  s.text("init_cmd", b.init_cmd);
  s.text("mem", b.mem);
}

const toml::table* table_of(const toml::table& top, const char* key, std::optional<std::string>& error) {
  const toml::node* n = top.get(key);
  if (n == nullptr) return nullptr;
  if (!n->is_table() && !error) error = fmt::format("{} must be a table ([{}])", key, key);
  return n->as_table();
}

}  // namespace

std::optional<std::string> read_experiment_file(const std::string& path, RunOptions& o) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return fmt::format("--config {}: no such file", path);
  toml::table top;
  try {
    top = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return fmt::format("--config {}: line {}: {}", path, e.source().begin.line, e.description());
  }
  const fs::path folder = fs::absolute(path, ec).parent_path();
  std::optional<std::string> error;
  for (const auto& [key, value] : top) {
    const std::string k(key.str());
    if (k != "machine" && k != "monitor" && k != "guest" && k != "run" && k != "vm" && !error)
      error = fmt::format("{} is not a table of an experiment file (machine, monitor, guest, run, vm)", k);
  }
  MachineConfig& c = o.config;
  GuestOptions& g = o.guest;

  Section machine(table_of(top, "machine", error), "machine", folder, error);
  machine.number("nodes", c.shape.geometry.nodes, &o.nodes_given);
  machine.number("cpus_per_node", c.shape.pcpus);
  machine.text("mem_per_node", o.mem_per_node, &o.mem_per_node_given);
  machine.number("line_size", c.shape.geometry.line_bytes);
  machine.text("cache_size", o.cache_size);
  machine.number("cache_ways", c.shape.cache.ways);
  machine.text("pin", o.pin);
  machine.text("transport", o.transport);
  machine.number("cpu_mhz", c.shape.timing.cpu_mhz, &o.cpu_mhz_given);
  machine.number("local_miss_ns", c.shape.timing.local_miss_ns);
  machine.number("remote_miss_ns", c.shape.timing.remote_miss_ns);
  machine.number("remote_dirty_ns", c.shape.timing.remote_dirty_ns);
  machine.finish();

  Section monitor(table_of(top, "monitor", error), "monitor", folder, error);
  monitor.text("tlb_switch", g.tlb_switch);
  monitor.number("quantum_us", g.quantum_us);
  monitor.number("l2tlb_entries", g.l2tlb_entries);
  monitor.number("machine_tlb_entries", g.machine_tlb_entries);
  monitor.finish();

  Section guest(table_of(top, "guest", error), "guest", folder, error);
  guest.flag("bare", g.bare);
  guest.text("guest", g.guest);
  read_boot_keys(guest, g.boot);
  guest.host_guest_list("extra", g.extra);
  guest.text("placement", g.placement);
  guest.flag("host_unpack", g.host_unpack);
  guest.flag("interpret", g.interpret);
  guest.flag("perf_map", g.perf_map);
  guest.number("isa_io_ns", g.isa_io_ns);
  guest.number("max_instructions", g.max_instructions);
  guest.number("rtc_epoch", g.rtc_epoch, &g.rtc_epoch_given);
  guest.finish();

  Section run(table_of(top, "run", error), "run", folder, error);
  run.number("vms", g.vms, &g.vms_given);
  run.text("vm_placement", g.vm_placement);
  run.number("console", g.console, &g.console_given);
  run.number("timeout", o.timeout_s);
  run.path("json", o.json_path);
  run.path("results", o.results_root);
  run.text("name", o.name);
  run.flag("quiet", o.quiet);
  run.text("workload", o.workload);
  run.number("ops", c.workload.ops);
  run.number("lines", c.workload.lines);
  run.number("seed", c.workload.seed);
  run.finish();

  if (const toml::node* vms = top.get("vm"); vms != nullptr && !error) {
    const toml::array* list = vms->as_array();
    if (list == nullptr || !list->is_array_of_tables()) return "vm must be a list of tables ([[vm]])";
    g.vm_specs.clear();
    for (size_t i = 0; i < list->size() && !error; ++i) {
      VmSpec spec;
      Section vm((*list)[i].as_table(), fmt::format("vm[{}]", i), folder, error);
      NodeId node = 0;
      bool node_given = false;
      vm.number("node", node, &node_given);
      if (node_given) spec.node = node;
      read_boot_keys(vm, spec.boot);
      vm.finish();
      g.vm_specs.push_back(spec);
    }
    if (!error && g.vm_specs.size() > kMaxVmsPerRun)
      error = fmt::format("vm lists {} VMs; a run has at most {}", g.vm_specs.size(), kMaxVmsPerRun);
  }
  if (error) return fmt::format("--config {}: {}", path, *error);
  return std::nullopt;
}

}  // namespace disco
