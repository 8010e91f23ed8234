#include "launcher/guest_options.h"

#include <fmt/format.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "node/machine_config.h"

namespace disco {
namespace {

// Where the repository's scripts and the guest cache are: next to the build that made us.
const std::string kSourceDir = DISCO_SOURCE_DIR;

// The default guest's kernel command line: stable addresses, no crypto self-tests (they cost
// guest time and test nothing of ours), and a panic reboots (the run ends, reporting "reset")
// instead of spinning forever. The kernel adds console=ttyS0 from the YAMON env.
constexpr const char* kDebianAppend = "nokaslr cryptomgr.notests=1 panic=-1";

std::string shell_quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs a repository script; its own one-line error goes to stderr.
bool run_script(const std::string& command) { return std::system(command.c_str()) == 0; }

}  // namespace

void add_guest_flags(CLI::App& cmd, GuestOptions& o) {
  cmd.add_flag("--bare", o.bare, "boot a guest kernel directly on the machine (no monitor)");
  cmd.add_option("--guest", o.guest, "a known guest: debian (Debian 12's stock 4kc-malta kernel and a busybox initramfs)");
  cmd.add_option("--kernel", o.kernel, "a Malta kernel (ELF vmlinuz)");
  cmd.add_option("--initrd", o.initrd, "an initramfs for --kernel");
  cmd.add_option("--append", o.append, "the kernel command line")->each([&o](const std::string&) { o.append_given = true; });
  cmd.add_option("--init-cmd", o.init_cmd, "a shell command the guest's /init runs before powering off");
  cmd.add_option("--extra", o.extra, "HOST:GUEST files for the generated initramfs");
  cmd.add_option("--mem", o.mem, "guest memory (16MiB..256MiB)")->capture_default_str();
  cmd.add_option("--placement", o.placement, "guest memory on the nodes: local, interleave or first-touch")
      ->capture_default_str();
  cmd.add_flag("--host-unpack", o.host_unpack, "unpack the kernel's xz payload on the host and enter it directly");
  cmd.add_flag("--interpret", o.interpret, "interpret every guest instruction (no compiled blocks; slower)");
  cmd.add_flag("--perf-map", o.perf_map, "name compiled guest blocks in /tmp/perf-<pid>.map for `perf report`");
  cmd.add_option("--max-instructions", o.max_instructions, "stop the guest after this many instructions (0: none)");
  cmd.add_option("--isa-io-ns", o.isa_io_ns, "guest time one access to an ISA I/O port takes (PIC, PIT, RTC, UARTs)")
      ->capture_default_str();
  cmd.add_option("--rtc-epoch", o.rtc_epoch, "Unix time the guest's RTC starts at (default: now)");
  cmd.add_flag("--interactive", o.interactive, "the terminal is the guest's console (Ctrl-A x quits)");
}

std::optional<std::string> resolve_guest(GuestOptions& o, const std::string& results_dir, uint32_t cpu_mhz,
                                         BareGuestSpec& spec) {
  BareConfig& b = spec.boot;
  if (!o.guest.empty() && o.guest != "debian") return fmt::format("--guest '{}' is not a known guest (debian)", o.guest);
  if (o.guest.empty() && o.kernel.empty()) return "--bare needs --guest debian or --kernel PATH";
  const auto mem = parse_size(o.mem);
  if (!mem) return fmt::format("--mem '{}' is not a size (like 256MiB)", o.mem);
  b.ram_bytes = *mem;
  const auto placement = parse_placement(o.placement);
  if (!placement) return fmt::format("--placement '{}' is not local, interleave or first-touch", o.placement);
  b.placement = *placement;
  b.host_unpack = o.host_unpack;
  b.compile = !o.interpret;
  b.perf_map = o.perf_map;
  b.isa_io_ns = o.isa_io_ns;
  b.max_instructions = o.max_instructions;
  b.cpu_mhz = cpu_mhz;
  b.rtc_epoch_seconds = o.rtc_epoch >= 0 ? o.rtc_epoch : static_cast<int64_t>(std::time(nullptr));
  b.append = o.append;

  namespace fs = std::filesystem;
  const std::string cache = kSourceDir + "/guest-cache";
  if (!o.guest.empty()) {
    if (!o.initrd.empty() && !o.init_cmd.empty()) return "--init-cmd builds the initramfs; it cannot go with --initrd";
    // Always asked: it is quick when the cache is complete, and it waits for a concurrent fetch.
    const std::string log = results_dir + "/fetch-guest.txt";
    if (!run_script(kSourceDir + "/scripts/fetch-guest >" + shell_quoted(log) + " 2>&1"))
      return "scripts/fetch-guest could not fetch the Debian guest (see " + log + ")";
    if (o.kernel.empty()) o.kernel = cache + "/debian/vmlinuz";
    if (!o.append_given) b.append = kDebianAppend;
  }
  if (o.initrd.empty() && (!o.guest.empty() || !o.init_cmd.empty())) {
    // Our busybox initramfs, built per run into the results folder (it holds the command).
    std::string cmd = fmt::format("{}/scripts/mkinitramfs --out {}", kSourceDir, shell_quoted(results_dir + "/initramfs.cpio.gz"));
    if (!o.init_cmd.empty()) cmd += " --cmd " + shell_quoted(o.init_cmd);
    for (const std::string& e : o.extra) cmd += " --extra " + shell_quoted(e);
    if (!run_script(cmd + " >&2")) return "scripts/mkinitramfs could not build the initramfs";
    o.initrd = results_dir + "/initramfs.cpio.gz";
  }
  std::error_code ec;
  b.kernel = fs::absolute(o.kernel, ec).string();
  b.initrd = o.initrd.empty() ? std::string() : fs::absolute(o.initrd, ec).string();
  spec.console_path = fs::absolute(results_dir + "/console.log", ec).string();
  if (o.interactive) {
    if (!o.init_cmd.empty()) return "--interactive gives you the guest's shell; it cannot go with --init-cmd";
    spec.input_fifo = fs::absolute(results_dir + "/console.in", ec).string();
    b.idle_in_real_time = true;
  }
  return std::nullopt;
}

}  // namespace disco
