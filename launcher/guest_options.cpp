#include "launcher/guest_options.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <ctime>
#include <filesystem>

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

std::string shell_quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

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
  cmd.add_option("--kernel", o.kernel, "a Malta kernel (ELF vmlinuz)");
  cmd.add_option("--initrd", o.initrd, "an initramfs for --kernel");
  cmd.add_option("--append", o.append, "the kernel command line")->each([&o](const std::string&) { o.append_given = true; });
  cmd.add_option("--init-cmd", o.init_cmd, "a shell command the guest's /init runs before powering off");
  cmd.add_option("--extra", o.extra, "HOST:GUEST files for the generated initramfs");
  cmd.add_option("--vms", o.vms, "virtual machines, each booting the guest under the Disco monitor")
      ->each([&o](const std::string&) { o.vms_given = true; })
      ->capture_default_str();
  cmd.add_option("--vm-mem,--mem", o.mem, "guest memory of each VM, 16MiB..256MiB (default 64MiB; bare: 256MiB)");
  cmd.add_option("--vm-placement", o.vm_placement, "the node of each VM's vcpu and memory: spread, packed or N,N,...")
      ->capture_default_str();
  cmd.add_option("--placement", o.placement, "bare mode: guest memory on the nodes: local, interleave or first-touch")
      ->capture_default_str();
  cmd.add_option("--tlb-switch", o.tlb_switch, "on a vcpu switch the machine TLB is flushed, or kept with virtualised ASIDs: flush or asid")
      ->capture_default_str();
  cmd.add_option("--quantum-us", o.quantum_us, "guest time a vcpu runs before the next one on its pcpu")->capture_default_str();
  cmd.add_option("--l2tlb-entries", o.l2tlb_entries, "each vcpu's second-level software TLB (0: none)")->capture_default_str();
  cmd.add_option("--console", o.console, "stream this VM's console to the terminal (every console is in vm<N>.console)");
  cmd.add_flag("--host-unpack", o.host_unpack, "unpack the kernel's xz payload on the host and enter it directly");
  cmd.add_flag("--interpret", o.interpret, "interpret every guest instruction (no compiled blocks; slower)");
  cmd.add_flag("--perf-map", o.perf_map, "name compiled guest blocks in /tmp/perf-<pid>.map for `perf report`");
  cmd.add_option("--max-instructions", o.max_instructions, "stop each VM after this many instructions (0: none)");
  cmd.add_option("--isa-io-ns", o.isa_io_ns, "guest time one access to an ISA I/O port takes (PIC, PIT, RTC, UARTs)")
      ->capture_default_str();
  cmd.add_option("--rtc-epoch", o.rtc_epoch, "Unix time the guests' RTCs start at (default: now)");
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

std::optional<std::string> resolve_guest(GuestOptions& o, const std::string& results_dir, uint32_t cpu_mhz,
                                         uint32_t nodes, ResolvedGuests& out) {
  if (!o.guest.empty() && o.guest != "debian") return fmt::format("--guest '{}' is not a known guest (debian)", o.guest);
  if (o.guest.empty() && o.kernel.empty()) return "a guest run needs --guest debian or --kernel PATH";
  if (o.bare && o.vms_given) return "--bare runs one guest alone on the machine; it cannot go with --vms";
  if (o.vms == 0 || o.vms > 256) return fmt::format("--vms {} is not 1..256", o.vms);
  if (o.console >= 0 && o.console >= o.vms) return fmt::format("--console {}: the VMs are 0..{}", o.console, o.vms - 1);
  const std::string mem_text = !o.mem.empty() ? o.mem : o.bare ? kBareMem : kVmMem;
  const auto mem = parse_size(mem_text);
  if (!mem) return fmt::format("--vm-mem '{}' is not a size (like 64MiB)", mem_text);
  const auto placement = parse_placement(o.placement);
  if (!placement) return fmt::format("--placement '{}' is not local, interleave or first-touch", o.placement);
  if (!o.bare && *placement != Placement::Local) return "--placement is bare mode's; VMs are placed with --vm-placement";
  if (o.tlb_switch != "flush" && o.tlb_switch != "asid") return fmt::format("--tlb-switch '{}' is not flush or asid", o.tlb_switch);
  std::vector<NodeId> vm_nodes;
  if (auto e = place_vms(o.vm_placement, o.vms, nodes, vm_nodes)) return e;

  namespace fs = std::filesystem;
  const std::string cache = kSourceDir + "/guest-cache";
  std::string append = o.append;
  if (!o.guest.empty()) {
    if (!o.initrd.empty() && !o.init_cmd.empty()) return "--init-cmd builds the initramfs; it cannot go with --initrd";
    // Always asked: it is quick when the cache is complete, and it waits for a concurrent fetch.
    const std::string log = results_dir + "/fetch-guest.txt";
    if (!run_script(kSourceDir + "/scripts/fetch-guest >" + shell_quoted(log) + " 2>&1"))
      return "scripts/fetch-guest could not fetch the Debian guest (see " + log + ")";
    if (o.kernel.empty()) o.kernel = cache + "/debian/vmlinuz";
    if (!o.append_given) append = kDebianAppend;
  }
  if (o.initrd.empty() && (!o.guest.empty() || !o.init_cmd.empty())) {
    // Our busybox initramfs, built per run into the results folder (it holds the command).
    std::string cmd = fmt::format("{}/scripts/mkinitramfs --out {}", kSourceDir, shell_quoted(results_dir + "/initramfs.cpio.gz"));
    if (!o.init_cmd.empty()) cmd += " --cmd " + shell_quoted(o.init_cmd);
    for (const std::string& e : o.extra) cmd += " --extra " + shell_quoted(e);
    if (!run_script(cmd + " >&2")) return "scripts/mkinitramfs could not build the initramfs";
    o.initrd = results_dir + "/initramfs.cpio.gz";
  }
  if (o.interactive && !o.init_cmd.empty()) return "--interactive gives you the guest's shell; it cannot go with --init-cmd";

  std::error_code ec;
  const int64_t rtc_epoch = o.rtc_epoch >= 0 ? o.rtc_epoch : static_cast<int64_t>(std::time(nullptr));
  out = {};
  out.monitor.sched = {.tlb_switch = o.tlb_switch == "flush" ? mips::TlbSwitch::Flush : mips::TlbSwitch::Asid,
                       .quantum_us = o.quantum_us};
  out.streamed = o.console >= 0 ? o.console : o.bare || o.interactive ? 0 : -1;
  for (uint32_t i = 0; i < o.vms; ++i) {
    VmConfig vm{.id = i,
                .node = vm_nodes[i],
                .mode = o.bare ? VmMode::Bare : VmMode::Monitored,
                .kernel = fs::absolute(o.kernel, ec).string(),
                .initrd = o.initrd.empty() ? std::string() : fs::absolute(o.initrd, ec).string(),
                // Under the monitor each VM learns its id from its command line (/init exports it).
                .append = o.bare ? append : fmt::format("{}{}disco.vm={}", append, append.empty() ? "" : " ", i),
                .ram_bytes = *mem,
                .placement = *placement,
                .host_unpack = o.host_unpack,
                .cpu_mhz = cpu_mhz,
                .rtc_epoch_seconds = rtc_epoch,
                .isa_io_ns = o.isa_io_ns,
                .max_instructions = o.max_instructions,
                .compile = !o.interpret,
                .perf_map = o.perf_map,
                .l2tlb_entries = o.l2tlb_entries,
                .console_path = fs::absolute(fmt::format("{}/vm{}.console", results_dir, i), ec).string()};
    if (o.interactive && static_cast<int64_t>(i) == out.streamed) {
      vm.input_fifo = fs::absolute(results_dir + "/console.in", ec).string();
      vm.idle_in_real_time = true;
    }
    out.monitor.vms.push_back(vm);
  }
  return std::nullopt;
}

}  // namespace disco
