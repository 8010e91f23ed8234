#include "monitor/bare_guest.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "monitor/loader/malta_loader.h"
#include "node/strict_json.h"

namespace disco {
namespace {

// Bare mode's RAM is the Malta's low RAM window (the stock kernel has no HIGHMEM, MALTA.md),
// and at least what the loader needs for the unpacked kernel.
constexpr uint64_t kMaxGuestRam = boot::kLowRamLimit;
constexpr uint64_t kMinGuestRam = boot::kMinRamBytes;

// Appends console bytes to the console file, one write per byte: the launcher and a user
// watching the file see every byte as soon as the guest sends it.
class ConsoleFile {
 public:
  explicit ConsoleFile(const std::string& path) : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) {
    if (fd_ < 0) spdlog::error("cannot open the console file {}: {}", path, std::strerror(errno));
  }
  ~ConsoleFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  ConsoleFile(const ConsoleFile&) = delete;
  ConsoleFile& operator=(const ConsoleFile&) = delete;
  void put(uint8_t byte) {
    if (fd_ >= 0 && ::write(fd_, &byte, 1) != 1) bytes_lost_++;
  }
  uint64_t bytes_lost() const { return bytes_lost_; }

 private:
  int fd_;
  uint64_t bytes_lost_ = 0;
};

}  // namespace

nlohmann::json to_json(const BareGuestSpec& g) {
  const BareConfig& b = g.boot;
  return {{"kernel", b.kernel},
          {"initrd", b.initrd},
          {"append", b.append},
          {"ram_bytes", b.ram_bytes},
          {"placement", name(b.placement)},
          {"host_unpack", b.host_unpack},
          {"compile", b.compile},
          {"perf_map", b.perf_map},
          {"cpu_mhz", b.cpu_mhz},
          {"rtc_epoch_seconds", b.rtc_epoch_seconds},
          {"isa_io_ns", b.isa_io_ns},
          {"max_instructions", b.max_instructions},
          {"idle_in_real_time", b.idle_in_real_time},
          {"console", g.console_path},
          {"input_fifo", g.input_fifo}};
}

BareGuestSpec bare_guest_from_json(const nlohmann::json& j) {
  BareGuestSpec g;
  BareConfig& b = g.boot;
  StrictObject o(j, "guest");
  std::string placement(name(b.placement));
  o.get("kernel", b.kernel);
  o.get("initrd", b.initrd);
  o.get("append", b.append);
  o.get("ram_bytes", b.ram_bytes);
  o.get("placement", placement);
  o.get("host_unpack", b.host_unpack);
  o.get("compile", b.compile);
  o.get("perf_map", b.perf_map);
  o.get("cpu_mhz", b.cpu_mhz);
  o.get("rtc_epoch_seconds", b.rtc_epoch_seconds);
  o.get("isa_io_ns", b.isa_io_ns);
  o.get("max_instructions", b.max_instructions);
  o.get("idle_in_real_time", b.idle_in_real_time);
  o.get("console", g.console_path);
  o.get("input_fifo", g.input_fifo);
  o.finish();
  const auto p = parse_placement(placement);
  if (!p) throw std::runtime_error(fmt::format("config: guest.placement '{}' is not local, interleave or first-touch", placement));
  b.placement = *p;
  return g;
}

std::string check(const BareGuestSpec& g, const MachineGeometry& machine) {
  const BareConfig& b = g.boot;
  if (b.kernel.empty()) return "the guest needs a kernel";
  if (b.ram_bytes < kMinGuestRam || b.ram_bytes > kMaxGuestRam || b.ram_bytes % kPageBytes)
    return fmt::format("guest memory must be a multiple of 4KiB from {} MiB to {} MiB (the Malta's low RAM window)",
                       kMinGuestRam >> 20, kMaxGuestRam >> 20);
  if (b.cpu_mhz == 0 || b.cpu_mhz > 100000) return "the vcpu clock must be 1..100000 MHz";
  return PhysicalPlacement::check(b.placement, b.ram_bytes, machine);
}

WorkloadResult run_bare_guest(const PcpuRun& run) {
  WorkloadResult result;
  if (run.where.node != 0 || run.where.pcpu != 0) return result;  // one vcpu, on node 0
  const BareGuestSpec spec = bare_guest_from_json(run.config.guest);
  auto fail = [&](const std::string& why) {
    result.failed_accesses = 1;
    result.first_errors.push_back(why);
    // A run that failed keeps what it measured; a boot that failed has nothing else to say.
    if (result.report.is_null()) result.report = {{"poweroff", false}, {"guest_instructions", 0}};
    result.report["error"] = why;
    return result;
  };
  if (const std::string e = check(spec, run.config.shape.geometry); !e.empty()) return fail(e);

  ConsoleFile console(spec.console_path);
  BareMachine machine(spec.boot, run.port, run.machine_base, run.config.shape.geometry, run.where.node,
                      [&](uint8_t byte) { console.put(byte); });
  if (const std::string e = machine.boot(); !e.empty()) return fail(e);

  // Keystrokes: a reader thread moves bytes from the FIFO into the board's UART.
  std::atomic<bool> done{false};
  std::thread input;
  if (!spec.input_fifo.empty()) {
    input = std::thread([&] {
      const int fd = ::open(spec.input_fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) return;
      uint8_t buf[256];
      while (!done.load() && !run.stop.load()) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
          for (ssize_t i = 0; i < n; ++i) machine.console_input(buf[i]);
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
      }
      ::close(fd);
    });
  }
  const BareExit exit = machine.run(run.stop);
  done = true;
  if (input.joinable()) input.join();

  result.ops = machine.instructions();
  result.report = {{"guest_instructions", machine.instructions()},
                   {"exit", name(exit)},
                   {"poweroff", exit == BareExit::PowerOff},
                   {"guest_ns", machine.guest_ns()},
                   {"exceptions", machine.exceptions()},
                   {"cp0_guest_errors", machine.cp0_guest_errors()},
                   {"compiled_blocks", machine.compiled_blocks()},
                   {"unclaimed_device_accesses", machine.unclaimed_device_accesses()},
                   {"console_bytes_lost", console.bytes_lost()},
                   {"pages_by_node", machine.placement().pages_by_node()},
                   {"final_pc", machine.vcpu().pc}};
  if (exit == BareExit::MemoryFailure) return fail("a guest memory access failed in the machine (a node is down)");
  return result;
}

}  // namespace disco
