// The Malta board's cost per CPU access on the paths a booting kernel hammers: the RTC poll of
// estimate_frequencies() (index write to port 0x70, data read from 0x71), a COM1 LSR poll, and
// the interrupt sample the run loop takes after every device access, with guest time advancing
// as a 100 MHz CPU's would between calls.
#include <benchmark/benchmark.h>

#include "monitor/devices/malta_board.h"

namespace {

using disco::malta::BoardConfig;
using disco::malta::MaltaBoard;

constexpr uint32_t kIsa = 0x18000000;
constexpr uint64_t kNsPerCall = 10;  // ~1 instruction at 100 MHz

// The board as the kernel finds it after YAMON's hand-over.
struct YamonBoard : MaltaBoard {
  YamonBoard() : MaltaBoard(BoardConfig{.rtc_epoch_seconds = 1700000000}, [](uint8_t) {}) { apply_yamon_state(); }
};

void BM_RtcPollPair(benchmark::State& state) {
  YamonBoard board;
  uint64_t now = 0;
  uint32_t v = 0;
  for (auto _ : state) {
    board.write(kIsa + 0x70, 1, 0x0a, now += kNsPerCall);
    board.hw_interrupts(now);
    board.read(kIsa + 0x71, 1, v, now += kNsPerCall);
    board.hw_interrupts(now);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_RtcPollPair);

void BM_UartLsrRead(benchmark::State& state) {
  YamonBoard board;
  uint64_t now = 0;
  uint32_t v = 0;
  for (auto _ : state) {
    board.read(kIsa + 0x3fd, 1, v, now += kNsPerCall);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_UartLsrRead);

void BM_HwInterrupts(benchmark::State& state) {
  YamonBoard board;
  uint64_t now = 0;
  for (auto _ : state) benchmark::DoNotOptimize(board.hw_interrupts(now += kNsPerCall));
}
BENCHMARK(BM_HwInterrupts);

}  // namespace

BENCHMARK_MAIN();
