#include "monitor/bare_machine.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <thread>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "monitor/cpu/interpreter_run.h"
#include "monitor/loader/malta_loader.h"

namespace disco {
namespace {

// Instructions between two looks at the board's interrupt outputs and the stop flag when no
// timer or device event comes sooner: about 0.1 ms of guest time at 100 MHz.
constexpr uint64_t kSliceCycles = 10000;
constexpr uint64_t kMaxIdleSleepNs = 20'000'000;

}  // namespace

std::string_view name(BareExit e) {
  switch (e) {
    case BareExit::PowerOff: return "poweroff";
    case BareExit::Reset: return "reset";
    case BareExit::Stopped: return "stopped";
    case BareExit::InstructionLimit: return "instruction-limit";
    case BareExit::MemoryFailure: return "memory-failure";
  }
  return "?";
}

BareMachine::BareMachine(const BareConfig& config, MemoryPort& port, uint8_t* host_base, const MachineGeometry& g,
                         NodeId self, std::function<void(uint8_t)> console_out)
    : config_(config),
      port_(port),
      host_base_(host_base),
      self_(self),
      placement_(config.placement, config.ram_bytes, g, self),
      board_(malta::BoardConfig{.rtc_epoch_seconds = config.rtc_epoch_seconds, .isa_io_ns = config.isa_io_ns},
             std::move(console_out)) {
  interpreter_.set_compiling(config.compile);
  if (config.perf_map && !interpreter_.open_perf_map())
    spdlog::warn("cannot write /tmp/perf-{}.map: compiled blocks stay unnamed in perf", getpid());
  static_assert(sizeof(std::atomic<uint64_t>) == sizeof(uint64_t) && std::atomic<uint64_t>::is_always_lock_free);
  static_assert(sizeof(PcpuFilter::Entry) == 2 * sizeof(uint64_t));
  const MemoryPort::HitPath hit = port_.hit_path();
  interpreter_.set_direct_ram({.ram_bytes = static_cast<uint32_t>(config_.ram_bytes),
                               .machine_page = placement_.table(),
                               .linear_base = placement_.linear_base().value_or(~uint64_t{0}),
                               .host_base = hit.host_base,
                               .line_shift = hit.line_shift,
                               .active = reinterpret_cast<uint64_t*>(hit.active),
                               .tags = reinterpret_cast<const uint64_t*>(hit.entries),
                               .tag_mask = hit.mask,
                               .hits = reinterpret_cast<uint64_t*>(hit.hits)});
}

uint64_t BareMachine::cycles_at_ns(uint64_t ns) const {
  if (ns == UINT64_MAX) return UINT64_MAX;
  // The first cycle whose time (cycles * 1000 / mhz) is at or after ns.
  return (ns * config_.cpu_mhz + 999) / 1000;
}

std::string BareMachine::boot() {
  // The loader's writes land in machine memory page by page through the placement.
  class Writer final : public boot::PhysicalWriter {
   public:
    explicit Writer(BareMachine& m) : m_(m) {}
    bool write(uint32_t paddr, std::span<const uint8_t> bytes) override {
      if (paddr > m_.config_.ram_bytes || bytes.size() > m_.config_.ram_bytes - paddr) return false;
      while (!bytes.empty()) {
        const size_t chunk = std::min<size_t>(bytes.size(), kPageBytes - paddr % kPageBytes);
        std::memcpy(m_.host_base_ + m_.ram(paddr), bytes.data(), chunk);
        bytes = bytes.subspan(chunk);
        paddr += static_cast<uint32_t>(chunk);
      }
      return true;
    }

   private:
    BareMachine& m_;
  } writer(*this);
  const boot::LoadResult loaded = boot::load_malta_kernel(
      {.kernel_path = config_.kernel, .initrd_path = config_.initrd, .append = config_.append,
       .ram_bytes = config_.ram_bytes, .host_unpack = config_.host_unpack},
      writer);
  if (!loaded.state) return loaded.error;
  const boot::BootState& s = *loaded.state;
  board_.apply_yamon_state();
  // YAMON hands over in kernel mode with interrupts off, out of the boot ROM's BEV/ERL state.
  vcpu_.cp0.raw(mips::cp0::Status) = 0;
  for (unsigned i = 0; i < 4; ++i) vcpu_.gpr[4 + i] = s.a[i];
  vcpu_.gpr[29] = s.sp;
  vcpu_.jump_to(s.pc);
  return {};
}

BareExit BareMachine::run(const std::atomic<bool>& stop) {
  mips::Vcpu& v = vcpu_;
  uint64_t timer_at = v.cp0.next_timer_cycle(v.cycles);
  for (;;) {
    if (stop.load(std::memory_order_relaxed)) return BareExit::Stopped;
    switch (board_.power_event()) {
      case malta::PowerEvent::PowerOff: return BareExit::PowerOff;
      case malta::PowerEvent::Reset: return BareExit::Reset;
      case malta::PowerEvent::None: break;
    }
    if (memory_failed_) return BareExit::MemoryFailure;
    if (config_.max_instructions && instructions_ >= config_.max_instructions) return BareExit::InstructionLimit;

    const uint64_t device_at = cycles_at_ns(board_.next_event_ns(now_ns()));
    uint64_t until = std::min({timer_at, device_at, v.cycles + kSliceCycles});
    if (config_.max_instructions) until = std::min(until, v.cycles + (config_.max_instructions - instructions_));
    mips::RunStats stats;
    const mips::RunExit exit = interpreter_.run(v, *this, until, stats);
    instructions_ += stats.instructions;
    exceptions_ += stats.exceptions;
    if (exit == mips::RunExit::TimerMoved) timer_at = v.cp0.next_timer_cycle(v.cycles);
    if (exit == mips::RunExit::Waiting && !mips::Interpreter::interrupt_pending(v) && v.cycles < until) {
      // Idle until the next event: time jumps there (an interrupt already pending is taken
      // by the next block instead).
      const uint64_t skipped_ns = (until - v.cycles) * 1000 / config_.cpu_mhz;
      v.cycles = until;
      if (config_.idle_in_real_time)
        std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<uint64_t>(skipped_ns, kMaxIdleSleepNs)));
    }
    if (v.cycles >= timer_at) {
      v.cp0.raise_timer();
      timer_at = v.cp0.next_timer_cycle(v.cycles);
    }
    sample_interrupts();
  }
}

bool BareMachine::device_load(uint32_t pa, unsigned size, uint32_t& out) {
  const bool ok = board_.read(pa, size, out, now_ns());
  device_accessed(pa);
  return ok;
}

bool BareMachine::device_store(uint32_t pa, unsigned size, uint32_t value) {
  const bool ok = board_.write(pa, size, value, now_ns());
  device_accessed(pa);
  return ok;
}

void BareMachine::device_accessed(uint32_t pa) {
  vcpu_.cycles += cycles_at_ns(board_.bus_ns(pa));  // the access completes after its bus time
  sample_interrupts();
}

bool BareMachine::load_linked(uint32_t pa, uint32_t& out) {
  if (pa >= config_.ram_bytes) return false;  // LL/SC on a device: a bus error
  const bool ok = port_.load_linked(ram(pa), out);
  memory_failed_ |= !ok;
  return ok;
}

bool BareMachine::store_conditional(uint32_t pa, uint32_t value, bool& stored) {
  stored = false;
  if (pa >= config_.ram_bytes) return false;
  const bool ok = port_.store_conditional(ram(pa), value, stored);
  memory_failed_ |= !ok;
  return ok;
}

}  // namespace disco
