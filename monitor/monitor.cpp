#include "monitor/monitor.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "node/host_clock.h"
#include "node/strict_json.h"

namespace disco {
namespace {

// How long a pcpu waits for another node's monitor to answer (a page grant, a shootdown).
constexpr int kCallTimeoutMs = 10000;

}  // namespace

nlohmann::json to_json(const MonitorConfig& c) {
  nlohmann::json vms = nlohmann::json::array();
  for (const VmConfig& vm : c.vms) vms.push_back(to_json(vm));
  return {{"vms", vms},
          {"sched", {{"tlb_switch", mips::name(c.sched.tlb_switch)}, {"quantum_us", c.sched.quantum_us},
                     {"machine_tlb_entries", c.sched.machine_tlb_entries}}}};
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
  sched.get("machine_tlb_entries", c.sched.machine_tlb_entries);
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
  if (!mips::MachineTlb::valid_size(c.sched.machine_tlb_entries))
    return fmt::format("the machine TLB's {} entries are not a power of two from 1 to {}", c.sched.machine_tlb_entries,
                       mips::MachineTlb::kMaxEntries);
  std::vector<uint64_t> need(machine.nodes, 0);
  for (size_t i = 0; i < c.vms.size(); ++i) {
    const VmConfig& vm = c.vms[i];
    if (vm.id != i) return fmt::format("VM ids must be 0..{} in order", c.vms.size() - 1);
    if (const std::string e = check_shape(vm); !e.empty()) return e;
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

Monitor::Monitor(const MonitorConfig& config, const NodeContext& node)
    : config_(config),
      node_(node),
      memmap_(node.self, node.config.shape.geometry),
      tsc_per_us_(host_ticks_per_us()),
      by_pcpu_(node.config.shape.pcpus),
      mailboxes_(std::make_unique<ShootdownMailbox[]>(node.config.shape.pcpus)) {
  // A node's VMs go round its pcpus in id order.
  unsigned k = 0;
  for (const VmConfig& vm : config_.vms)
    if (vm.node == node.self) by_pcpu_[k++ % by_pcpu_.size()].push_back(vm);
}

Monitor::~Monitor() = default;

std::optional<Pmap> Monitor::make_pmap(const VmConfig& vm, PcpuId p, std::vector<Borrowed>& borrowed, std::string& error) {
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
  // The rest is borrowed from the nearest nodes with free pages (a ring: node self+1, self-1, ...).
  for (uint32_t d = 1; d < g.nodes && mapped < pages; ++d) {
    for (const int sign : {1, -1}) {
      if (sign < 0 && 2 * d == g.nodes) continue;  // the opposite node, already asked
      const NodeId lender = static_cast<NodeId>((node_.self + g.nodes + sign * static_cast<int>(d)) % g.nodes);
      while (mapped < pages) {
        Message grant;
        // At most a node's memory at a time: more is not a request the wire carries.
        const Message ask{.kind = MsgKind::PageAlloc, .vm = vm.id, .guest_page = mapped,
                          .pages = std::min<uint64_t>(pages - mapped, g.mem_per_node / kPageBytes)};
        if (!node_.node.call(p, lender, ask, MsgKind::PageGrant, grant, kCallTimeoutMs) || grant.pages == 0) break;
        if (grant.guest_page != mapped || grant.pages > pages - mapped) break;  // not what was asked: stop asking
        pmap.map_range(mapped, grant.pages, grant.machine, lender);
        borrowed.push_back({lender, {.first = grant.machine, .pages = grant.pages}});
        mapped += grant.pages;
      }
      if (mapped >= pages) break;
    }
  }
  if (mapped < pages) {
    release(vm, VmExit::BootFailed, borrowed);
    borrowed.clear();
    error = fmt::format("the machine has {} MiB free for VM {}, which needs {} MiB", mapped * kPageBytes >> 20, vm.id,
                        vm.ram_bytes >> 20);
    return std::nullopt;
  }
  return pmap;
}

void Monitor::release(const VmConfig& vm, VmExit exit, const std::vector<Borrowed>& borrowed) {
  if (vm.mode == VmMode::Bare) return;  // bare mode's guest owns the machine; the memmaps lent nothing
  memmap_.free_all(vm.id);
  for (const Borrowed& b : borrowed)
    node_.node.post(b.node, {.kind = MsgKind::PageFree, .vm = vm.id, .machine = b.range.first, .pages = b.range.pages});
  for (NodeId n = 0; n < node_.config.shape.geometry.nodes; ++n)
    if (n != node_.self) node_.node.post(n, {.kind = MsgKind::VmExited, .vm = vm.id, .exit_code = static_cast<uint8_t>(exit)});
}

void Monitor::on_message(const Message& m, Sends& out) {
  switch (m.kind) {
    case MsgKind::PageAlloc: {
      Message grant{.kind = MsgKind::PageGrant, .src = node_.self, .pcpu = m.pcpu, .txn = m.txn, .vm = m.vm,
                    .guest_page = m.guest_page};
      const std::vector<PageRange> got = memmap_.allocate(m.vm, m.guest_page, m.pages, 1);
      if (!got.empty()) {
        grant.machine = got[0].first;
        grant.pages = got[0].pages;
        pages_lent_ += got[0].pages;
      }
      out.push_back({m.src, port_of(MsgKind::PageGrant, m.pcpu), grant});
      break;
    }
    case MsgKind::PageFree:
      if (!memmap_.free(m.vm, {.first = m.machine, .pages = m.pages}))
        node_.node.drops().drop(DropReason::BadRange, fmt::format("PageFree of pages VM {} does not hold here", m.vm));
      break;
    case MsgKind::TlbShootdown: {
      // Done when every pcpu of this node has dropped its entries; the last one answers.
      const uint32_t pcpus = node_.config.shape.pcpus;
      auto remaining = std::make_shared<std::atomic<uint32_t>>(pcpus);
      Node& node = node_.node;
      const Message done{.kind = MsgKind::ShootdownDone, .pcpu = m.pcpu, .txn = m.txn, .vm = m.vm, .machine = m.machine};
      const NodeId asker = m.src;
      for (uint32_t p = 0; p < pcpus; ++p)
        mailboxes_[p].post(m.machine >> 12, [remaining, &node, done, asker, this] {
          if (remaining->fetch_sub(1) == 1) {
            node.post(asker, done);
            ++shootdowns_served_;
          }
        });
      break;
    }
    case MsgKind::VmExited:
      memmap_.free_all(m.vm);
      ++vm_exits_heard_;
      break;
    default:
      node_.node.drops().drop(DropReason::WrongPort, fmt::format("{} is not a monitor request", name(m.kind)));
  }
}

nlohmann::json Monitor::report() const {
  return {{"memmap_free_pages", memmap_.free_pages()},
          {"pages_lent", pages_lent_.load()},
          {"shootdowns_served", shootdowns_served_.load()},
          {"vm_exits_heard", vm_exits_heard_.load()}};
}

bool Monitor::shoot_down(PcpuId p, NodeId dst, uint32_t vm, uint64_t machine_page) {
  Message done;
  return node_.node.call(p, dst, {.kind = MsgKind::TlbShootdown, .vm = vm, .machine = machine_page << 12},
                         MsgKind::ShootdownDone, done, kCallTimeoutMs);
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
  PcpuScheduler scheduler(config_.sched, run.stats, mailboxes_[run.where.pcpu]);
  std::vector<std::unique_ptr<Vm>> vms;
  std::vector<std::vector<Borrowed>> borrowed;  // by VM built, as `vms`
  nlohmann::json reports = nlohmann::json::array();
  const auto failed = [&](const VmConfig& c, const std::string& why) {
    result.failed_accesses = 1;
    result.first_errors.push_back(fmt::format("VM {}: {}", c.id, why));
    reports.push_back({{"id", c.id}, {"node", c.node}, {"exit", name(VmExit::BootFailed)}, {"error", why},
                       {"console", c.console_path}, {"instructions", 0}});
  };
  for (const VmConfig& c : mine) {
    std::string error;
    std::vector<Borrowed> lent;
    std::optional<Pmap> pmap = make_pmap(c, run.where.pcpu, lent, error);
    if (!pmap) {
      failed(c, error);
      continue;
    }
    auto vm = std::make_unique<Vm>(c, std::move(*pmap), run.port, run.machine_base,
                                   c.mode == VmMode::Monitored ? &scheduler.machine_tlb() : nullptr,
                                   scheduler.next_owner());
    if (error = vm->boot(run.config.cluster); !error.empty()) {
      failed(c, error);
      release(c, VmExit::BootFailed, lent);
      continue;
    }
    scheduler.add(*vm);
    vms.push_back(std::move(vm));
    borrowed.push_back(std::move(lent));
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
  scheduler.machine_tlb().flush();  // nothing may map the VMs' pages once they are given back

  for (size_t i = 0; i < vms.size(); ++i) {
    Vm& vm = *vms[i];
    result.ops += vm.counters().instructions;
    if (vm.exit() == VmExit::MemoryFailure) {
      result.failed_accesses = 1;
      result.first_errors.push_back(fmt::format("VM {}: a guest memory access failed in the machine (a node is down)", vm.config().id));
    }
    reports.push_back(vm.report(tsc_per_us_));
    release(vm.config(), vm.exit(), borrowed[i]);
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
