#include "launcher/guest_options.h"

#include "launcher/numeric_flag.h"
#include "launcher/shell.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>

#include <unistd.h>

#include "monitor/loader/boot_files.h"
#include "node/machine_config.h"

namespace disco {
namespace {

// Where the repository's scripts and the guest cache are: next to the build that made us.
const std::string kSourceDir = DISCO_SOURCE_DIR;

// The default guest's kernel command line: stable addresses, no crypto self-tests (they cost
// guest time and test nothing of ours), and a panic reboots (the run ends, reporting "crash")
// instead of spinning forever. The kernel adds console=ttyS0 from the YAMON env.
constexpr const char* kDebianAppend = "nokaslr cryptomgr.notests=1 panic=-1";
constexpr const char* kBareMem = "256MiB";
constexpr const char* kVmMem = "64MiB";

// Runs a repository script; its own one-line error goes to stderr.
bool run_script(const std::string& command) { return std::system(command.c_str()) == 0; }

// The node of each VM: spread (round-robin), packed (filling nodes in order), or a list.
std::optional<std::string> place_vms(const std::string& how, uint32_t vms, uint32_t nodes, std::vector<NodeId>& out) {
  out.clear();
  if (how == "spread" || how == "packed") {
    const uint32_t per_node = (vms + nodes - 1) / nodes;
    for (uint32_t i = 0; i < vms; ++i) out.push_back(static_cast<NodeId>(how == "spread" ? i % nodes : i / per_node));
    return std::nullopt;
  }
  for (size_t start = 0; start <= how.size();) {
    const size_t comma = std::min(how.find(',', start), how.size());
    const std::string_view item(how.data() + start, comma - start);
    uint32_t node = 0;
    const auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), node);
    if (item.empty() || ec != std::errc() || p != item.data() + item.size())
      return fmt::format("--vm-placement '{}' is not spread, packed or a list of node numbers", how);
    if (node >= nodes) return fmt::format("--vm-placement puts a VM on node {}; the machine has nodes 0..{}", node, nodes - 1);
    out.push_back(static_cast<NodeId>(node));
    start = comma + 1;
  }
  if (out.size() != vms) return fmt::format("--vm-placement lists {} nodes for {} VMs", out.size(), vms);
  return std::nullopt;
}

}  // namespace

void add_guest_flags(CLI::App& cmd, GuestOptions& o) {
  cmd.add_flag("--bare", o.bare, "boot the guest kernel directly on the machine, no monitor (the baseline)");
  cmd.add_option("--guest", o.guest, "a known guest: debian (Debian 12's stock 4kc-malta kernel and a busybox initramfs)");
  cmd.add_option("--kernel", o.boot.kernel, "a Malta kernel (ELF vmlinuz)");
  cmd.add_option("--initrd", o.boot.initrd, "an initramfs for --kernel");
  cmd.add_option("--append", o.boot.append, "the kernel command line")->each([&o](const std::string&) { o.boot.append_given = true; });
  cmd.add_option("--init-cmd", o.boot.init_cmd, "a shell command the guest's /init runs before powering off");
  cmd.add_option("--extra", o.extra, "HOST:GUEST files for the generated initramfs");
  add_number(cmd, "--vms", o.vms, "virtual machines, each booting the guest under the Disco monitor")
      ->each([&o](const std::string&) { o.vms_given = true; });
  cmd.add_option("--vm-mem,--mem", o.boot.mem, "guest memory of each VM, 16MiB..256MiB (default 64MiB; bare: 256MiB)");
  cmd.add_option("--vm-placement", o.vm_placement, "the node of each VM's vcpu and memory: spread, packed or N,N,...")
      ->capture_default_str();
  cmd.add_option("--placement", o.placement, "bare mode: guest memory on the nodes: local, interleave or first-touch")
      ->capture_default_str();
  cmd.add_option("--tlb-switch", o.tlb_switch, "on a vcpu switch the machine TLB is flushed, or kept with virtualised ASIDs: flush or asid")
      ->capture_default_str();
  add_number(cmd, "--quantum-us", o.quantum_us, "guest time a vcpu runs before the next one on its pcpu");
  add_number(cmd, "--machine-tlb-entries", o.machine_tlb_entries, "pages each pcpu's TLB holds under the monitor: 1024 reaches as far as bare mode's JTLB and the entries kept behind it, 32 is the 24Kf's JTLB alone");
  add_number(cmd, "--l2tlb-entries", o.l2tlb_entries, "each vcpu's second-level TLB: the monitor's L2TLB, and in bare mode the entries its JTLB evicted, kept as QEMU keeps them (0: none)");
  add_number(cmd, "--console", o.console, "stream this VM's console to the terminal (every console is in vm<N>.console)")
      ->each([&o](const std::string&) { o.console_given = true; });
  cmd.add_flag("--host-unpack", o.host_unpack, "unpack the kernel's xz payload on the host and enter it directly");
  cmd.add_flag("--interpret", o.interpret, "interpret every guest instruction (no compiled blocks; slower)");
  cmd.add_flag("--perf-map", o.perf_map, "name compiled guest blocks in /tmp/perf-<pid>.map for `perf report`");
  add_number(cmd, "--max-instructions", o.max_instructions, "stop each VM after this many instructions (0: none)");
  add_number(cmd, "--isa-io-ns", o.isa_io_ns, "guest time one access to an ISA I/O port takes (PIC, PIT, RTC, UARTs)");
  add_number(cmd, "--rtc-epoch", o.rtc_epoch, "Unix time the guests' RTCs start at (default: now)")
      ->each([&o](const std::string&) { o.rtc_epoch_given = true; });
  cmd.add_flag("--interactive", o.interactive, "the terminal is the console of VM 0 (or --console N); Ctrl-A x quits");
}

uint64_t guest_memory_per_node(const MonitorConfig& c, uint32_t nodes) {
  std::vector<uint64_t> need(nodes, 0);
  for (const VmConfig& vm : c.vms) {
    if (vm.mode == VmMode::Bare) return vm.placement == Placement::Interleave ? (vm.ram_bytes / kPageBytes + nodes - 1) / nodes * kPageBytes : vm.ram_bytes;
    if (vm.node < nodes) need[vm.node] += vm.ram_bytes;
  }
  return std::max<uint64_t>(kPageBytes, *std::max_element(need.begin(), need.end()));
}

std::optional<std::string> plan_guests(const GuestOptions& o, uint32_t cpu_mhz, uint32_t nodes, ResolvedGuests& out) {
  if (!o.guest.empty() && o.guest != "debian") return fmt::format("--guest '{}' is not a known guest (debian)", o.guest);
  const bool each_has_kernel = !o.vm_specs.empty() && std::all_of(o.vm_specs.begin(), o.vm_specs.end(),
                                                                  [](const VmSpec& s) { return !s.boot.kernel.empty(); });
  if (o.guest.empty() && o.boot.kernel.empty() && !each_has_kernel) return "a guest run needs --guest debian or --kernel PATH";
  if (o.bare && (o.vms_given || o.vm_specs.size() > 1)) return "--bare runs one guest alone on the machine; it cannot go with --vms";
  const uint32_t vms = o.vm_specs.empty() ? o.vms : static_cast<uint32_t>(o.vm_specs.size());
  if (!o.vm_specs.empty() && o.vms_given && o.vms != vms)
    return fmt::format("--vms {} but the experiment file lists {} VMs", o.vms, vms);
  if (vms == 0 || vms > kMaxVmsPerRun) return fmt::format("--vms {} is not 1..{}", vms, kMaxVmsPerRun);
  if (o.console_given && o.console >= vms) return fmt::format("--console {}: the VMs are 0..{}", o.console, vms - 1);
  const auto placement = parse_placement(o.placement);
  if (!placement) return fmt::format("--placement '{}' is not local, interleave or first-touch", o.placement);
  if (!o.bare && *placement != Placement::Local) return "--placement is bare mode's; VMs are placed with --vm-placement";
  if (o.tlb_switch != "flush" && o.tlb_switch != "asid") return fmt::format("--tlb-switch '{}' is not flush or asid", o.tlb_switch);
  if (o.interactive && !o.boot.init_cmd.empty()) return "--interactive gives you the guest's shell; it cannot go with --init-cmd";
  std::vector<NodeId> vm_nodes;
  if (auto e = place_vms(o.vm_placement, vms, nodes, vm_nodes)) return e;

  const int64_t rtc_epoch = o.rtc_epoch_given ? static_cast<int64_t>(o.rtc_epoch) : static_cast<int64_t>(std::time(nullptr));
  out = {};
  out.monitor.sched = {.tlb_switch = o.tlb_switch == "flush" ? mips::TlbSwitch::Flush : mips::TlbSwitch::Asid,
                       .quantum_us = o.quantum_us,
                       .machine_tlb_entries = o.machine_tlb_entries};
  out.streamed = o.console_given ? static_cast<int64_t>(o.console) : o.bare || o.interactive ? 0 : -1;
  for (uint32_t i = 0; i < vms; ++i) {
    const VmSpec spec = o.vm_specs.empty() ? VmSpec{} : o.vm_specs[i];
    const std::string what = o.vm_specs.empty() ? std::string("--vm-mem") : fmt::format("vm {} mem", i);
    const std::string mem_text = !spec.boot.mem.empty() ? spec.boot.mem : !o.boot.mem.empty() ? o.boot.mem : o.bare ? kBareMem : kVmMem;
    const auto mem = parse_size(mem_text);
    if (!mem) return fmt::format("{} '{}' is not a size (like 64MiB)", what, mem_text);
    if (spec.node && *spec.node >= nodes)
      return fmt::format("VM {} is placed on node {}; the machine has nodes 0..{}", i, *spec.node, nodes - 1);
    PlannedVm plan{.kernel = !spec.boot.kernel.empty() ? spec.boot.kernel : o.boot.kernel,
                   .initrd = !spec.boot.initrd.empty() ? spec.boot.initrd : o.boot.initrd,
                   .init_cmd = !spec.boot.init_cmd.empty() ? spec.boot.init_cmd : o.boot.init_cmd,
                   .append = spec.boot.append_given ? spec.boot.append : o.boot.append,
                   .append_given = spec.boot.append_given || o.boot.append_given};
    if (!plan.initrd.empty() && !plan.init_cmd.empty())
      return fmt::format("VM {}: --init-cmd builds the initramfs; it cannot go with --initrd", i);
    if (!plan.kernel.empty())
      if (const std::string e = boot::check_kernel_file(plan.kernel); !e.empty()) return e;
    if (!plan.initrd.empty())
      if (const std::string e = boot::check_initrd_file(plan.initrd); !e.empty()) return e;
    out.planned.push_back(plan);
    out.monitor.vms.push_back({.id = i,
                               .node = spec.node.value_or(vm_nodes[i]),
                               .mode = o.bare ? VmMode::Bare : VmMode::Monitored,
                               .ram_bytes = *mem,
                               .placement = *placement,
                               .host_unpack = o.host_unpack,
                               .cpu_mhz = cpu_mhz,
                               .rtc_epoch_seconds = rtc_epoch,
                               .isa_io_ns = o.isa_io_ns,
                               .max_instructions = o.max_instructions,
                               .compile = !o.interpret,
                               .perf_map = o.perf_map,
                               .l2tlb_entries = o.l2tlb_entries});
    if (const std::string e = check_shape(out.monitor.vms.back()); !e.empty()) return e;
  }
  return std::nullopt;
}

std::optional<std::string> prepare_guests(const GuestOptions& o, const std::string& results_dir, ResolvedGuests& g) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool debian = !o.guest.empty();
  if (debian) {
    // Always asked: it is quick when the cache is complete, and it waits for a concurrent fetch.
    const std::string log = results_dir + "/fetch-guest.txt";
    if (!run_script(kSourceDir + "/scripts/fetch-guest >" + shell_quoted(log) + " 2>&1"))
      return "scripts/fetch-guest could not fetch the Debian guest (see " + log + ")";
  }
  // Our busybox initramfs, built per run into the results folder (it holds the command): one
  // per distinct command.
  std::map<std::string, std::string> initramfs_of;
  for (size_t i = 0; i < g.planned.size(); ++i) {
    PlannedVm& plan = g.planned[i];
    VmConfig& vm = g.monitor.vms[i];
    if (plan.kernel.empty()) plan.kernel = kSourceDir + "/guest-cache/debian/vmlinuz";
    std::string append = plan.append_given ? plan.append : debian ? kDebianAppend : "";
    if (plan.initrd.empty() && (debian || !plan.init_cmd.empty())) {
      auto [it, fresh] = initramfs_of.try_emplace(plan.init_cmd, "");
      if (fresh) {
        it->second = fmt::format("{}/initramfs{}.cpio.gz", results_dir,
                                 initramfs_of.size() == 1 ? std::string() : fmt::format("-{}", initramfs_of.size() - 1));
        std::string cmd = fmt::format("{}/scripts/mkinitramfs --out {}", kSourceDir, shell_quoted(it->second));
        if (!plan.init_cmd.empty()) cmd += " --cmd " + shell_quoted(plan.init_cmd);
        for (const std::string& e : o.extra) cmd += " --extra " + shell_quoted(e);
        if (!run_script(cmd + " >&2")) return "scripts/mkinitramfs could not build the initramfs";
      }
      plan.initrd = it->second;
    }
    if (const std::string e = boot::check_kernel_file(plan.kernel); !e.empty()) return e;  // Debian's, once fetched
    vm.kernel = fs::absolute(plan.kernel, ec).string();
    vm.initrd = plan.initrd.empty() ? std::string() : fs::absolute(plan.initrd, ec).string();
    // Under the monitor each VM learns its id from its command line (/init exports it).
    vm.append = vm.mode == VmMode::Bare ? append : fmt::format("{}{}disco.vm={}", append, append.empty() ? "" : " ", i);
    vm.console_path = fs::absolute(fmt::format("{}/vm{}.console", results_dir, i), ec).string();
    if (o.interactive && static_cast<int64_t>(i) == g.streamed) {
      vm.input_fifo = fs::absolute(results_dir + "/console.in", ec).string();
      vm.idle_in_real_time = true;
    }
    if (const std::string e = check(vm); !e.empty()) return e;
  }
  return std::nullopt;
}

}  // namespace disco
