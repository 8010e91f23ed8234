#include "monitor/vm/vm.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <thread>

#include <spdlog/spdlog.h>

#include "monitor/cpu/interpreter_run.h"
#include "monitor/loader/malta_loader.h"

namespace disco {
namespace {

// Instructions between two looks at the board's interrupt outputs and the stop flag when no
// timer or device event comes sooner: about 1 ms of guest time at 100 MHz (each look costs the
// compiled code its chain: at 10,000, 2 % of a CPU-bound loop's host time went to them).
constexpr uint64_t kSliceCycles = 100000;
constexpr uint64_t kMaxIdleSleepNs = 20'000'000;

nlohmann::json entries_json(const MonitorEntryTable& table, uint64_t tsc_per_us) {
  nlohmann::json entries = nlohmann::json::object();
  for (unsigned k = 0; k < kMonitorEntryKinds; ++k) {
    const MonitorEntryStats& e = table[k];
    if (e.count == 0 && e.in_run == 0) continue;
    entries[std::string(name(static_cast<MonitorEntry>(k)))] = {
        {"count", e.count}, {"in_run", e.in_run}, {"host_ns", tsc_per_us ? e.host_ticks * 1000 / tsc_per_us : 0}};
  }
  return entries;
}

}  // namespace

std::string_view name(VmExit e) {
  switch (e) {
    case VmExit::Running: return "running";
    case VmExit::PowerOff: return "poweroff";
    case VmExit::Reset: return "reset";
    case VmExit::Crash: return "crash";
    case VmExit::Limit: return "limit";
    case VmExit::Stopped: return "stopped";
    case VmExit::MemoryFailure: return "memory-failure";
    case VmExit::BootFailed: return "boot-failed";
  }
  return "?";
}

Vm::Vm(const VmConfig& config, Pmap pmap, MemoryPort& port, uint8_t* host_base, mips::MachineTlb* machine_tlb,
       uint16_t owner)
    : config_(config),
      pmap_(std::move(pmap)),
      host_base_(host_base),
      console_(config.console_path),
      board_(malta::BoardConfig{.rtc_epoch_seconds = config.rtc_epoch_seconds, .isa_io_ns = config.isa_io_ns},
             [this](uint8_t byte) { console_.put(byte); }),
      bus_(pmap_, port, board_, vcpu_, config.cpu_mhz, config.node) {
  // A miss costs its modelled latency (node/timing.h: --local-miss-ns and the rest) in guest
  // cycles, rounded to the nearest.
  miss_charge_.clock = &vcpu_.cycles;
  for (unsigned c = 0; c < kMissClasses; ++c)
    miss_charge_.cycles[c] =
        (uint64_t{miss_latency_ns(port.timing(), static_cast<MissClass>(c))} * config.cpu_mhz + 500) / 1000;
  console_.on_marker([this](const std::string& line) {
    if (marks_.size() >= kMaxMarks) return;
    const auto host = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - built_);
    marks_.push_back({.line = line, .guest_ns = bus_.now_ns(), .host_ns = static_cast<uint64_t>(host.count()),
                      .instructions = counters_.instructions,
                      .entries = monitor_ ? monitor_->stats().entries : MonitorEntryTable{}});
  });
  vcpu_.l2tlb = mips::L2Tlb(config.l2tlb_entries);
  interpreter_.set_compiling(config.compile);
  if (config.perf_map && !interpreter_.open_perf_map())
    spdlog::warn("cannot write /tmp/perf-{}.map: compiled blocks stay unnamed in perf", getpid());
  static_assert(sizeof(std::atomic<uint64_t>) == sizeof(uint64_t) && std::atomic<uint64_t>::is_always_lock_free);
  static_assert(sizeof(PcpuFilter::Entry) == 2 * sizeof(uint64_t));
  const MemoryPort::HitPath hit = port.hit_path();
  interpreter_.set_direct_ram({.ram_bytes = static_cast<uint32_t>(pmap_.bytes()),
                               .machine_page = pmap_.table(),
                               .linear_base = pmap_.linear_base().value_or(~uint64_t{0}),
                               .host_base = hit.host_base,
                               .line_shift = hit.line_shift,
                               .active = reinterpret_cast<uint64_t*>(hit.active),
                               .tags = reinterpret_cast<const uint64_t*>(hit.entries),
                               .tag_mask = hit.mask,
                               .hits = reinterpret_cast<uint64_t*>(hit.hits)});
  if (config.mode == VmMode::Monitored && machine_tlb != nullptr) {
    monitor_ = std::make_unique<VcpuMonitor>(interpreter_, *machine_tlb, owner, pmap_,
                                             config.node, *this);
    interpreter_.set_trap_handler(monitor_.get());
  }
}

std::string Vm::boot(bool through_port) {
  if (!console_.opened()) {
    exit_ = VmExit::BootFailed;
    return "cannot open the console file " + config_.console_path;
  }
  // The loader's writes land in machine memory page by page through the pmap.
  class Writer final : public boot::PhysicalWriter {
   public:
    Writer(Vm& vm, bool through_port) : vm_(vm), through_port_(through_port) {}
    bool write(uint32_t paddr, std::span<const uint8_t> bytes) override {
      if (paddr > vm_.pmap_.bytes() || bytes.size() > vm_.pmap_.bytes() - paddr) return false;
      while (!bytes.empty()) {
        const size_t chunk = std::min<size_t>(bytes.size(), kPageBytes - paddr % kPageBytes);
        const MachineAddr to = vm_.pmap_.machine_address(paddr, vm_.config_.node);
        if (through_port_) {
          if (!vm_.bus_.port().write(to, bytes.first(chunk))) return false;
        } else {
          std::memcpy(vm_.host_base_ + to, bytes.data(), chunk);
        }
        bytes = bytes.subspan(chunk);
        paddr += static_cast<uint32_t>(chunk);
      }
      return true;
    }

   private:
    Vm& vm_;
    const bool through_port_;
  } writer(*this, through_port);
  const boot::LoadResult loaded = boot::load_malta_kernel(
      {.kernel_path = config_.kernel, .initrd_path = config_.initrd, .append = config_.append,
       .ram_bytes = config_.ram_bytes, .host_unpack = config_.host_unpack},
      writer);
  if (!loaded.state) {
    exit_ = VmExit::BootFailed;
    return loaded.error;
  }
  const boot::BootState& s = *loaded.state;
  board_.apply_yamon_state();
  // YAMON hands over in kernel mode with interrupts off, out of the boot ROM's BEV/ERL state.
  vcpu_.cp0.raw(mips::cp0::Status) = 0;
  for (unsigned i = 0; i < 4; ++i) vcpu_.gpr[4 + i] = s.a[i];
  vcpu_.gpr[29] = s.sp;
  vcpu_.jump_to(s.pc);
  timer_at_ = vcpu_.cp0.next_timer_cycle(vcpu_.cycles);
  return {};
}

void Vm::run(uint64_t until_cycles, const std::atomic<bool>& stop) {
  mips::Vcpu& v = vcpu_;
  // The pcpu's misses are this VM's while it runs (the scheduler runs one VM at a time on it).
  struct Charging {
    MemoryPort& port;
    ~Charging() { port.charge_misses_to(nullptr); }
  } charging{bus_.port()};
  bus_.port().charge_misses_to(&miss_charge_);
  while (exit_ == VmExit::Running) {
    if (stop.load(std::memory_order_relaxed)) {
      exit_ = VmExit::Stopped;
      break;
    }
    switch (board_.power_event()) {
      case malta::PowerEvent::PowerOff: exit_ = VmExit::PowerOff; break;
      case malta::PowerEvent::Reset: exit_ = console_.panicked() ? VmExit::Crash : VmExit::Reset; break;
      case malta::PowerEvent::None: break;
    }
    if (exit_ != VmExit::Running) break;
    if (bus_.memory_failed()) {
      exit_ = VmExit::MemoryFailure;
      break;
    }
    if (config_.max_instructions && counters_.instructions >= config_.max_instructions) {
      exit_ = VmExit::Limit;
      break;
    }
    if (v.cycles >= until_cycles) break;

    const uint64_t device_at = bus_.cycles_at_ns(board_.next_event_ns(bus_.now_ns()));
    const uint64_t events = std::min(timer_at_, device_at);
    uint64_t until = std::min({events, v.cycles + kSliceCycles, until_cycles});
    if (config_.max_instructions)
      until = std::min(until, v.cycles + (config_.max_instructions - counters_.instructions));
    mips::RunStats stats;
    const mips::RunExit exit = interpreter_.run(v, bus_, until, stats);
    counters_.instructions += stats.instructions;
    counters_.exceptions += stats.exceptions;
    if (exit == mips::RunExit::TimerMoved) timer_at_ = v.cp0.next_timer_cycle(v.cycles);
    if (exit == mips::RunExit::Waiting && !mips::Interpreter::interrupt_pending(v)) {
      // Idle until the next event, or the end of this turn: time jumps there (an interrupt
      // already pending is taken by the next block instead).
      const uint64_t wake = std::min(std::min(timer_at_, device_at), until_cycles);
      if (v.cycles < wake) {
        const uint64_t skipped_ns = (wake - v.cycles) * 1000 / config_.cpu_mhz;
        counters_.idle_cycles += wake - v.cycles;
        v.cycles = wake;
        if (config_.idle_in_real_time)
          std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<uint64_t>(skipped_ns, kMaxIdleSleepNs)));
      }
    }
    if (v.cycles >= timer_at_) {
      v.cp0.raise_timer();
      timer_at_ = v.cp0.next_timer_cycle(v.cycles);
    }
    bus_.sample_interrupts();
    counters_.reached_user = counters_.reached_user || interpreter_.user_cycles(v) != 0;
  }
  published_.instructions.store(counters_.instructions, std::memory_order_relaxed);
  published_.up.store(counters_.reached_user, std::memory_order_relaxed);
  published_.ended.store(exit_ != VmExit::Running, std::memory_order_relaxed);
}

uint64_t Vm::touched_pages() const {
  // The host pages under the VM's machine pages that exist: what the guest (or its loader) wrote
  // or read. Machine memory is not allocated ahead (shm/machine_memory.h), so this is the VM's
  // real footprint.
  const long host_page = ::sysconf(_SC_PAGESIZE);
  uint64_t touched = 0;
  std::vector<unsigned char> resident;
  for (uint64_t page = 0; page < pmap_.pages();) {
    // A run of guest pages on consecutive machine pages, asked about at once.
    const MachineAddr first = pmap_.table()[page];
    uint64_t n = 1;
    while (first != Pmap::kUnmapped && page + n < pmap_.pages() && pmap_.table()[page + n] == first + n * kPageBytes) ++n;
    if (first != Pmap::kUnmapped) {
      resident.resize((n * kPageBytes + host_page - 1) / host_page);
      if (::mincore(host_base_ + first, n * kPageBytes, resident.data()) == 0)
        for (unsigned char r : resident) touched += (r & 1) ? static_cast<uint64_t>(host_page) / kPageBytes : 0;
    }
    page += n;
  }
  return touched;
}

bool Vm::zero_page(uint32_t gpa) {
  if (gpa >= pmap_.bytes()) return false;
  for (uint32_t offset = 0; offset < kPageBytes; offset += 4)
    if (!bus_.store(gpa + offset, 4, 0)) return false;
  return true;
}

bool Vm::release_page(uint32_t gpa) {
  if (gpa >= pmap_.bytes()) return false;
  // The host page under it goes back to the host; the segment reads zero there from now on.
  return ::madvise(host_base_ + pmap_.machine_address(gpa, config_.node), kPageBytes, MADV_REMOVE) == 0;
}

nlohmann::json Vm::report(uint64_t tsc_per_us) const {
  const mips::Vcpu& v = vcpu_;
  const double mhz = config_.cpu_mhz;
  const auto seconds = [&](uint64_t cycles) { return static_cast<double>(cycles) / mhz / 1e6; };
  const VcpuMonitorStats none;
  const VcpuMonitorStats& m = monitor_ ? monitor_->stats() : none;
  const auto charged = [&](MissClass c) { return miss_charge_.charged[static_cast<unsigned>(c)]; };
  const uint64_t user = interpreter_.user_cycles(v) - std::min(m.monitor_cycles_in_user, interpreter_.user_cycles(v));
  const uint64_t accounted = user + counters_.idle_cycles + m.monitor_cycles;
  const nlohmann::json entries = entries_json(m.entries, tsc_per_us);
  nlohmann::json by_cause = nlohmann::json::object();
  const auto& causes = interpreter_.exceptions_by_cause();
  for (unsigned c = 0; c < mips::kExceptionKinds; ++c)
    if (causes[c]) by_cause[std::string(mips::name(static_cast<mips::Exception>(c)))] = causes[c];
  const uint64_t tlb_exceptions = causes[static_cast<unsigned>(mips::Exception::TlbLoad)] +
                                  causes[static_cast<unsigned>(mips::Exception::TlbStore)];
  nlohmann::json fallbacks = nlohmann::json::object();
  for (size_t op = 0; op < mips::kOpCount; ++op)
    if (const uint64_t n = interpreter_.fallbacks_by_op()[op]) fallbacks[std::string(mips::name(static_cast<mips::Op>(op)))] = n;
  const uint64_t l2tlb_hits = monitor_ ? m.l2tlb_hits : interpreter_.l2tlb_hits();
  const uint64_t guest_tlb_faults = monitor_ ? m.guest_tlb_faults : tlb_exceptions;
  nlohmann::json marks = nlohmann::json::array();
  for (const Mark& m : marks_)
    marks.push_back({{"line", m.line}, {"guest_s", m.guest_ns / 1e9}, {"host_s", m.host_ns / 1e9},
                     {"instructions", m.instructions}, {"monitor_entries", entries_json(m.entries, tsc_per_us)}});
  nlohmann::json pages = nlohmann::json::object();
  for (size_t n = 0; n < pmap_.pages_by_node().size(); ++n)
    if (pmap_.pages_by_node()[n]) pages[std::to_string(n)] = pmap_.pages_by_node()[n];
  return {{"id", config_.id},
          {"node", config_.node},
          {"mode", name(config_.mode)},
          {"exit", name(exit_)},
          {"console", config_.console_path},
          {"instructions", counters_.instructions},
          {"guest_seconds",
           {{"total", seconds(v.cycles)},
            {"user", seconds(user)},
            {"kernel", seconds(v.cycles - std::min(accounted, v.cycles))},
            {"monitor", seconds(m.monitor_cycles)},
            {"idle", seconds(counters_.idle_cycles)}}},
          // Of the total (inside user and kernel): what the VM's cache misses cost, by where they
          // were served.
          {"miss_guest_seconds",
           {{"local", seconds(charged(MissClass::Local))},
            {"remote", seconds(charged(MissClass::Remote2Hop) + charged(MissClass::Remote3Hop))},
            {"remote_dirty", seconds(charged(MissClass::Remote3Hop))}}},
          {"monitor_entries", entries},
          {"special_page_accesses", m.special_page},
          // Mapped accesses the interpreter's soft TLB (what compiled code checks in line) missed.
          {"soft_tlb_misses", interpreter_.soft_tlb_misses()},
          // Bare mode: the guest's TLB is the machine's; its misses are the TLB exceptions it
          // took and the JTLB misses its L2TLB answered.
          {"tlb_misses", monitor_ ? m.machine_tlb_misses : tlb_exceptions + l2tlb_hits},
          {"l2tlb_hits", l2tlb_hits},
          {"l2tlb_hit_rate", l2tlb_hits + guest_tlb_faults
                                 ? static_cast<double>(l2tlb_hits) / static_cast<double>(l2tlb_hits + guest_tlb_faults)
                                 : 0.0},
          {"virtual_tlb_refills", m.virtual_tlb_refills},
          {"guest_tlb_faults", guest_tlb_faults},
          {"l2tlb_clears", interpreter_.l2tlb_clears()},
          {"pages_zeroed", m.pages_zeroed},
          {"pages_released", m.pages_released},
          {"local_misses", counters_.local_misses},
          {"remote_misses", counters_.remote_misses},
          {"machine_pages", pages},
          {"exceptions", counters_.exceptions},
          {"exceptions_by_cause", by_cause},
          {"fallbacks", fallbacks},
          {"switches_in", counters_.switches_in},
          {"reached_user", counters_.reached_user},
          {"compiled_blocks", interpreter_.compiled_blocks()},
          {"cp0_guest_errors", interpreter_.guest_errors()},
          {"unclaimed_device_accesses", board_.unclaimed_accesses()},
          {"unbacked_accesses", bus_.unbacked_accesses()},
          {"console_bytes_lost", console_.bytes_lost()},
          {"console_marks", marks},
          {"machine_mib_touched", static_cast<double>(touched_pages()) * kPageBytes / (1 << 20)},
          {"final_pc", v.pc}};
}

}  // namespace disco
