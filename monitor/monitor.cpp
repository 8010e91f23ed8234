#include "monitor/monitor.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "node/strict_json.h"

namespace disco {

nlohmann::json to_json(const MonitorConfig& c) {
  nlohmann::json vms = nlohmann::json::array();
  for (const VmConfig& vm : c.vms) vms.push_back(to_json(vm));
  return {{"vms", vms},
          {"sched", {{"tlb_switch", mips::name(c.sched.tlb_switch)}, {"quantum_us", c.sched.quantum_us}}}};
}

MonitorConfig monitor_config_from_json(const nlohmann::json& j) {
  MonitorConfig c;
  StrictObject o(j, "guest");
  const nlohmann::json& vms = o.sub("vms");
  if (!vms.is_array()) throw std::runtime_error("config: guest.vms must be a list");
  for (const nlohmann::json& vm : vms) c.vms.push_back(vm_config_from_json(vm));
  StrictObject sched(o.sub("sched"), "guest.sched");
  std::string tlb_switch(mips::name(c.sched.tlb_switch));
  sched.get("tlb_switch", tlb_switch);
  sched.get("quantum_us", c.sched.quantum_us);
  sched.finish();
  o.finish();
  if (tlb_switch != "flush" && tlb_switch != "asid")
    throw std::runtime_error(fmt::format("config: guest.sched.tlb_switch '{}' is not flush or asid", tlb_switch));
  c.sched.tlb_switch = tlb_switch == "flush" ? mips::TlbSwitch::Flush : mips::TlbSwitch::Asid;
  return c;
}

std::string check(const MonitorConfig& c, const MachineGeometry& machine) {
  if (c.vms.empty()) return "a guest run needs at least one VM";
  if (c.sched.quantum_us == 0 || c.sched.quantum_us > 10'000'000) return "the quantum must be 1 us .. 10 s";
  std::vector<uint64_t> need(machine.nodes, 0);
  for (size_t i = 0; i < c.vms.size(); ++i) {
    const VmConfig& vm = c.vms[i];
    if (vm.id != i) return fmt::format("VM ids must be 0..{} in order", c.vms.size() - 1);
    if (const std::string e = check(vm); !e.empty()) return e;
    if (vm.node >= machine.nodes) return fmt::format("VM {} is placed on node {}; the machine has nodes 0..{}", vm.id, vm.node, machine.nodes - 1);
    if (vm.mode == VmMode::Bare) {
      if (c.vms.size() != 1) return "bare mode runs exactly one guest";
      if (const std::string e = Pmap::check_bare(vm.placement, vm.ram_bytes, machine); !e.empty()) return e;
    } else {
      need[vm.node] += vm.ram_bytes;
    }
  }
  uint64_t total = 0;
  for (uint64_t n : need) total += n;
  if (total > machine.total_bytes())
    return fmt::format("the VMs need {} MiB of machine memory; the machine has {} MiB ({} nodes x {} MiB)", total >> 20,
                       machine.total_bytes() >> 20, machine.nodes, machine.mem_per_node >> 20);
  return {};
}

uint64_t measure_tsc_per_us() {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const uint64_t c0 = mips::Interpreter::time_stamp();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const uint64_t c1 = mips::Interpreter::time_stamp();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
  return us > 0 ? std::max<uint64_t>(1, (c1 - c0) / static_cast<uint64_t>(us)) : 1;
}

Monitor::Monitor(const MonitorConfig& config, const NodeContext& node)
    : config_(config),
      node_(node),
      memmap_(node.self, node.config.shape.geometry),
      tsc_per_us_(measure_tsc_per_us()),
      by_pcpu_(node.config.shape.pcpus) {
  // A node's VMs go round its pcpus in id order.
  unsigned k = 0;
  for (const VmConfig& vm : config_.vms)
    if (vm.node == node.self) by_pcpu_[k++ % by_pcpu_.size()].push_back(vm);
}

Monitor::~Monitor() = default;

std::optional<Pmap> Monitor::make_pmap(const VmConfig& vm, std::string& error) {
  const MachineGeometry& g = node_.config.shape.geometry;
  if (vm.mode == VmMode::Bare) {
    try {
      return Pmap::bare(vm.placement, vm.ram_bytes, g, vm.node);
    } catch (const std::exception& e) {
      error = e.what();
      return std::nullopt;
    }
  }
  Pmap pmap(vm.ram_bytes, g.nodes);
  const uint64_t pages = pmap.pages();
  uint64_t mapped = 0;
  for (const PageRange& r : memmap_.allocate(vm.id, 0, pages)) {
    pmap.map_range(mapped, r.pages, r.first, node_.self);
    mapped += r.pages;
  }
  if (mapped < pages) {
    memmap_.free_all(vm.id);
    error = fmt::format("node {} has {} MiB free, VM {} needs {} MiB", node_.self, mapped * kPageBytes >> 20, vm.id,
                        vm.ram_bytes >> 20);
    return std::nullopt;
  }
  return pmap;
}

void Monitor::read_input(const std::string& fifo, Vm& vm, const std::atomic<bool>& done) {
  const int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;
  uint8_t buf[256];
  while (!done.load()) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      for (ssize_t i = 0; i < n; ++i) vm.console_input(buf[i]);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ::close(fd);
}

WorkloadResult Monitor::run_pcpu(const PcpuRun& run) {
  WorkloadResult result;
  const std::vector<VmConfig>& mine = by_pcpu_[run.where.pcpu];
  if (mine.empty()) return result;
  PcpuScheduler scheduler(config_.sched, run.stats);
  std::vector<std::unique_ptr<Vm>> vms;
  nlohmann::json reports = nlohmann::json::array();
  const auto failed = [&](const VmConfig& c, const std::string& why) {
    result.failed_accesses = 1;
    result.first_errors.push_back(fmt::format("VM {}: {}", c.id, why));
    reports.push_back({{"id", c.id}, {"node", c.node}, {"exit", name(VmExit::BootFailed)}, {"error", why},
                       {"console", c.console_path}, {"instructions", 0}});
  };
  for (const VmConfig& c : mine) {
    std::string error;
    std::optional<Pmap> pmap = make_pmap(c, error);
    if (!pmap) {
      failed(c, error);
      continue;
    }
    auto vm = std::make_unique<Vm>(c, std::move(*pmap), run.port, run.machine_base,
                                   c.mode == VmMode::Monitored ? &scheduler.machine_tlb() : nullptr,
                                   scheduler.next_owner());
    if (error = vm->boot(); !error.empty()) {
      failed(c, error);
      memmap_.free_all(c.id);
      continue;
    }
    scheduler.add(*vm);
    vms.push_back(std::move(vm));
  }
  {
    std::lock_guard lock(vms_mutex_);
    for (auto& vm : vms) vms_.push_back(vm.get());
  }

  // Keystrokes: a reader thread moves bytes from the FIFO into the VM's UART.
  std::atomic<bool> done{false};
  std::vector<std::thread> inputs;
  for (auto& vm : vms)
    if (!vm->config().input_fifo.empty()) inputs.emplace_back([&, v = vm.get()] { read_input(v->config().input_fifo, *v, done); });
  scheduler.run(run.stop);
  done = true;
  for (auto& t : inputs) t.join();

  for (auto& vm : vms) {
    nlohmann::json r = vm->report(tsc_per_us_);
    result.ops += vm->counters().instructions;
    if (vm->exit() == VmExit::MemoryFailure) {
      result.failed_accesses = 1;
      result.first_errors.push_back(fmt::format("VM {}: a guest memory access failed in the machine (a node is down)", vm->config().id));
    }
    reports.push_back(std::move(r));
    if (vm->config().mode == VmMode::Monitored) memmap_.free_all(vm->config().id);
  }
  {
    std::lock_guard lock(vms_mutex_);
    for (auto& vm : vms) {
      finished_.vms += 1;
      finished_.up += vm->published().up.load() ? 1 : 0;
      finished_.ended += 1;
      finished_.instructions += vm->counters().instructions;
      std::erase(vms_, vm.get());
    }
  }
  result.report = {{"vms", reports}, {"machine_tlb_flushes", scheduler.machine_tlb().flushes()},
                   {"switches", scheduler.switches()}};
  return result;
}

GuestProgress Monitor::progress() const {
  std::lock_guard lock(vms_mutex_);
  GuestProgress p = finished_;
  for (const Vm* vm : vms_) {
    const Vm::Published& pub = vm->published();
    p.vms += 1;
    p.up += pub.up.load(std::memory_order_relaxed) ? 1 : 0;
    p.ended += pub.ended.load(std::memory_order_relaxed) ? 1 : 0;
    p.instructions += pub.instructions.load(std::memory_order_relaxed);
  }
  return p;
}

}  // namespace disco
