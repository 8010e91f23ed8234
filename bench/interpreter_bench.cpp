// The interpreter's dispatch rate (instructions per host second) on a loop of ALU, load, store
// and branch instructions in kseg0, against flat host memory: the CPU's own cost, without the
// coherence layer (hot_paths_bench measures the MemoryPort hit that a RAM access adds); and the
// block compiler's code for cpuloop's loop.
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "monitor/cpu/interpreter_run.h"
#include "node/pcpu_filter.h"

namespace {

using namespace disco::mips;

class FlatRam final : public GuestMemory {
 public:
  FlatRam() : bytes_(1 << 20) {}
  bool load(uint32_t a, unsigned size, uint32_t& out) override {
    if (a + size > bytes_.size()) return false;
    out = 0;
    std::memcpy(&out, &bytes_[a], size);
    return true;
  }
  bool store(uint32_t a, unsigned size, uint32_t v) override {
    if (a + size > bytes_.size()) return false;
    std::memcpy(&bytes_[a], &v, size);
    return true;
  }
  bool load_linked(uint32_t a, uint32_t& out) override { return load(a, 4, out); }
  bool store_conditional(uint32_t a, uint32_t v, bool& stored) override { return stored = store(a, 4, v); }
  bool fetch(uint32_t a, uint32_t& w) override { return load(a, 4, w); }
  void put(uint32_t a, uint32_t w) { std::memcpy(&bytes_[a], &w, 4); }
  uint8_t* data() { return bytes_.data(); }
  uint32_t size() const { return static_cast<uint32_t>(bytes_.size()); }

 private:
  std::vector<uint8_t> bytes_;
};

// 0x1000: addiu t0, t0, 1 ; lw t1, 0(s0) ; addu t1, t1, t0 ; sw t1, 4(s0) ; xor t2, t1, t0 ;
//         sltu t3, t0, s1 ; bne t3, zero, 0x1000 ; nop ; break
void BM_InterpreterLoop(benchmark::State& state) {
  FlatRam ram;
  const uint32_t code[] = {0x25080001, 0x8e090000, 0x01284821, 0xae090004, 0x01285026,
                           0x0111582b, 0x1560fff9, 0x00000000, 0x0000000d};
  for (unsigned i = 0; i < std::size(code); ++i) ram.put(0x1000 + 4 * i, code[i]);
  Vcpu v;
  v.cp0.raw(cp0::Status) = 0;
  Interpreter interp;
  uint64_t steps = 0;
  for (auto _ : state) {
    v.gpr[8] = 0;
    v.gpr[16] = 0x80008000;
    v.gpr[17] = 100000;
    v.jump_to(0x80001000);
    for (;;) {
      const StepResult r = interp.step(v, ram);
      if (r.exc != Exception::None) break;
      ++steps;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(steps));
  state.counters["instructions"] = static_cast<double>(steps);
}
BENCHMARK(BM_InterpreterLoop)->Unit(benchmark::kMillisecond);

// guest/programs/cpuloop's loop (16 instructions: a load and a store through the soft TLB and the
// node cache's tag check, ALU, a branch) compiled and chained to itself, in user mode, run by
// Interpreter::run as a vcpu runs it, every line held: the compiled code's own cost per
// iteration (QEMU's TCG runs the same loop in about 3.3 ns on our 2-core machine).
void BM_CompiledCpuloop(benchmark::State& state) {
  constexpr uint32_t kIterations = 1'000'000, kCode = 0x1000, kRing = 0x10000, kLineShift = 6;
  const uint32_t loop[] = {0x00c74021, 0x8d090000, 0x00691821, 0x70625002, 0x002319c2, 0x006a1826,
                           0x000350c2, 0x004a1021, 0x0062502b, 0x004a1021, 0xad030000, 0x24e70004,
                           0x30e73ffc, 0x24a5ffff, 0x14a0fff1, 0x384205a5};
  FlatRam ram;
  for (unsigned i = 0; i < std::size(loop); ++i) ram.put(kCode + 4 * i, loop[i]);
  Vcpu v;
  Cp0 scratch;  // kuseg's first 256 MiB at physical 0, global
  scratch.raw(cp0::PageMask) = 0x1fffe000;
  scratch.raw(cp0::EntryLo0) = EntryLoBits::G | EntryLoBits::V | EntryLoBits::D;
  scratch.raw(cp0::EntryLo1) = EntryLoBits::G;
  v.tlb.write(scratch, 0);
  v.cp0.raw(cp0::Status) = StatusBits::UM;
  const uint64_t lines = ram.size() >> kLineShift;
  disco::PcpuFilter filter(static_cast<uint32_t>(lines));
  for (uint64_t l = 0; l < lines; ++l) filter.fill(l, true);  // every line held, read and write
  uint64_t hits = 0;
  Interpreter interp;
  interp.set_compiling(true, 0);
  interp.set_direct_ram({.ram_bytes = ram.size(), .linear_base = 0, .host_base = ram.data(), .line_shift = kLineShift,
                         .active = reinterpret_cast<uint64_t*>(filter.active()),
                         .tags = reinterpret_cast<const uint64_t*>(filter.entries()), .tag_mask = filter.mask(),
                         .hits = &hits});
  uint64_t instructions = 0;
  for (auto _ : state) {
    v.gpr[5] = kIterations;  // a1: the count
    v.gpr[6] = kRing;        // a2: the ring
    v.gpr[7] = 0;            // a3: the offset in it
    v.jump_to(kCode);
    RunStats stats;
    interp.run(v, ram, v.cycles + 16 * kIterations, stats);
    instructions += stats.instructions;
  }
  state.SetItemsProcessed(static_cast<int64_t>(instructions));
  state.counters["ns_per_iteration"] =
      benchmark::Counter(static_cast<double>(instructions) / 16, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_CompiledCpuloop)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
