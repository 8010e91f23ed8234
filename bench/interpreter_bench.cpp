// The interpreter's dispatch rate (instructions per host second) on a loop of ALU, load, store
// and branch instructions in kseg0, against flat host memory: the CPU's own cost, without the
// coherence layer (hot_paths_bench measures the MemoryPort hit that a RAM access adds).
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "monitor/cpu/interpreter.h"

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

}  // namespace

BENCHMARK_MAIN();
