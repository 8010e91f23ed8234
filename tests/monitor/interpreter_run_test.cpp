// Interpreter::run (the block loop the run loops use) against step_and_deliver (one instruction
// at a time, the reference): every interp_*.S program, with a real exception handler installed,
// must leave the same vcpu and memory after the same number of cycles. And run's exits: WAIT,
// a timer write, the clock.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "monitor/cpu/interpreter_run.h"
#include "node/pcpu_filter.h"
#include "tests/monitor/kseg_memory.h"

namespace disco::mips {
namespace {

using test::kCodeBase;

// mfc0 k0, EPC; addiu k0, 4; mtc0 k0, EPC; eret: every exception resumes after the faulting
// instruction, so each program runs through its BREAK into whatever follows, the same way in
// both modes. The refill vector (0x80000000) and the general one (0x80000180) both get it.
const std::vector<uint32_t> kSkipHandler = {
    test::mfc0(26, cp0::EPC), test::i_type(0b001001, 26, 26, 4), test::mtc0(26, cp0::EPC), test::kEret};

struct ProgramCpu {
  test::KsegCpu cpu{0, true, kCodeBase};  // kernel mode, kuseg through the TLB
  explicit ProgramCpu(const std::string& program) {
    cpu.code(kSkipHandler, 0x80000000u);
    cpu.code(kSkipHandler, 0x80000180u);
    cpu.memory.load_program(std::string(DISCO_INTERP_DIR) + "/interp_" + program + ".bin");
    cpu.v.jump_to(kCodeBase);
  }
};

void expect_same(const Vcpu& a, const Vcpu& b, const std::string& what) {
  for (unsigned i = 0; i < 32; ++i) EXPECT_EQ(a.gpr[i], b.gpr[i]) << what << " r" << i;
  EXPECT_EQ(a.hi, b.hi) << what;
  EXPECT_EQ(a.lo, b.lo) << what;
  EXPECT_EQ(a.pc, b.pc) << what;
  EXPECT_EQ(a.next_pc, b.next_pc) << what;
  EXPECT_EQ(a.cycles, b.cycles) << what;
  for (const Cp0Id id : {cp0::Status, cp0::Cause, cp0::EPC, cp0::BadVAddr, cp0::EntryHi, cp0::Context})
    EXPECT_EQ(a.cp0.raw(id), b.cp0.raw(id)) << what << " cp0 " << int{id.reg} << "," << int{id.sel};
}

// Runs both to the same clock limits, `step` apart up to `end`, and compares them at each.
void run_side_by_side(test::KsegCpu& compiled, test::KsegCpu& interpreted, uint64_t end, uint64_t step) {
  for (uint64_t until = 5; until < end; until += step) {
    for (test::KsegCpu* t : {&compiled, &interpreted}) {
      RunStats stats;
      t->interpreter.run(t->v, t->memory, until, stats);
    }
    expect_same(compiled.v, interpreted.v, fmt::format("clock {}", until));
  }
}

// lui rt, value >> 16; ori rt, rt, value & 0xffff.
std::vector<uint32_t> li(uint32_t rt, uint32_t value) {
  return {test::i_type(0b001111, 0, rt, value >> 16), test::i_type(0b001101, rt, rt, value & 0xffff)};
}
// t0 = `at` and t1 = addiu v0, zero, 2: what the self-modifying tests below store at `at`.
std::vector<uint32_t> store_addiu_v0_2_setup(uint32_t at) {
  std::vector<uint32_t> words = li(8, at);
  for (uint32_t w : li(9, test::i_type(0b001001, 0, 2, 2))) words.push_back(w);
  return words;
}

// Interpreted blocks (false) and compiled ones (true, block_compiler.h).
class InterpreterRunModes : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(InterpretedAndCompiled, InterpreterRunModes, ::testing::Bool());

TEST_P(InterpreterRunModes, MatchesSingleSteppingOnEveryProgram) {
  for (const char* program : {"arith", "bits", "branch", "handler", "llsc", "mem", "muldiv", "selfmod", "shift",
                              "system", "unaligned"}) {
    ProgramCpu blocks(program), steps(program);
    blocks.cpu.interpreter.set_compiling(GetParam(), 0);
    RunStats stats;
    EXPECT_EQ(blocks.cpu.interpreter.run(blocks.cpu.v, blocks.cpu.memory, 5000, stats), RunExit::Until) << program;
    EXPECT_GE(blocks.cpu.v.cycles, 5000u) << program;
    EXPECT_EQ(stats.instructions + stats.exceptions, blocks.cpu.v.cycles) << program;

    uint64_t exceptions = 0;
    while (steps.cpu.v.cycles < blocks.cpu.v.cycles) {
      if (steps.cpu.run().exc != Exception::None) {
        ++exceptions;
        ++steps.cpu.v.cycles;  // run() charges an exception a cycle, as the run loop did
      }
    }
    expect_same(blocks.cpu.v, steps.cpu.v, program);
    EXPECT_EQ(stats.exceptions, exceptions) << program;
    EXPECT_GT(exceptions, 0u) << program << ": each program ends in a BREAK at least";
    if (GetParam()) {
      EXPECT_GT(blocks.cpu.interpreter.compiled_blocks(), 0u) << program;
    }
    for (uint32_t a = 0; a < 0x20000; a += 4) {
      uint32_t x = 0, y = 0;
      blocks.cpu.memory.load(a, 4, x);
      steps.cpu.memory.load(a, 4, y);
      ASSERT_EQ(x, y) << program << " memory at 0x" << std::hex << a;
    }
  }
}

// A store into its own block takes effect at once: it drops the predecode of the instruction
// after it (run first, so that it has one), straight on, or from a branch's delay slot, where the
// block leaves to where the branch went: taken (past the new code) or not (into it).
TEST_P(InterpreterRunModes, AStoreIntoItsOwnBlockTakesEffectAtOnce) {
  enum class Before { Nothing, TakenBranch, UntakenBranch };
  for (const Before before : {Before::Nothing, Before::TakenBranch, Before::UntakenBranch}) {
    const bool branch = before != Before::Nothing, taken = before == Before::TakenBranch;
    const uint32_t addiu_at = branch ? 0x80001018u : 0x80001014u;
    test::KsegCpu t(0, false, 0x80001000u);
    t.interpreter.set_compiling(GetParam(), 0);
    std::vector<uint32_t> program = store_addiu_v0_2_setup(addiu_at);
    if (branch) program.push_back(test::i_type(taken ? 0b000100 : 0b000101, 0, 0, 3));  // beq/bne zero, zero, 0x80001020
    for (uint32_t w : {test::sw(9, 8, 0),                  // sw t1, 0(t0) (in the delay slot)
                       test::i_type(0b001001, 0, 2, 1),    // addiu v0, zero, 1 (overwritten: 2)
                       test::kNop,
                       test::i_type(0b001001, 0, 3, 3),    // 0x80001020 after a branch: addiu v1, zero, 3
                       test::kNop})
      program.push_back(w);
    t.code(program);
    t.v.jump_to(addiu_at);  // predecode the addiu first: the store must drop it
    ASSERT_EQ(t.step().exc, Exception::None);
    ASSERT_EQ(t.v.gpr[2], 1u);
    t.v.gpr[2] = 0;
    t.v.jump_to(0x80001000u);
    RunStats stats;
    t.interpreter.run(t.v, t.memory, t.v.cycles + 9, stats);
    const char* what = !branch ? "no branch" : taken ? "taken" : "not taken";
    EXPECT_EQ(t.v.gpr[2], taken ? 0u : 2u) << what;
    EXPECT_EQ(t.v.gpr[3], 3u) << what;
  }
}

// DirectRam over a KsegMemory, as BareMachine builds it over the machine: every page placed at
// its own address, and a cache check whose tags either hold every line or none.
struct FakeHitPath {
  static constexpr unsigned kLineShift = 6;
  static constexpr uint64_t kLines = test::kMemorySize >> kLineShift;
  std::vector<uint64_t> pages;
  PcpuFilter filter{kLines};  // the pcpu's, as a node's cache controller fills it
  uint64_t hits = 0;
  // Whether an access is announced (PcpuFilter::begin's announcement not taken back).
  bool announced() const { return !filter.in_access(PcpuFilter::kNone); }
  // Every line of the guest's RAM at machine address `base` held, for reading and writing or for
  // reading only (a write tag held before goes).
  void hold_lines(bool writable, uint64_t base = 0) {
    for (uint64_t l = base >> kLineShift; l < (base >> kLineShift) + kLines; ++l) {
      filter.fill(l, writable);
      if (!writable) filter.revoke(l, true);
    }
  }
  // The guest's RAM at machine address `base` (host_base is offset to match).
  DirectRam ram(test::KsegMemory& memory, bool lines_held, uint64_t base = 0) {
    for (uint64_t p = 0; p < test::kMemorySize / 4096; ++p) pages.push_back(base + p * 4096);
    if (lines_held) hold_lines(true, base);
    return {.ram_bytes = test::kMemorySize, .machine_page = pages.data(), .host_base = memory.data() - base,
            .line_shift = kLineShift, .active = reinterpret_cast<uint64_t*>(filter.active()),
            .tags = reinterpret_cast<const uint64_t*>(filter.entries()), .tag_mask = filter.mask(), .hits = &hits};
  }
};

// Every load and store width and LWL/LWR, compiled with in-line RAM (its cache check hitting every line, or
// none; pages found in the table, or linear) against single-stepping.
// A kernel block reaches kseg0 in line, a kuseg block kuseg through the soft TLB: the same loop
// in both.
void check_in_line_accesses(bool kuseg) {
  using test::i_type;
  const uint32_t segment = kuseg ? 0 : 0x80000000u;
  const std::vector<uint32_t> loop = {
      i_type(0b001111, 0, 8, 0x0002 | segment >> 16),  // lui t0: data at 0x00020001 + 12 i in the segment
      i_type(0b001001, 8, 8, 1 - 12),   // addiu t0, -11 (odd bases: the offsets make it aligned)
      i_type(0b001001, 0, 9, 100),      // addiu t1, zero, 100
      i_type(0b001001, 8, 8, 12),       // loop: addiu t0, 12
      i_type(0b100011, 8, 10, -1),      // lw t2, -1(t0)
      i_type(0b100000, 8, 11, 0),       // lb t3, 0(t0)
      i_type(0b100100, 8, 12, 1),       // lbu t4, 1(t0)
      i_type(0b100001, 8, 13, 1),       // lh t5, 1(t0)
      i_type(0b100101, 8, 14, -1),      // lhu t6, -1(t0)
      i_type(0b100010, 8, 11, 5),       // lwl t3, 5(t0): merged into lb's t3 (byte offset 2)
      i_type(0b100110, 8, 12, 2),       // lwr t4, 2(t0): into lbu's t4 (offset 3)
      i_type(0b100010, 8, 13, 6),       // lwl t5, 6(t0): offset 3, the whole word
      i_type(0b100110, 8, 14, 3),       // lwr t6, 3(t0): offset 0, the whole word
      test::r_type(10, 11, 15, 0x21),   // addu t7, t2, t3
      i_type(0b101011, 8, 15, 3),       // sw t7, 3(t0)
      i_type(0b100100, 8, 24, 3),       // lbu t8, 3(t0): the store's group, its address scaled for a byte
      i_type(0b101001, 8, 13, 7),       // sh t5, 7(t0)
      i_type(0b100011, 8, 0, 3),        // lw zero, 3(t0): r0 stays 0
      i_type(0b001001, 9, 9, -1),       // addiu t1, -1
      i_type(0b000101, 9, 0, -17),      // bne t1, zero, loop
      i_type(0b101000, 8, 12, 10),      // sb t4, 10(t0), in the delay slot
      i_type(0b000100, 0, 0, -1),       // b . (spins)
      test::kNop};
  // Where the guest's RAM is in machine memory: through the placement table (at 0), or every
  // page at its own address plus 0 (one node) or plus a node's offset.
  enum class Placed { Table, Linear, LinearOffset };
  for (const bool lines_held : {true, false})
  for (const Placed placed : {Placed::Table, Placed::Linear, Placed::LinearOffset}) {
    test::KsegCpu compiled(0, kuseg, segment | 0x10000u), stepped(0, kuseg, segment | 0x10000u);
    for (test::KsegCpu* t : {&compiled, &stepped}) {
      for (uint32_t a = 0x20000; a < 0x20000 + 12 * 100 + 16; a += 4) t->memory.set_word(a, a * 2654435761u);
      t->code(loop);
    }
    FakeHitPath hit;
    compiled.interpreter.set_compiling(true, 0);
    const uint64_t base = placed == Placed::LinearOffset ? 64u << 20 : 0;
    DirectRam ram = hit.ram(compiled.memory, lines_held, base);
    if (placed != Placed::Table) ram.linear_base = base;
    compiled.interpreter.set_direct_ram(ram);
    RunStats stats;
    compiled.interpreter.run(compiled.v, compiled.memory, 2000, stats);
    while (stepped.v.cycles < compiled.v.cycles) ASSERT_EQ(stepped.run().exc, Exception::None);
    expect_same(compiled.v, stepped.v, lines_held ? "lines held" : "no lines");
    if (!lines_held) {
      EXPECT_EQ(hit.hits, 0u);
    } else if (kuseg) {  // each page's first access fills the soft TLB through the call
      EXPECT_GT(hit.hits, 100u * 14 - 20);
    } else {
      EXPECT_EQ(hit.hits, 100u * 14);
    }
    EXPECT_FALSE(hit.announced()) << "no access left announced";
    for (uint32_t a = 0x20000; a < 0x20000 + 12 * 100 + 16; a += 4) {
      uint32_t x = 0, y = 0;
      compiled.memory.load(a, 4, x);
      stepped.memory.load(a, 4, y);
      ASSERT_EQ(x, y) << std::hex << a;
    }
  }
}

// The clock: compiled blocks chain on only while the clock is short of run()'s limit, and so must
// stop at the very block boundary where interpreted blocks stop, whatever the limit. Every
// program, run a few cycles at a time, interpreted and compiled (its accesses by calls, or in
// line) side by side.
TEST(InterpreterRun, CompiledBlocksStopWhereInterpretedOnesDoForEveryClockLimit) {
  uint64_t hits = 0;
  for (const char* program : {"arith", "branch", "handler", "llsc", "mem", "muldiv", "selfmod", "unaligned"}) {
    ProgramCpu interpreted(program), called(program), in_line(program);
    called.cpu.interpreter.set_compiling(true, 0);
    in_line.cpu.interpreter.set_compiling(true, 0);
    FakeHitPath hit;
    DirectRam ram = hit.ram(in_line.cpu.memory, true);
    ram.linear_base = 0;
    in_line.cpu.interpreter.set_direct_ram(ram);
    RunStats want, got_called, got_in_line;
    uint64_t until = 0;
    for (unsigned round = 0; interpreted.cpu.v.cycles < 3000; ++round) {
      until += 1 + round % 7;
      const RunExit exit = interpreted.cpu.interpreter.run(interpreted.cpu.v, interpreted.cpu.memory, until, want);
      const std::string what = std::string(program) + " until " + std::to_string(until);
      EXPECT_EQ(called.cpu.interpreter.run(called.cpu.v, called.cpu.memory, until, got_called), exit) << what;
      EXPECT_EQ(in_line.cpu.interpreter.run(in_line.cpu.v, in_line.cpu.memory, until, got_in_line), exit) << what;
      ASSERT_EQ(called.cpu.v.cycles, interpreted.cpu.v.cycles) << what;
      ASSERT_EQ(in_line.cpu.v.cycles, interpreted.cpu.v.cycles) << what;
      ASSERT_EQ(called.cpu.v.pc, interpreted.cpu.v.pc) << what;
      ASSERT_EQ(in_line.cpu.v.pc, interpreted.cpu.v.pc) << what;
      ASSERT_EQ(got_called.instructions, want.instructions) << what;
      ASSERT_EQ(got_in_line.instructions, want.instructions) << what;
      ASSERT_FALSE(hit.announced()) << what;
    }
    expect_same(called.cpu.v, interpreted.cpu.v, program);
    expect_same(in_line.cpu.v, interpreted.cpu.v, program);
    EXPECT_GT(called.cpu.interpreter.compiled_blocks(), 0u) << program;
    hits += hit.hits;
  }
  EXPECT_GT(hits, 0u) << "the programs' kuseg data went in line";
}

// Kernel code at a kuseg pc, its data page mapped elsewhere by the TLB, sets and clears ERL (which
// unmaps kuseg) between loads of the same address. The second time round its blocks are compiled
// and the soft TLB maps the address, so when ERL is set run() must not enter the compiled block
// of the load (which looks only at the soft TLB) but interpret it.
TEST(InterpreterRun, KusegBlocksAreInterpretedWhileErlUnmapsKuseg) {
  using test::i_type;
  constexpr uint32_t kCode = 0x00400000u, kData = 0x00500000u, kMappedTo = 0x00600000u;
  const std::vector<uint32_t> program = {
      i_type(0b001111, 0, 8, kData >> 16),     // lui t0, data
      i_type(0b001001, 0, 14, 4),              // addiu t6, zero, 4
      test::lw(9, 8, 0),                       // loop: lw t1, 0(t0)       (mapped)
      test::mtc0(11, cp0::Status),             // mtc0 t3, Status          (ERL in the second round)
      test::lw(10, 8, 0),                      // lw t2, 0(t0)             (unmapped in the second round)
      test::r_type(13, 10, 13, 0x21),          // addu t5, t5, t2
      test::mtc0(0, cp0::Status),              // mtc0 zero, Status
      test::lw(12, 8, 0),                      // lw t4, 0(t0)             (mapped)
      i_type(0b000101, 11, 14, -7),            // bne t3, t6, loop
      i_type(0b001101, 0, 11, 4),              // ori t3, zero, 4 (delay slot: ERL from now on)
      test::beq(0, 0, -1),                     // b .
      test::kNop};
  const auto setup = [&](test::KsegCpu& t) {
    const auto lo = [](uint32_t pa) { return (pa >> 12) << EntryLoBits::PfnShift | EntryLoBits::G | EntryLoBits::V | EntryLoBits::D; };
    Cp0 scratch;
    for (const auto& [va, pa] : {std::pair{kCode, kCode}, std::pair{kData, kMappedTo}}) {
      scratch.raw(cp0::EntryHi) = va;
      scratch.raw(cp0::EntryLo0) = lo(pa);
      scratch.raw(cp0::EntryLo1) = lo(pa + 4096);
      t.v.tlb.write(scratch, va == kCode ? 0 : 1);
    }
    t.memory.set_word(kData, 0x1111);      // what ERL's unmapped kuseg reads
    t.memory.set_word(kMappedTo, 0x2222);  // what the TLB maps the address to
    t.code(program);
  };
  test::KsegCpu compiled(0, false, kCode), stepped(0, false, kCode);
  setup(compiled);
  setup(stepped);
  compiled.interpreter.set_compiling(true, 0);
  FakeHitPath hit;
  compiled.interpreter.set_direct_ram(hit.ram(compiled.memory, true));
  RunStats stats;
  compiled.interpreter.run(compiled.v, compiled.memory, 200, stats);
  while (stepped.v.cycles < compiled.v.cycles) ASSERT_EQ(stepped.run().exc, Exception::None);
  expect_same(compiled.v, stepped.v, "after both rounds");
  EXPECT_EQ(compiled.v.gpr[13], 0x2222u + 0x1111u) << "t2 mapped in the first round, unmapped in the second";
  EXPECT_EQ(compiled.v.gpr[12], 0x2222u);
  EXPECT_GT(hit.hits, 0u) << "the mapped loads went in line";
}

// A compiled kuseg load, run again after its page was mapped elsewhere by a TLB write from outside
// the guest's code (which moves the TLB's generation without forgetting soft TLB entries): the
// soft TLB must be in step before run() enters the block, which looks only at the soft TLB.
TEST(InterpreterRun, AKusegBlockSeesATlbWrittenBetweenRuns) {
  constexpr uint32_t kCode = 0x00400000u, kData = 0x00500000u;
  test::KsegCpu t(0, false, kCode);
  const auto map = [&](uint32_t va, uint32_t pa, unsigned index) {
    Cp0 scratch;
    const auto lo = [](uint32_t a) { return (a >> 12) << EntryLoBits::PfnShift | EntryLoBits::G | EntryLoBits::V | EntryLoBits::D; };
    scratch.raw(cp0::EntryHi) = va;
    scratch.raw(cp0::EntryLo0) = lo(pa);
    scratch.raw(cp0::EntryLo1) = lo(pa + 4096);
    t.v.tlb.write(scratch, index);
  };
  map(kCode, kCode, 0);
  map(kData, 0x00600000u, 1);
  t.memory.set_word(0x00600000u, 0x600);
  t.memory.set_word(0x00700000u, 0x700);
  t.code({test::i_type(0b001111, 0, 8, kData >> 16), test::lw(9, 8, 0), test::beq(0, 0, -1), test::kNop});
  t.interpreter.set_compiling(true, 0);
  FakeHitPath hit;
  t.interpreter.set_direct_ram(hit.ram(t.memory, true));
  RunStats stats;
  for (const uint32_t mapped_to : {0x00600000u, 0x00700000u, 0x00600000u}) {
    map(kData, mapped_to, 1);
    for (int again = 0; again < 2; ++again) {  // the second time in line, through the soft TLB
      t.v.jump_to(kCode);
      t.interpreter.run(t.v, t.memory, t.v.cycles + 20, stats);
      EXPECT_EQ(t.v.gpr[9], mapped_to >> 12) << std::hex << "mapped to " << mapped_to;
    }
  }
  EXPECT_GT(hit.hits, 0u) << "the load went in line";
}

TEST(InterpreterRun, CompiledKernelAccessesReachKseg0InLineAsTheInterpreterDoes) { check_in_line_accesses(false); }
TEST(InterpreterRun, CompiledUserAccessesReachKusegInLineAsTheInterpreterDoes) { check_in_line_accesses(true); }

// Random straight-line integer code (every in-line operation, registers chosen from a few so
// that rd, rs and rt often coincide, r0 among them; more of them than the compiled code caches in
// host registers) with loads and stores among it, compiled and single-stepped from the same
// random state: the accesses by calls, or in line with the cache check hitting every line or none
// (each a call and back into the block, which must find its cached registers again); in a kernel
// block through kseg0 and in a kuseg block through the soft TLB. The base register moves
// (changed in the cache when an access reads it), is stored, and is loaded over and set again.
// A SLTU or SLTIU is often followed by an ADDU of its result (a carry, which the compiled code
// takes from the host's flags). Forward branches and jumps (their delay slots random too) end
// blocks on registers just changed, and link into a register that may be cached (r31 is among
// the few); short counted loops (a block that branches to its own start keeps registers across
// its back edge) run a few rounds, and the clock may stop them anywhere.
TEST(InterpreterRun, CompiledIntegerOperationsMatchTheInterpreterOnRandomCode) {
  std::mt19937 rng(7);
  const auto reg = [&] { const uint32_t r = rng() % 9; return r == 8 ? 31 : r; };
  constexpr unsigned kBase = 20;  // holds the data's address; reg() never writes it
  constexpr unsigned kCounter = 21, kDone = 22;  // a loop's, and its end reached (BEQ's loop)
  constexpr uint32_t kData = 0x20000, kDrift = 64;  // the base stays within kData + [0, kDrift]
  // Aligned; every other access at the offset of the one before when that suits it, so that
  // some share a base and offset (an access group, when nothing between moves the base).
  uint32_t last_offset = 0;
  const auto access = [&](uint32_t op, uint32_t align) {
    if (rng() % 2 == 0 || last_offset % align != 0) last_offset = (rng() % 64) * align;
    return test::i_type(op, kBase, reg(), static_cast<int16_t>(last_offset));
  };
  const auto r = [&](uint32_t funct, uint32_t sa = 0) {
    return reg() << 21 | reg() << 16 | reg() << 11 | sa << 6 | funct;
  };
  const auto imm = [&](uint32_t op) { return op << 26 | reg() << 21 | reg() << 16 | (rng() & 0xffff); };
  const std::vector<std::function<uint32_t()>> makers = {
      [&] { return r(0x21); }, [&] { return r(0x23); }, [&] { return r(0x24); }, [&] { return r(0x25); },
      [&] { return r(0x26); }, [&] { return r(0x27); }, [&] { return r(0x2a); }, [&] { return r(0x2b); },
      [&] { return r(0x0a); }, [&] { return r(0x0b); }, [&] { return reg() << 11 | 0x10; },  // MOVZ MOVN MFHI
      [&] { return reg() << 11 | 0x12; }, [&] { return reg() << 21 | 0x11; }, [&] { return reg() << 21 | 0x13; },
      [&] { return reg() << 21 | reg() << 16 | 0x18; }, [&] { return reg() << 21 | reg() << 16 | 0x19; },
      [&] { return 0x1cu << 26 | r(0x02); },  // MUL
      [&] { return reg() << 16 | reg() << 11 | (rng() % 32) << 6 | 0x00; },  // SLL
      [&] { return reg() << 16 | reg() << 11 | (rng() % 32) << 6 | 0x02; },  // SRL
      [&] { return reg() << 16 | reg() << 11 | (rng() % 32) << 6 | 0x03; },  // SRA
      [&] { return 1u << 21 | reg() << 16 | reg() << 11 | (rng() % 32) << 6 | 0x02; },  // ROTR
      [&] { return r(0x04); }, [&] { return r(0x06); }, [&] { return r(0x07); }, [&] { return r(0x06, 1); },  // ROTRV
      [&] { return 0x7c000420u | reg() << 16 | reg() << 11; }, [&] { return 0x7c000620u | reg() << 16 | reg() << 11; },
      [&] { return 0x7c0000a0u | reg() << 16 | reg() << 11; },  // SEB SEH WSBH
      [&] {  // EXT
        const uint32_t lsb = rng() % 32, size = 1 + rng() % (32 - lsb);
        return 0x7c000000u | reg() << 21 | reg() << 16 | (size - 1) << 11 | lsb << 6;
      },
      [&] {  // INS
        const uint32_t lsb = rng() % 32, msb = lsb + rng() % (32 - lsb);
        return 0x7c000004u | reg() << 21 | reg() << 16 | msb << 11 | lsb << 6;
      },
      [&] { return imm(0x09); }, [&] { return imm(0x0a); }, [&] { return imm(0x0b); }, [&] { return imm(0x0c); },
      [&] { return imm(0x0d); }, [&] { return imm(0x0e); }, [&] { return 0x0fu << 26 | reg() << 16 | (rng() & 0xffff); },
      [&] {  // CLZ, CLO (rt = rd in their encoding)
        const uint32_t rd = reg();
        return 0x1cu << 26 | reg() << 21 | rd << 16 | rd << 11 | (0x20 + rng() % 2);
      },
      [&] { return reg() << 21 | reg() << 16 | 0x1a; }, [&] { return reg() << 21 | reg() << 16 | 0x1b; },  // DIV DIVU
      // the divisions' edges: 0, -1 and INT_MIN in a register
      [&] { return test::i_type(0x09, 0, reg(), 0); }, [&] { return test::i_type(0x09, 0, reg(), -1); },
      [&] { return test::i_type(0x0f, 0, reg(), 0x8000); },
  };
  const std::vector<std::function<uint32_t()>> accesses = {
      [&] { return access(0b100011, 4); }, [&] { return access(0b101011, 4); },  // LW SW
      [&] { return access(0b100000, 1); }, [&] { return access(0b101000, 1); },  // LB SB
      [&] { return access(0b100101, 2); }, [&] { return access(0b100010, 1); },  // LHU LWL
      [&] { return access(0b100110, 1); }, [&] { return access(0b101010, 1); },  // LWR SWL
      [&] { return access(0b101110, 1); },  // SWR
      // the interpreter's in the block's hot path, writing a register: LL, SC
      [&] { return access(0b110000, 4); }, [&] { return access(0b111000, 4); },
  };
  enum class Ram { Calls, AllHit, AllMiss, ReadOnly };
  for (int round = 0; round < 120; ++round) {
    const bool kuseg = round % 2 == 1;
    const uint32_t segment = kuseg ? 0 : 0x80000000u;
    const uint32_t code_at = segment | 0x10000u;
    std::vector<uint32_t> code;
    uint32_t drift = 0;
    const auto slot = [&] {  // a delay slot: an ALU instruction or an access; in kseg0 a CP0 move too
      if (!kuseg && rng() % 5 == 0) {
        const uint32_t moves[] = {test::mfc0(reg(), cp0::Count), test::mfc0(reg(), cp0::Status),
                                  test::mtc0(reg(), cp0::EPC), test::di(reg())};
        return moves[rng() % 4];
      }
      return rng() % 3 == 0 ? accesses[rng() % accesses.size()]() : makers[rng() % makers.size()]();
    };
    // Where the branches go: never into the middle of a sequence that sets a register in two
    // instructions (nops go first until none lands inside the next `words`).
    std::set<std::size_t> targets;
    const auto step_base = [&] {  // addiu base, +-4, within its range
      const int16_t step = drift == 0 || (drift < kDrift && rng() % 2 == 0) ? 4 : -4;
      drift += static_cast<uint32_t>(step);
      code.push_back(test::i_type(0b001001, kBase, kBase, step));
    };
    const auto room = [&](std::size_t words) {
      while (targets.lower_bound(code.size() + 1) != targets.lower_bound(code.size() + words)) code.push_back(test::kNop);
    };
    for (int i = 0; i < 200; ++i) {
      const unsigned what = rng() % 24;
      const auto skip = static_cast<uint32_t>(rng() % std::max(1, std::min(8, 198 - i)));  // stays before the end
      if (what == 4 && i < 190) {  // a loop of a few rounds, entered only at its start
        // Its branch: BNE, BGTZ, BGEZ counting down; BLTZ, BLEZ counting up from -n; BNE whose
        // delay slot counts down (the compare cannot wait past it); BEQ on a register set from
        // the count.
        const unsigned kind = rng() % 7;
        const bool up = kind == 3 || kind == 4;
        const uint32_t body = 1 + rng() % 6, n = 2 + rng() % 5;
        room(body + 5);
        code.push_back(test::i_type(0b001001, 0, kCounter, up ? -n : n));  // addiu counter, zero, n
        const std::size_t start = code.size();
        for (uint32_t b = 0; b < body; ++b) code.push_back(rng() % 3 == 0 ? accesses[rng() % accesses.size()]() : makers[rng() % makers.size()]());
        if (kind != 5) code.push_back(test::i_type(0b001001, kCounter, kCounter, up ? 1 : -1));  // addiu counter, +-1
        if (kind == 6) code.push_back(test::i_type(0b001011, kCounter, kDone, 1));  // sltiu done, counter, 1
        const auto back = static_cast<uint32_t>(static_cast<int32_t>(start) - static_cast<int32_t>(code.size() + 1));
        static constexpr uint32_t kOp[] = {0b000101, 0b000111, 0b000001, 0b000001, 0b000110, 0b000101, 0b000100};
        static constexpr uint32_t kRt[] = {0, 0, 1, 0, 0, 0, 0};  // REGIMM's BGEZ, BLTZ
        code.push_back(test::i_type(kOp[kind], kind == 6 ? kDone : kCounter, kRt[kind], back));
        code.push_back(kind == 5 ? test::i_type(0b001001, kCounter, kCounter, static_cast<uint32_t>(-1)) : slot());
        continue;
      }
      if (what == 2) {  // a conditional branch over `skip` instructions
        static constexpr uint32_t kRegimm[] = {0x00, 0x01, 0x10, 0x11};  // BLTZ BGEZ BLTZAL BGEZAL
        const uint32_t kind = rng() % 8;
        targets.insert(code.size() + 1 + skip);
        if (kind < 4)  // BEQ BNE BLEZ BGTZ
          code.push_back(test::i_type(4 + kind, reg(), kind < 2 ? reg() : 0, skip));
        else
          code.push_back(test::i_type(1, reg(), kRegimm[kind - 4], skip));
        code.push_back(slot());
        continue;
      }
      if (what == 3) {  // J or JAL, or JR or JALR through a register just set, over `skip`
        const unsigned kind = rng() % 4;
        if (kind >= 2) room(3);
        const std::size_t at = code.size() + (kind < 2 ? 1 : 3) + 1 + skip;  // past the delay slot
        const uint32_t target = code_at + 4 * static_cast<uint32_t>(at);
        targets.insert(at);
        if (kind < 2) {
          code.push_back((kind == 0 ? 0x02u : 0x03u) << 26 | (target >> 2 & 0x3ffffff));
        } else {
          uint32_t to = 0;
          while (to == 0) to = reg();
          const uint32_t link = reg() == to ? 0 : 31;  // JALR's rd: never its rs
          code.push_back(test::i_type(0x0f, 0, to, target >> 16));
          code.push_back(test::i_type(0x0d, to, to, target & 0xffff));
          code.push_back(kind == 2 ? to << 21 | 0x08 : to << 21 | link << 11 | 0x09);
        }
        code.push_back(slot());
        continue;
      }
      if (what == 8) {  // a carry added as multi-word arithmetic adds it: SLTU or SLTIU, then ADDU
        const uint32_t t = reg(), other = reg(), to = rng() % 3 == 0 ? reg() : other;
        code.push_back(rng() % 2 ? (reg() << 21 | reg() << 16 | t << 11 | 0x2b)
                                 : test::i_type(0b001011, reg(), t, static_cast<int16_t>(rng())));
        code.push_back(rng() % 2 ? (t << 21 | other << 16 | to << 11 | 0x21) : (other << 21 | t << 16 | to << 11 | 0x21));
        continue;
      }
      if (what == 7 && !kuseg) {  // Count, which compiled kernel code works out from its counts
        code.push_back(test::mfc0(reg(), cp0::Count));
        continue;
      }
      if (what == 0) {  // the base moves a word, within its range
        step_base();
        continue;
      }
      if (what == 6 && drift + 4 <= kDrift) {  // a group's load reloads the base, a word on
        room(4);
        const auto offset = static_cast<int16_t>(4 * (rng() % 64));
        const uint32_t next = 1 + rng() % 8;  // a register of reg()'s, holding the base + 4
        code.push_back(test::i_type(0b001001, kBase, next, 4));  // addiu next, base, 4
        code.push_back(test::i_type(0b101011, kBase, next, offset));  // sw next, offset(base)
        code.push_back(test::i_type(0b100011, kBase, kBase, offset));  // lw base, offset(base)
        code.push_back(test::i_type(0b101011, kBase, reg(), offset));  // sw: at the new base, no group's
        drift += 4;
        continue;
      }
      if (what == 1) {  // the base stored, then loaded over and set again: rt = rs
        room(3);
        const auto offset = static_cast<int16_t>(4 * (rng() % 64));
        code.push_back(test::i_type(rng() % 2 ? 0b101011 : 0b100011, kBase, kBase, offset));  // sw or lw
        code.push_back(test::i_type(0b001111, 0, kBase, static_cast<uint16_t>((segment | kData) >> 16)));  // lui
        code.push_back(test::i_type(0b001101, kBase, kBase, static_cast<int16_t>(drift)));  // ori
        continue;
      }
      if (what == 5) {  // a read-modify-write at one offset (an access group): load, change, store, load
        static constexpr uint32_t kLoad[] = {0b100011, 0b100000, 0b100100, 0b100101};  // LW LB LBU LHU
        static constexpr uint32_t kStore[] = {0b101011, 0b101000, 0b101000, 0b101001};  // SW SB SB SH
        static constexpr uint32_t kAlign[] = {4, 1, 1, 2};
        const unsigned kind = rng() % 4;
        const uint32_t value = reg();
        const auto offset = static_cast<int16_t>((rng() % 64) * kAlign[kind]);
        code.push_back(test::i_type(kLoad[kind], kBase, value, offset));
        for (uint32_t k = rng() % 3; k > 0; --k) code.push_back(makers[rng() % makers.size()]());
        if (rng() % 4 == 0) code.push_back(reg() << 21 | reg() << 16 | (0x1a + rng() % 2));  // DIV, DIVU: end the group
        if (rng() % 4 == 0) step_base();  // no group: the store goes elsewhere
        code.push_back(test::i_type(kStore[kind], kBase, rng() % 2 ? value : reg(), offset));
        if (rng() % 2) code.push_back(test::i_type(0b100100, kBase, reg(), offset));  // LBU: narrower still
        continue;
      }
      const uint32_t w = what < 6 ? accesses[rng() % accesses.size()]() : makers[rng() % makers.size()]();
      ASSERT_NE(decode(w).op, Op::Reserved) << std::hex << w;
      code.push_back(w);
    }
    code.push_back(test::i_type(0b000100, 0, 0, -1));  // b .
    code.push_back(test::kNop);
    test::KsegCpu compiled(0, kuseg, code_at), stepped(0, kuseg, code_at);
    for (test::KsegCpu* t : {&compiled, &stepped}) {
      std::mt19937 state(round);
      for (unsigned g = 1; g < 32; ++g) t->v.gpr[g] = state() >> (state() % 32);
      t->v.gpr[kBase] = segment | kData;
      t->v.hi = state();
      t->v.lo = state();
      for (uint32_t a = 0x20000; a < 0x20000 + 4 * 130; a += 4) t->memory.set_word(a, state());
      t->code(code);
    }
    compiled.interpreter.set_compiling(true, 0);
    FakeHitPath hit;
    const auto ram = static_cast<Ram>(round / 2 % 4);
    if (ram != Ram::Calls) compiled.interpreter.set_direct_ram(hit.ram(compiled.memory, ram == Ram::AllHit));
    if (ram == Ram::ReadOnly) hit.hold_lines(false);
    RunStats stats;
    compiled.interpreter.run(compiled.v, compiled.memory, 300 + round * 5, stats);
    EXPECT_GT(compiled.interpreter.compiled_blocks(), 0u);
    while (stepped.v.cycles < compiled.v.cycles) ASSERT_EQ(stepped.run().exc, Exception::None);
    const std::string what = "round " + std::to_string(round) + (kuseg ? " (kuseg)" : " (kseg0)");
    expect_same(compiled.v, stepped.v, what);
    for (uint32_t a = 0x20000; a < 0x20000 + 4 * 130; a += 4) {
      uint32_t x = 0, y = 0;
      compiled.memory.load(a, 4, x);
      stepped.memory.load(a, 4, y);
      ASSERT_EQ(x, y) << what << std::hex << " at " << a;
    }
    if (ram == Ram::AllHit) {
      EXPECT_GT(hit.hits, 0u) << what;
    }
  }
}

// The instructions compiled in line behind a check (RDHWR $29, TEQ/TNE, the FPU's moves and
// loads and stores), in user mode with the check passing and failing (HWREna.UL, Status.CU1, a
// trap's condition, a misaligned doubleword), against interpreted blocks: the same registers,
// FPRs and exceptions at the same cycles.
TEST(InterpreterRun, CheckedInstructionsMatchTheInterpreterWhetherTheirChecksPassOrNot) {
  using test::i_type;
  using test::r_type;
  const uint32_t kUser = 0x10;  // KSU = user
  const auto fpu = [](uint32_t op, uint32_t base, uint32_t ft, int16_t offset) { return i_type(op, base, ft, offset); };
  const auto cop1 = [](uint32_t rs_field, uint32_t rt, uint32_t fs) { return 0x44000000u | rs_field << 21 | rt << 16 | fs << 11; };
  const std::vector<uint32_t> program = {
      i_type(0x0f, 0, 8, 0x0002),      // lui t0, 2: data at 0x20000
      test::rdhwr(9, 29),              // rdhwr t1, $29 (UserLocal)
      cop1(0x04, 9, 2),                // mtc1 t1, $f2
      cop1(0x07, 10, 2),               // mthc1 t2, $f2 (the pair's high word, $f3)
      cop1(0x00, 11, 2),               // mfc1 t3, $f2
      cop1(0x03, 12, 2),               // mfhc1 t4, $f2
      fpu(0x3d, 8, 2, 8),              // sdc1 $f2, 8(t0)
      fpu(0x35, 8, 4, 8),              // ldc1 $f4, 8(t0)
      fpu(0x31, 8, 6, 12),             // lwc1 $f6, 12(t0)
      fpu(0x39, 8, 6, 16),             // swc1 $f6, 16(t0)
      i_type(0x23, 8, 13, 16),         // lw t5, 16(t0)
      r_type(9, 10, 0, 0x34),          // teq t1, t2: traps when they are equal
      r_type(9, 9, 0, 0x36),           // tne t1, t1: never
      fpu(0x35, 8, 4, 12),             // ldc1 $f4, 12(t0): misaligned, AdEL
      i_type(0x04, 0, 0, -1),          // b .
      test::kNop};
  const std::vector<uint32_t> vector = {i_type(0x04, 0, 0, -1), test::kNop};  // the general exception vector: b .
  for (const bool user_local : {true, false})
  for (const bool cu1 : {true, false})
  for (const bool equal : {false, true}) {
    const std::string what = std::string(user_local ? "UL" : "no UL") + (cu1 ? ", CU1" : ", no CU1") + (equal ? ", equal" : "");
    test::KsegCpu compiled(kUser | (cu1 ? StatusBits::CU1 : 0), true, 0x10000u),
        interpreted(kUser | (cu1 ? StatusBits::CU1 : 0), true, 0x10000u);
    for (test::KsegCpu* t : {&compiled, &interpreted}) {
      t->v.cp0.raw(cp0::HWREna) = user_local ? 1u << 29 : 0;
      t->v.cp0.raw(cp0::UserLocal) = 0x7777'1234u;
      t->v.gpr[10] = equal ? 0x7777'1234u : 0x5555'0000u;
      t->code(vector, 0x80000180u);
      t->code(program);
    }
    FakeHitPath hit;
    compiled.interpreter.set_compiling(true, 0);
    DirectRam ram = hit.ram(compiled.memory, true);
    compiled.interpreter.set_direct_ram(ram);
    RunStats stats;
    for (uint64_t until = 8; until < 200; until += 8) {  // run twice over: compiled the second time
      compiled.interpreter.run(compiled.v, compiled.memory, until, stats);
      RunStats interpreted_stats;
      interpreted.interpreter.run(interpreted.v, interpreted.memory, until, interpreted_stats);
      ASSERT_EQ(compiled.v.cycles, interpreted.v.cycles) << what;
      expect_same(compiled.v, interpreted.v, what);
      for (unsigned f = 0; f < 32; ++f) ASSERT_EQ(compiled.v.fpu.fpr[f], interpreted.v.fpu.fpr[f]) << what << " $f" << f;
      if (compiled.v.pc == 0x80000180u && until % 64 == 0) {  // again from the start, the blocks compiled now
        for (test::KsegCpu* t : {&compiled, &interpreted}) {
          t->v.cp0.raw(cp0::Status) = kUser | (cu1 ? StatusBits::CU1 : 0);
          t->v.jump_to(0x10000u);
        }
      }
    }
    EXPECT_GT(compiled.interpreter.compiled_blocks(), 0u) << what;
    const uint32_t cause = (compiled.v.cp0.raw(cp0::Cause) & CauseBits::ExcCode) >> 2;
    EXPECT_EQ(cause, !user_local ? exc_code(Exception::ReservedInstruction)
                     : !cu1      ? exc_code(Exception::CoprocessorUnusable)
                     : equal     ? exc_code(Exception::Trap)
                                 : exc_code(Exception::AddressErrorLoad))
        << what;
  }
}

// A monitor that only records what it hears: CP0 moves through privileged() and those compiled
// code did in line and reports in a sum, and the pc of every CACHE.
struct RecordingTrapHandler final : TrapHandler {
  uint64_t moves = 0, in_line = 0;
  std::vector<uint32_t> cache_pcs;
  void privileged(Vcpu&, const PrivilegedOp& op) override {
    moves += op.op == Op::MFC0 || op.op == Op::MTC0 || op.op == Op::DI || op.op == Op::EI;
    if (op.op == Op::CACHE) cache_pcs.push_back(op.pc);
  }
  void special_page_moves(uint64_t n) override { in_line += n; }
  TlbTranslation translate(Vcpu&, uint32_t, bool) override { return {.fault = TlbFault::Refill}; }
  void reflected(Vcpu&, const StepResult&) override {}
  bool hypercall(Vcpu&, const Decoded&) override { return false; }
};

// The same kernel code at `pc` twice, compiled (from its first run on) and interpreted, each with
// a RecordingTrapHandler for a monitor when `monitored`.
struct CompiledAndInterpreted {
  test::KsegCpu compiled, interpreted;
  RecordingTrapHandler compiled_monitor, interpreted_monitor;
  CompiledAndInterpreted(uint32_t pc, bool monitored) : compiled(0, false, pc), interpreted(0, false, pc) {
    if (monitored) {
      compiled.interpreter.set_trap_handler(&compiled_monitor);
      interpreted.interpreter.set_trap_handler(&interpreted_monitor);
    }
    compiled.interpreter.set_compiling(true, 0);
  }
};

// MFC0 and MTC0 of the plain registers (Cp0::plain_read/plain_write) and DI/EI, which kernel
// blocks do in line: every bit written, masked as Cp0::write masks it, and read back, against interpreted
// blocks; under a monitor every move is counted once, in line or by privileged(). MFC0 Count is
// in line in bare mode only.
TEST(InterpreterRun, CompiledCp0MovesMatchTheInterpreterAndAreCountedForAMonitor) {
  using test::mfc0;
  using test::mtc0;
  const std::vector<Cp0Id> plain = {cp0::Index, cp0::EntryLo0, cp0::EntryLo1, cp0::Context,
                                    cp0::PageMask, cp0::EPC, cp0::ErrorEPC};
  std::vector<uint32_t> program = {test::i_type(0b001111, 0, 8, 0),  // lui t0, (the pattern's high half)
                                   test::i_type(0b001101, 8, 8, 0)};  // ori t0, (its low half)
  for (const Cp0Id id : plain) program.push_back(mtc0(8, id));
  unsigned rt = 9;
  for (const Cp0Id id : plain) program.push_back(mfc0(rt++, id));
  for (const Cp0Id id : {cp0::PRId, cp0::Config1, cp0::Status, cp0::BadVAddr}) program.push_back(mfc0(rt++, id));
  program.push_back(mfc0(0, cp0::EBase));  // into r0: nothing
  program.push_back(test::ei(rt++));  // Status into rt, IE set
  program.push_back(test::di(rt++));  // and cleared
  program.push_back(mfc0(rt, cp0::Count));  // not plain: in line in bare mode, else the monitor's
  program.push_back(test::i_type(0b000100, 0, 0, -1));  // b .
  program.push_back(test::kNop);
  const uint64_t kMoves = 2 * plain.size() + 7;
  for (const uint32_t pattern : {0xffffffffu, 0x5a5a5a5au, 0x00000000u})
  for (const bool monitored : {false, true}) {
    const std::string what = fmt::format("pattern {:#x}{}", pattern, monitored ? ", monitored" : "");
    program[0] = test::i_type(0b001111, 0, 8, pattern >> 16);
    program[1] = test::i_type(0b001101, 8, 8, pattern & 0xffff);
    CompiledAndInterpreted both(0x80002000u, monitored);
    auto& [compiled, interpreted, compiled_monitor, interpreted_monitor] = both;
    for (test::KsegCpu* t : {&compiled, &interpreted}) {
      t->v.cp0.raw(cp0::Context) = 0x007ffff0u;  // BadVPN2, which a write keeps
      t->v.cp0.write(cp0::Count, pattern ^ 0x12345678u, 7);  // Count counts on from there, as of cycle 7
      t->code(program);
    }
    RunStats compiled_stats, interpreted_stats;
    compiled.interpreter.run(compiled.v, compiled.memory, program.size() + 4, compiled_stats);
    interpreted.interpreter.run(interpreted.v, interpreted.memory, program.size() + 4, interpreted_stats);
    expect_same(compiled.v, interpreted.v, what);
    for (const Cp0Id id : plain) EXPECT_EQ(compiled.v.cp0.raw(id), interpreted.v.cp0.raw(id)) << what;
    EXPECT_EQ(compiled.v.cp0.raw(cp0::Context) & 0x007fffffu, 0x007ffff0u) << what;
    EXPECT_EQ(compiled.interpreter.fallbacks_by_op()[static_cast<unsigned>(Op::MTC0)], 0u) << what << ": in line";
    EXPECT_EQ(compiled.interpreter.fallbacks_by_op()[static_cast<unsigned>(Op::MFC0)], monitored ? 1u : 0u)
        << what << (monitored ? ": Count only" : ": Count too");
    if (monitored) {
      EXPECT_EQ(interpreted_monitor.moves, kMoves + 1) << what;
      EXPECT_EQ(compiled_monitor.moves, 1u) << what << ": Count";
      EXPECT_EQ(compiled_monitor.in_line, kMoves) << what;
    }
  }
}

// MTC0 Status, which ends its block, in line in bare mode while the vcpu stays in kernel mode:
// setting EXL, clearing it (an interrupt it unmasks is taken right after it, also where its
// block chains on, in the loop's second round), and the kernel handler's return to EXL alone;
// into user mode at a kernel pc (the next fetch an address error) is the interpreter's.
// Compiled against interpreted, a cycle, a few or many at a time.
TEST(InterpreterRun, InLineStatusWritesEndTheirBlocksWhereTheInterpretersDo) {
  using test::i_type;
  using test::mtc0;
  const auto addiu = [](uint32_t rt, uint32_t rs, int16_t imm) { return i_type(0b001001, rs, rt, static_cast<uint16_t>(imm)); };
  std::vector<uint32_t> program = {addiu(20, 0, 2)};  // s4: two rounds
  const auto add = [&](const std::vector<uint32_t>& words) { program.insert(program.end(), words.begin(), words.end()); };
  const auto loop = static_cast<int32_t>(program.size());
  add(li(8, StatusBits::EXL | StatusBits::IE | 1u << 8));  // EXL set, IE and IM0: in line
  add({mtc0(8, cp0::Status)});
  add(li(9, 1u << 8));  // a software interrupt, held off by EXL
  add({mtc0(9, cp0::Cause), addiu(2, 2, 1), addiu(2, 2, 1)});
  add({i_type(0b000100, 0, 0, 1), test::kNop});  // b: a block end that chains on (its calls looked at)
  add(li(8, StatusBits::IE | 1u << 8));  // EXL cleared: the interrupt is taken after the write
  add({mtc0(8, cp0::Status), addiu(2, 2, 1), addiu(20, 20, -1)});
  add({i_type(0b000101, 20, 0, static_cast<uint16_t>(loop - static_cast<int32_t>(program.size()) - 1)), test::kNop});
  add(li(8, StatusBits::UM));  // user mode at a kernel pc: the interpreter's
  add({mtc0(8, cp0::Status), addiu(2, 2, 100), addiu(3, 3, 1), i_type(0b000100, 0, 0, -1), test::kNop});
  const std::vector<uint32_t> handler = {
      test::mfc0(26, cp0::Cause), i_type(0b001100, 26, 26, 0x7c), test::r_type(16, 26, 16, 0x21),  // s0 += ExcCode << 2
      test::mfc0(26, cp0::EPC), test::r_type(18, 26, 18, 0x21),  // s2 += EPC: where each was taken
      addiu(17, 17, 1), mtc0(0, cp0::Cause),  // s1 counts; the software interrupt cleared
      addiu(27, 0, StatusBits::EXL), mtc0(27, cp0::Status),  // kernel mode on return (in line)
      test::kEret};
  for (const uint64_t step : {1u, 6u, 150u}) {
    test::KsegCpu compiled(0, false, 0x80001000u), interpreted(0, false, 0x80001000u);
    compiled.interpreter.set_compiling(true, 0);
    for (test::KsegCpu* t : {&compiled, &interpreted}) {
      t->code(handler, 0x80000180u);
      t->code(program, 0x80001000u);
    }
    run_side_by_side(compiled, interpreted, 600, step);
    EXPECT_EQ(compiled.v.gpr[17], 3u) << "two interrupts and the address error";
    EXPECT_EQ(compiled.v.gpr[16], uint32_t{4} << 2) << "ExcCode 0, 0 and 4";
    EXPECT_EQ(compiled.v.gpr[2], 106u) << "the handler returned to kernel mode";
    EXPECT_EQ(compiled.v.gpr[3], 1u);
    // in line: the program's two writes a round and the handler's three; the Cause writes and
    // the one into user mode are the interpreter's
    EXPECT_EQ(compiled.interpreter.fallbacks_by_op()[static_cast<unsigned>(Op::MTC0)], 6u);
  }
}

// A kernel's cache flush loop (CACHE other than Hit_Invalidate_I, which changes nothing a guest
// sees) is one block that runs on past its CACHEs: compiled as nothing in bare mode, and under a
// monitor each one told at its own pc, compiled as interpreted. Hit_Invalidate_I still ends its
// block (it may drop this very code).
TEST(InterpreterRun, ACacheFlushLoopIsOneBlockAndAMonitorHearsEveryCache) {
  constexpr uint32_t kCode = 0x80002000u;
  std::vector<uint32_t> program = {test::i_type(0b001001, 0, 9, 3)};  // addiu t1, zero, 3: the rounds
  for (int i = 0; i < 4; ++i) program.push_back(test::cache(0b10101, 8));  // Hit_Writeback_Inv_D, 0(t0)
  program.push_back(test::i_type(0b001001, 9, 9, 0xffff));  // addiu t1, t1, -1
  program.push_back(test::i_type(0b000101, 9, 0, -6));      // bnez t1, the first cache
  program.push_back(test::kNop);
  program.push_back(test::cache(kHitInvalidateI, 8));       // ends its block
  program.push_back(test::i_type(0b001001, 0, 10, 7));      // addiu t2, zero, 7
  program.push_back(test::i_type(0b000100, 0, 0, -1));      // b .
  program.push_back(test::kNop);
  std::vector<uint32_t> want;
  for (int round = 0; round < 3; ++round)
    for (uint32_t i = 0; i < 4; ++i) want.push_back(kCode + 4 + 4 * i);
  want.push_back(kCode + 4 * 8);
  for (const bool monitored : {false, true}) {
    const std::string what = monitored ? "monitored" : "bare";
    CompiledAndInterpreted both(kCode, monitored);
    auto& [compiled, interpreted, compiled_monitor, interpreted_monitor] = both;
    for (test::KsegCpu* t : {&compiled, &interpreted}) {
      t->v.gpr[8] = 0x80010000u;
      t->code(program);
    }
    RunStats compiled_stats, interpreted_stats;
    compiled.interpreter.run(compiled.v, compiled.memory, 40, compiled_stats);
    interpreted.interpreter.run(interpreted.v, interpreted.memory, 40, interpreted_stats);
    expect_same(compiled.v, interpreted.v, what);
    EXPECT_EQ(compiled.v.gpr[10], 7u) << what;
    EXPECT_EQ(compiled_stats.instructions, interpreted_stats.instructions) << what;
    EXPECT_EQ(compiled.interpreter.fallbacks_by_op()[static_cast<unsigned>(Op::CACHE)], 1u)
        << what << ": Hit_Invalidate_I only";
    // From the start, the loop from its first CACHE, Hit_Invalidate_I's, what follows it, `b .`'s
    // own: no block ends at the other CACHEs.
    EXPECT_EQ(compiled.interpreter.compiled_blocks(), 5u) << what;
    if (monitored) {
      EXPECT_EQ(compiled_monitor.cache_pcs, want) << what;
      EXPECT_EQ(interpreted_monitor.cache_pcs, want) << what;
    }
  }
}

// Kernel code in kseg0 runs on past EntryHi writes and the TLB instructions (ends_block()):
// a mapped load later in the same block sees the entry TLBWI just wrote, and again after TLBWI
// rewrote it, compiled as interpreted.
TEST(InterpreterRun, AKseg0BlockGoesOnPastTlbWritesAndItsMappedLoadsSeeThem) {
  using test::i_type;
  using test::mtc0;
  std::vector<uint32_t> program;
  for (const auto& [rt, value] : std::vector<std::pair<uint32_t, uint32_t>>{
           {8, 0x00400000u}, {9, 0x30000u >> 12 << 6 | 0x6}, {10, 0x2}, {11, 3}, {12, 0x31000u >> 12 << 6 | 0x6}})
    for (uint32_t w : li(rt, value)) program.push_back(w);
  for (uint32_t w : {mtc0(8, cp0::EntryHi), mtc0(9, cp0::EntryLo0), mtc0(10, cp0::EntryLo1), mtc0(0, cp0::PageMask),
                     mtc0(11, cp0::Index), test::kTlbwi,
                     test::lw(13, 8, 0),                 // lw t5, 0(t0): through the entry just written
                     test::kTlbp, test::mfc0(14, cp0::Index),
                     mtc0(12, cp0::EntryLo0), test::kTlbwi,
                     test::lw(15, 8, 0),                 // lw t7, 0(t0): the entry rewritten
                     test::kTlbr, test::mfc0(16, cp0::EntryLo0),
                     test::i_type(0b000100, 0, 0, -1), test::kNop})
    program.push_back(w);
  test::KsegCpu compiled(0, false, 0x80002000u), interpreted(0, false, 0x80002000u);
  compiled.interpreter.set_compiling(true, 0);
  for (test::KsegCpu* t : {&compiled, &interpreted}) {
    t->memory.set_word(0x30000, 0x1111);
    t->memory.set_word(0x31000, 0x2222);
    t->code(program);
  }
  RunStats compiled_stats, interpreted_stats;
  compiled.interpreter.run(compiled.v, compiled.memory, program.size() + 4, compiled_stats);
  interpreted.interpreter.run(interpreted.v, interpreted.memory, program.size() + 4, interpreted_stats);
  expect_same(compiled.v, interpreted.v, "tlb writes");
  EXPECT_EQ(compiled.v.gpr[13], 0x1111u);
  EXPECT_EQ(compiled.v.gpr[14], 3u) << "TLBP found the entry";
  EXPECT_EQ(compiled.v.gpr[15], 0x2222u);
  EXPECT_EQ(compiled.v.gpr[16], 0x31000u >> 12 << 6 | 0x6);
  EXPECT_EQ(compiled.interpreter.compiled_blocks(), 2u) << "the program, then the loop at its end";
}

// A user's load from kseg2 is an address error, though the kernel's own load of that address
// just filled the soft TLB: compiled user code looks its accesses up there without testing the
// segment (Interpreter::soft_key keeps kernel pages apart).
TEST(InterpreterRun, AUserLoadFromKseg2IsAnAddressErrorAfterTheKernelMappedIt) {
  using test::i_type;
  const std::vector<uint32_t> kernel = {
      i_type(0b001111, 0, 9, 0xc000),   // lui t1, 0xc000
      test::lw(8, 9, 0),                // lw t0, 0(t1): kseg2, through the TLB
      i_type(0b001111, 0, 11, 0x0001),  // lui t3, 1: the user code at 0x10000
      test::mtc0(11, cp0::EPC),
      i_type(0b001101, 0, 12, 0x12),    // ori t4, zero, KSU = user | EXL
      test::mtc0(12, cp0::Status),
      test::kEret};
  const std::vector<uint32_t> user = {test::lw(10, 9, 0), test::kNop, i_type(0b000100, 0, 0, -1), test::kNop};
  const std::vector<uint32_t> vector = {i_type(0b000100, 0, 0, -1), test::kNop};  // b .
  for (const bool compiling : {false, true}) {
    test::KsegCpu t(0, true, 0x80002000u);
    t.interpreter.set_compiling(compiling, 0);
    FakeHitPath hit;  // accesses in line
    t.interpreter.set_direct_ram(hit.ram(t.memory, true));
    Cp0 scratch;  // 0xc0000000 -> physical 0x30000, global
    scratch.raw(cp0::EntryHi) = 0xc0000000u;
    scratch.raw(cp0::EntryLo0) = 0x30000u >> 12 << EntryLoBits::PfnShift | EntryLoBits::G | EntryLoBits::V;
    scratch.raw(cp0::EntryLo1) = EntryLoBits::G;
    t.v.tlb.write(scratch, 5);
    t.memory.set_word(0x30000, 0x1234);
    t.code(vector, 0x80000180u);
    t.code(user, 0x10000u);
    t.code(kernel);
    RunStats stats;
    for (int i = 0; i < 3; ++i) {  // the user block runs twice more: compiled by then
      t.interpreter.run(t.v, t.memory, t.v.cycles + 40, stats);
      EXPECT_EQ(t.v.gpr[8], 0x1234u) << "the kernel's load";
      EXPECT_EQ(t.v.gpr[10], 0u) << "the user's load must not complete";
      EXPECT_EQ((t.v.cp0.raw(cp0::Cause) & CauseBits::ExcCode) >> 2, exc_code(Exception::AddressErrorLoad));
      EXPECT_EQ(t.v.cp0.raw(cp0::BadVAddr), 0xc0000000u);
      EXPECT_EQ(t.v.cp0.raw(cp0::EPC), 0x10000u);
      t.v.cp0.raw(cp0::Status) = 0x12;
      t.v.jump_to(0x10000u);
      t.v.cp0.raw(cp0::Status) = 0x10;  // user mode, EXL clear
    }
    if (compiling) {
      EXPECT_GT(t.interpreter.compiled_blocks(), 1u);
    }
  }
}

// A user program writes a routine into a page, calls it (its predecode begins), rewrites it
// and calls it again: the second call runs the new code, though the page's first store filled
// the soft TLB before the page had predecode (page_at drops that translation) and compiled kuseg
// stores do not look for predecode themselves.
TEST(InterpreterRun, AUserStoreIntoAPageThatBecameCodeDropsItsPredecode) {
  using test::i_type;
  using test::r_type;
  const uint32_t addiu_v0_1 = i_type(0b001001, 0, 2, 1), addiu_v0_2 = i_type(0b001001, 0, 2, 2);
  const uint32_t jr_ra = r_type(31, 0, 0, 0x08), jalr_t0 = r_type(8, 0, 31, 0x09);
  std::vector<uint32_t> program = {i_type(0b001111, 0, 8, 0x0002)};  // lui t0, 2: the routine at 0x20000
  for (const auto& [rt, value] : std::vector<std::pair<uint32_t, uint32_t>>{{9, addiu_v0_1}, {10, jr_ra}, {11, addiu_v0_2}})
    for (uint32_t w : li(rt, value)) program.push_back(w);
  for (uint32_t w : {test::sw(9, 8, 0), test::sw(10, 8, 4), test::sw(0, 8, 8), jalr_t0, test::kNop,
                     i_type(0b001001, 2, 16, 0),  // addiu s0, v0, 0: the first call's answer
                     test::sw(11, 8, 0), jalr_t0, test::kNop,
                     i_type(0b000100, 0, 0, -1), test::kNop})
    program.push_back(w);
  for (const bool compiling : {false, true}) {
    test::KsegCpu t(0x10, true, 0x10000u);  // user mode, kuseg identity-mapped
    t.interpreter.set_compiling(compiling, 0);
    FakeHitPath hit;
    t.interpreter.set_direct_ram(hit.ram(t.memory, true));
    t.code(program);
    RunStats stats;
    t.interpreter.run(t.v, t.memory, program.size() + 20, stats);
    EXPECT_EQ(t.v.gpr[16], 1u) << (compiling ? "compiled" : "interpreted");
    EXPECT_EQ(t.v.gpr[2], 2u) << (compiling ? "compiled" : "interpreted") << ": the rewritten routine";
    if (compiling) {
      EXPECT_GT(hit.hits, 0u) << "stores in line";
    }
  }
}

// A kernel block's ERET goes on into the user block it returns to only through a soft TLB in
// step with the TLB: here the user's code page is remapped (from outside, as a test or another
// writer would) while the vcpu is in its syscall handler, and the return (with the clock far
// enough off to chain) must run the new page's code, compiled as interpreted.
TEST(InterpreterRun, AnEretIntoUserCodeFollowsTheTlbAsItIsNow) {
  using test::i_type;
  const auto user_code = [](uint16_t step) {
    return std::vector<uint32_t>{i_type(0b001001, 2, 2, step), test::kSyscall, i_type(0b000100, 0, 0, -3), test::kNop};
  };
  const std::vector<uint32_t> handler = {test::mfc0(26, cp0::EPC), i_type(0b001001, 26, 26, 4),
                                         test::mtc0(26, cp0::EPC), test::kEret};
  const auto map = [](Vcpu& v, uint32_t physical) {
    Cp0 scratch;
    scratch.raw(cp0::EntryHi) = 0x10000u;
    scratch.raw(cp0::EntryLo0) = physical >> 12 << EntryLoBits::PfnShift | EntryLoBits::V;
    v.tlb.write(scratch, 0);
  };
  for (const uint64_t remap_after : {20u, 41u, 77u}) {
    test::KsegCpu compiled(0x10, false, 0x10000u), interpreted(0x10, false, 0x10000u);
    compiled.interpreter.set_compiling(true, 0);
    for (test::KsegCpu* t : {&compiled, &interpreted}) {
      t->code(user_code(1), 0x80020000u);  // physical 0x20000, written through kseg0
      t->code(user_code(100), 0x80021000u);
      t->code(handler, 0x80000180u);
      map(t->v, 0x20000u);
      t->v.jump_to(0x10000u);
    }
    bool remapped = false;
    for (uint64_t until = 3; until < 400; until += remapped && until < remap_after + 50 ? 50 : 3) {
      for (test::KsegCpu* t : {&compiled, &interpreted}) {
        RunStats stats;
        t->interpreter.run(t->v, t->memory, until, stats);
      }
      expect_same(compiled.v, interpreted.v, fmt::format("clock {}", until));
      if (!remapped && until >= remap_after && compiled.v.pc >= 0x80000000u && interpreted.v.pc >= 0x80000000u) {
        map(compiled.v, 0x21000u);
        map(interpreted.v, 0x21000u);
        remapped = true;
      }
    }
    ASSERT_TRUE(remapped);
    EXPECT_GT(compiled.v.gpr[2], 200u) << "the new page's code ran";
    EXPECT_NE(compiled.v.gpr[2] % 100, 0u) << "after the old one's";
  }
}

// Compiled kuseg accesses key the soft TLB with the ASID as it is when the block runs: a
// kernel handler that switches EntryHi's ASID and ERETs into the same user loop must make its
// load reach the other address space's page at once, as the interpreter's does.
TEST(InterpreterRun, AnAsidSwitchedBeforeAnEretSelectsTheUserLoadsPage) {
  using test::i_type;
  const std::vector<uint32_t> user_code = {
      i_type(0b100011, 4, 3, 0),          // lw v1, 0(a0): 1 under ASID 1, 0x10000 under ASID 2
      test::r_type(2, 3, 2, 0x21),        // addu v0, v0, v1
      i_type(0b100011, 4, 3, 4),          // the next word: in line, the first having filled the soft TLB
      test::r_type(2, 3, 2, 0x21),
      test::kSyscall,
      i_type(0b000100, 0, 0, -6), test::kNop};  // b back to the first lw
  const std::vector<uint32_t> handler = {
      test::mfc0(26, cp0::EPC),     i_type(0b001001, 26, 26, 4), test::mtc0(26, cp0::EPC),
      test::mfc0(27, cp0::EntryHi), i_type(0b001110, 27, 27, 3), test::mtc0(27, cp0::EntryHi),  // ASID 1 <-> 2
      test::kEret};
  const auto map = [](Vcpu& v, unsigned index, uint32_t entry_hi, uint32_t physical, uint32_t global) {
    Cp0 scratch;
    scratch.raw(cp0::EntryHi) = entry_hi;
    scratch.raw(cp0::EntryLo0) = physical >> 12 << EntryLoBits::PfnShift | EntryLoBits::V | global;
    scratch.raw(cp0::EntryLo1) = global;
    v.tlb.write(scratch, index);
  };
  test::KsegCpu compiled(0x10, false, 0x10000u), interpreted(0x10, false, 0x10000u);
  compiled.interpreter.set_compiling(true, 0);
  FakeHitPath hit;
  compiled.interpreter.set_direct_ram(hit.ram(compiled.memory, true));  // the load in line
  for (test::KsegCpu* t : {&compiled, &interpreted}) {
    t->code(user_code, 0x80020000u);  // physical 0x20000
    t->code(handler, 0x80000180u);
    for (const uint32_t offset : {0u, 4u}) {
      t->memory.set_word(0x50000u + offset, 1);
      t->memory.set_word(0x60000u + offset, 0x10000u);
    }
    map(t->v, 0, 0x10000u, 0x20000u, EntryLoBits::G);  // the code, in every address space
    map(t->v, 1, 0x40000u | 1, 0x50000u, 0);
    map(t->v, 2, 0x40000u | 2, 0x60000u, 0);
    t->v.cp0.raw(cp0::EntryHi) = 1;
    t->v.gpr[4] = 0x40000u;
    t->v.jump_to(0x10000u);
  }
  run_side_by_side(compiled, interpreted, 1500, 37);
  EXPECT_GT(hit.hits, 0u);
  EXPECT_GT(compiled.v.gpr[2] & 0xffff, 10u) << "ASID 1's page was read";
  EXPECT_GT(compiled.v.gpr[2] >> 16, 10u) << "so was ASID 2's";
}

// A user page the TLB maps beyond RAM is a bus error for every access to it, compiled ones too:
// the soft TLB never keeps such a page, so a compiled access that found it there would reach
// whatever lies past the guest's RAM (here the pcpu's cache claims that line too).
TEST(InterpreterRun, AUserPageMappedBeyondRamIsABusErrorForCompiledAccesses) {
  using test::i_type;
  constexpr uint32_t kBeyond = test::kMemorySize + 0x1000;
  const std::vector<uint32_t> user_code = {
      i_type(0b100011, 4, 3, 0), i_type(0b100011, 4, 3, 4),  // lw v1, 0(a0); lw v1, 4(a0)
      i_type(0b001001, 2, 2, 1),                             // addiu v0, 1
      i_type(0b000100, 0, 0, -4), test::kNop};                // b back to the first lw
  test::KsegCpu compiled(0x10, false, 0x10000u), interpreted(0x10, false, 0x10000u);
  compiled.interpreter.set_compiling(true, 0);
  FakeHitPath hit;
  DirectRam ram = hit.ram(compiled.memory, true);
  ram.linear_base = 0;
  const uint64_t line = kBeyond >> FakeHitPath::kLineShift;
  hit.filter.fill(line, true);
  compiled.interpreter.set_direct_ram(ram);
  for (test::KsegCpu* t : {&compiled, &interpreted}) {
    t->code(user_code, 0x80020000u);  // physical 0x20000
    t->code(kSkipHandler, 0x80000180u);
    Cp0 scratch;
    scratch.raw(cp0::EntryHi) = 0x10000u;
    scratch.raw(cp0::EntryLo0) = 0x20000u >> 12 << EntryLoBits::PfnShift | EntryLoBits::V | EntryLoBits::G;
    scratch.raw(cp0::EntryLo1) = kBeyond >> 12 << EntryLoBits::PfnShift | EntryLoBits::V | EntryLoBits::G;
    t->v.tlb.write(scratch, 0);
    t->v.gpr[4] = 0x11000u;  // the odd page: beyond RAM
    t->v.jump_to(0x10000u);
  }
  run_side_by_side(compiled, interpreted, 600, 23);
  EXPECT_GT(compiled.v.gpr[2], 10u) << "the loop went round";
  EXPECT_EQ(compiled.exc_code(), 7u) << "DBE";
}

// An access group (a load, then a store and a narrower load at the same base and offset) is
// checked once, by its first access, for what all of them need: the soft TLB's store half and
// the line's write tag. So a clean page (TLB Modified on the store) and a line held read-only
// send the whole group to its calls, and only a dirty page with a writable line stays in line;
// compiled and interpreted alike in all three.
TEST(InterpreterRun, AnAccessGroupIsCheckedOnceForWhatAllItsAccessesNeed) {
  using test::i_type;
  const std::vector<uint32_t> user_code = {
      i_type(0b100011, 4, 3, 8),        // lw v1, 8(a0)
      i_type(0b001001, 3, 3, 0x101),    // addiu v1, 0x101
      i_type(0b101011, 4, 3, 8),        // sw v1, 8(a0)
      i_type(0b100100, 4, 8, 8),        // lbu t0, 8(a0)
      test::r_type(2, 8, 2, 0x21),      // addu v0, v0, t0
      i_type(0b000100, 0, 0, -6), test::kNop};  // b back to the lw
  const auto map = [](Vcpu& v, bool dirty) {
    Cp0 scratch;
    scratch.raw(cp0::EntryHi) = 0x40000u;
    scratch.raw(cp0::EntryLo0) = 0x50000u >> 12 << EntryLoBits::PfnShift | EntryLoBits::V | EntryLoBits::G |
                                 (dirty ? EntryLoBits::D : 0);
    scratch.raw(cp0::EntryLo1) = EntryLoBits::G;
    v.tlb.write(scratch, 1);
  };
  test::KsegCpu compiled(0x10, false, 0x10000u), interpreted(0x10, false, 0x10000u);
  compiled.interpreter.set_compiling(true, 0);
  FakeHitPath hit;
  compiled.interpreter.set_direct_ram(hit.ram(compiled.memory, false));
  for (test::KsegCpu* t : {&compiled, &interpreted}) {
    t->code(user_code, 0x80020000u);  // physical 0x20000
    t->code(kSkipHandler, 0x80000180u);
    Cp0 scratch;  // the code
    scratch.raw(cp0::EntryHi) = 0x10000u;
    scratch.raw(cp0::EntryLo0) = 0x20000u >> 12 << EntryLoBits::PfnShift | EntryLoBits::V | EntryLoBits::G;
    scratch.raw(cp0::EntryLo1) = EntryLoBits::G;
    t->v.tlb.write(scratch, 0);
    map(t->v, false);
    t->v.gpr[4] = 0x40000u;
    t->v.jump_to(0x10000u);
  }
  hit.hold_lines(true);
  // A clean page: every store raises TLB Modified and is skipped, so the loaded word stays as it
  // was (a store done in line would change what the next round loads). The skip enters the
  // block at the narrower load, which is then no group's and may hit.
  run_side_by_side(compiled, interpreted, 400, 13);
  EXPECT_EQ(compiled.exc_code(), 1u) << "TLB Modified";
  EXPECT_EQ(compiled.v.gpr[3], 0x101u) << "the word was never written";
  for (test::KsegCpu* t : {&compiled, &interpreted}) map(t->v, true);
  const uint64_t lone_hits = hit.hits;
  hit.hold_lines(false);
  run_side_by_side(compiled, interpreted, 800, 11);  // a dirty page, lines held for reading only
  EXPECT_EQ(hit.hits, lone_hits) << "the lines are readable, but not writable";
  hit.hold_lines(true);
  run_side_by_side(compiled, interpreted, 1200, 17);
  EXPECT_GT(hit.hits, 40u) << "in line at last";
  uint32_t word = 0;
  compiled.memory.load(0x50008u, 4, word);
  EXPECT_GT(word, 0x101u * 20) << "the stores went round";
  uint32_t stepped_word = 0;
  interpreted.memory.load(0x50008u, 4, stepped_word);
  EXPECT_EQ(word, stepped_word);
  EXPECT_FALSE(hit.announced()) << "the group's line is no longer announced";
}

// A store too far after a load at the same address (past the group's window, which bounds how
// long a line stays announced) checks for itself: on a line held for reading only, the load
// hits in line and the store goes to its call.
TEST(InterpreterRun, AnAccessFarAfterAnotherAtItsAddressChecksForItself) {
  using test::i_type;
  test::KsegCpu t(0, false, 0x80001000u);
  FakeHitPath hit;
  t.interpreter.set_compiling(true, 0);
  t.interpreter.set_direct_ram(hit.ram(t.memory, false));
  hit.hold_lines(false);
  std::vector<uint32_t> program = li(8, 0x80003000u);
  program.push_back(i_type(0b100011, 8, 9, 0));  // lw t1, 0(t0)
  for (int k = 0; k < 40; ++k) program.push_back(i_type(0b001001, 10, 10, 1));  // addiu t2, 1
  for (uint32_t w : {test::sw(9, 8, 0), i_type(0b000100, 0, 0, -1), test::kNop}) program.push_back(w);
  t.code(program);
  RunStats stats;
  t.interpreter.run(t.v, t.memory, 60, stats);
  EXPECT_EQ(t.v.gpr[10], 40u);
  EXPECT_EQ(hit.hits, 1u) << "the load in line, the store by its call";
}

// A wider access at the same base and offset is no member of the group before it: it checks its
// own alignment, and a misaligned word is an address error as in the interpreter.
TEST(InterpreterRun, AWiderAccessAtTheSameAddressChecksItsOwnAlignment) {
  using test::i_type;
  test::KsegCpu compiled(0, false, 0x80001000u), interpreted(0, false, 0x80001000u);
  FakeHitPath hit;
  compiled.interpreter.set_compiling(true, 0);
  compiled.interpreter.set_direct_ram(hit.ram(compiled.memory, true));
  std::vector<uint32_t> program = li(8, 0x80003000u);
  for (uint32_t w : {i_type(0b100100, 8, 9, 1), i_type(0b100011, 8, 10, 1), i_type(0b001001, 0, 2, 5),
                     i_type(0b000100, 0, 0, -1), test::kNop})
    program.push_back(w);  // lbu t1, 1(t0); lw t2, 1(t0); addiu v0, zero, 5; b .
  for (test::KsegCpu* t : {&compiled, &interpreted}) {
    t->memory.set_word(0x3000u, 0x11223344u);
    t->code(kSkipHandler, 0x80000180u);
    t->code(program);
  }
  run_side_by_side(compiled, interpreted, 40, 3);
  EXPECT_EQ(compiled.exc_code(), 4u) << "AdEL";
  EXPECT_EQ(compiled.v.gpr[9], 0x33u);
  EXPECT_EQ(compiled.v.gpr[2], 5u);
}

// An in-line store into predecoded code drops it, and the next instruction runs as stored; so
// does a store in an access group whose first access, a load, checked for it.
TEST(InterpreterRun, AnInLineStoreIntoPredecodedCodeDropsIt) {
  for (const bool group : {false, true}) {
    test::KsegCpu t(0, false, 0x80001000u);
    FakeHitPath hit;
    t.interpreter.set_compiling(true, 0);
    t.interpreter.set_direct_ram(hit.ram(t.memory, true));
    const uint32_t next = group ? 0x80001018u : 0x80001014u;  // the addiu after the store
    std::vector<uint32_t> program = store_addiu_v0_2_setup(next);
    if (group) program.push_back(test::i_type(0b100011, 8, 10, 0));  // lw t2, 0(t0)
    for (uint32_t w : {test::sw(9, 8, 0), test::i_type(0b001001, 0, 2, 1), test::kNop}) program.push_back(w);
    t.code(program);
    RunStats stats;
    t.interpreter.run(t.v, t.memory, group ? 8 : 7, stats);
    EXPECT_EQ(t.v.gpr[2], 2u) << (group ? "in a group" : "alone");
    if (group) {
      EXPECT_EQ(t.v.gpr[10], test::i_type(0b001001, 0, 2, 1)) << "the load saw the code as it was";
    }
  }
}

TEST_P(InterpreterRunModes, StopsAtWaitAndAtTimerWrites) {
  test::KsegCpu t(0, false, 0x80001000u);
  t.interpreter.set_compiling(GetParam(), 0);
  t.code({test::kNop, test::mtc0(0, cp0::Compare), test::kNop, test::kWait, test::kNop});
  RunStats stats;
  EXPECT_EQ(t.interpreter.run(t.v, t.memory, 1000, stats), RunExit::TimerMoved);
  EXPECT_EQ(t.v.pc, 0x80001008u);
  EXPECT_EQ(t.interpreter.run(t.v, t.memory, 1000, stats), RunExit::Waiting);
  EXPECT_EQ(t.v.pc, 0x80001010u) << "pc is past the WAIT";
  EXPECT_EQ(stats.instructions, 4u);
}

TEST(InterpreterRun, ThePerfMapNamesEveryCompiledBlock) {
  const std::string path = "/tmp/perf-" + std::to_string(getpid()) + ".map";
  std::remove(path.c_str());
  test::KsegCpu t(0, false, 0x80001000u);
  t.interpreter.set_compiling(true, 0);
  ASSERT_TRUE(t.interpreter.open_perf_map());
  t.code({test::kNop, test::i_type(0b000100, 0, 0, 1), test::kNop, test::kNop, test::kNop, test::kNop});
  RunStats stats;
  t.interpreter.run(t.v, t.memory, 6, stats);  // two blocks: the branch's, and its target's
  std::ifstream map(path);
  std::vector<std::string> names;
  for (std::string address, size, name; map >> address >> size >> name;) {
    EXPECT_GT(std::stoull(address, nullptr, 16), 0u);
    EXPECT_GT(std::stoull(size, nullptr, 16), 0u);
    names.push_back(name);
  }
  std::remove(path.c_str());
  EXPECT_EQ(names, (std::vector<std::string>{"guest_80001000", "guest_8000100c"}));
}

// /tmp is everyone's: whatever another user planted at the perf map's name (a symlink to a file
// of ours, a hard link to one, a FIFO) is refused, and what it leads to is left as it was.
TEST(InterpreterRun, ThePerfMapRefusesWhatIsPlantedAtItsName) {
  const std::string path = "/tmp/perf-" + std::to_string(getpid()) + ".map";
  std::string target = "/tmp/disco-perf-target-XXXXXX";
  const int target_fd = ::mkstemp(target.data());
  ASSERT_GE(target_fd, 0);
  ASSERT_EQ(::write(target_fd, "ours\n", 5), 5);
  ::close(target_fd);
  const std::vector<std::pair<std::string, std::function<int()>>> plants = {
      {"symlink", [&] { return ::symlink(target.c_str(), path.c_str()); }},
      {"hard link", [&] { return ::link(target.c_str(), path.c_str()); }},
      {"fifo", [&] { return ::mkfifo(path.c_str(), 0666); }},
  };
  for (const auto& [what, plant] : plants) {
    std::remove(path.c_str());
    ASSERT_EQ(plant(), 0) << what;
    test::KsegCpu t(0, false, 0x80001000u);
    t.interpreter.set_compiling(true, 0);
    EXPECT_FALSE(t.interpreter.open_perf_map()) << what;
    std::remove(path.c_str());
  }
  std::ifstream in(target);
  const std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(target.c_str());
  EXPECT_EQ(contents, "ours\n");
}

// Timer interrupts while compiled blocks run: the run loop (as Vm::run drives it) runs to the
// timer's deadline, raises the timer and runs on, so the interrupt becomes pending in the middle of
// chained compiled blocks. They must stop at the block boundary where interpreted blocks stop and
// take it there: the same EPCs, in the same order, at the same cycles. The handler logs each EPC
// and sets the next deadline 5 to 65 Count ticks on (from the EPC and the loop's count), so the
// interrupts land in every block of the loop. The loop masks interrupts with DI and unmasks them
// with EI in the middle of its blocks (neither ends a block), and the handler reads Count with an
// MFC0 in the middle of one.
struct TimerRun {
  std::vector<uint32_t> epcs;
  RunStats stats;
};
TimerRun run_with_timer(test::KsegCpu& t, uint64_t limit) {
  using test::i_type;
  using test::r_type;
  constexpr uint32_t kK0 = 26, kK1 = 27, kLog = 0x80100000u;  // log: [0] its byte size, then the EPCs
  t.code({i_type(0b001111, 0, kK1, kLog >> 16),    // lui k1, log
          test::lw(kK0, kK1, 0),                   // k0 = bytes logged
          i_type(0b001001, kK0, kK0, 4),           // addiu k0, 4
          test::sw(kK0, kK1, 0),
          r_type(kK1, kK0, kK1, 0x21),             // addu k1, k1, k0
          test::mfc0(kK0, cp0::EPC),
          test::sw(kK0, kK1, 0),                   // log the EPC
          r_type(kK0, 8, kK0, 0x21),               // addu k0, k0, t0 (the loop's count)
          i_type(0b001100, kK0, kK0, 0x3c),        // andi k0, 0x3c
          i_type(0b001001, kK0, kK0, 5),           // addiu k0, 5
          test::mfc0(kK1, cp0::Count),
          r_type(kK0, kK1, kK0, 0x21),             // addu k0, k0, k1
          test::mtc0(kK0, cp0::Compare),           // the next deadline; acknowledges this one
          test::kEret},
         0x80000180u);
  t.code({i_type(0b001001, 0, kK0, 40),            // addiu k0, zero, 40
          test::mtc0(kK0, cp0::Compare),           // the first deadline
          i_type(0b001111, 0, 16, 0x8020),         // lui s0, 0x8020: data
          i_type(0b001001, 8, 8, 1),               // loop: addiu t0, 1
          i_type(0b001100, 8, 9, 3),               // andi t1, t0, 3
          test::beq(9, 0, 4),                      // beq t1, zero, skip
          r_type(10, 8, 10, 0x21),                 // addu t2, t2, t0 (delay slot)
          test::sw(10, 16, 0),                     // sw t2, 0(s0)
          test::di(15),                            // di t7: masked from here (the block goes on)
          i_type(0b001001, 11, 11, 7),             // addiu t3, 7
          r_type(12, 8, 12, 0x26),                 // skip: xor t4, t4, t0
          test::ei(0),                             // ei: what became pending is taken at the block's end
          test::lw(13, 16, 0),                     // lw t5, 0(s0)
          i_type(0b000101, 8, 0, static_cast<uint32_t>(-11)),  // bne t0, zero, loop
          r_type(0, 12, 14, 0x00) | 1u << 6},      // sll t6, t4, 1 (delay slot)
         0x80001000u);
  t.v.cp0.raw(cp0::Status) = StatusBits::IE | CauseBits::IP_TIMER;  // IM7 sits where IP7 does
  TimerRun out;
  uint64_t timer_at = t.v.cp0.next_timer_cycle(t.v.cycles);
  while (t.v.cycles < limit) {
    if (t.interpreter.run(t.v, t.memory, std::min(timer_at, limit), out.stats) == RunExit::TimerMoved)
      timer_at = t.v.cp0.next_timer_cycle(t.v.cycles);
    if (t.v.cycles >= timer_at) {
      t.v.cp0.raise_timer();
      timer_at = t.v.cp0.next_timer_cycle(t.v.cycles);
    }
  }
  uint32_t bytes = 0;
  t.memory.load(kLog, 4, bytes);
  for (uint32_t at = 4; at <= bytes; at += 4) t.memory.load(kLog + at, 4, out.epcs.emplace_back());
  return out;
}

TEST(InterpreterRun, CompiledBlocksTakeTimerInterruptsWhereInterpretedOnesDo) {
  test::KsegCpu interpreted(0, false, 0x80001000u), called(0, false, 0x80001000u), in_line(0, false, 0x80001000u);
  called.interpreter.set_compiling(true, 0);
  in_line.interpreter.set_compiling(true, 0);
  FakeHitPath hit;
  in_line.interpreter.set_direct_ram(hit.ram(in_line.memory, true));
  const TimerRun want = run_with_timer(interpreted, 20000);
  const TimerRun got_called = run_with_timer(called, 20000);
  const TimerRun got_in_line = run_with_timer(in_line, 20000);

  EXPECT_GT(want.epcs.size(), 100u);
  EXPECT_EQ(want.epcs.size(), want.stats.exceptions);
  EXPECT_GE(std::set<uint32_t>(want.epcs.begin(), want.epcs.end()).size(), 3u) << "interrupts in several blocks";
  EXPECT_EQ(got_called.epcs, want.epcs);
  EXPECT_EQ(got_in_line.epcs, want.epcs);
  EXPECT_EQ(got_called.stats.instructions, want.stats.instructions);
  EXPECT_EQ(got_in_line.stats.instructions, want.stats.instructions);
  expect_same(called.v, interpreted.v, "compiled, accesses by calls");
  expect_same(in_line.v, interpreted.v, "compiled, accesses in line");
  EXPECT_GT(called.interpreter.compiled_blocks(), 1u);
  EXPECT_GT(in_line.interpreter.compiled_blocks(), 1u);
  EXPECT_GT(hit.hits, 0u);
}

// RAM with a device at one word: a store there sets interrupt line IP2 to the value's low bit,
// as a device raises or drops its line when the guest writes its register.
class DoorbellMemory final : public GuestMemory {
 public:
  static constexpr uint32_t kDoorbell = 0xa0200000u;
  DoorbellMemory(test::KsegMemory& ram, Vcpu& v) : ram_(ram), v_(v) {}
  bool load(uint32_t addr, unsigned size, uint32_t& out) override { return ram_.load(addr, size, out); }
  bool store(uint32_t addr, unsigned size, uint32_t value) override {
    if ((addr & 0x1fffffffu) != (kDoorbell & 0x1fffffffu)) return ram_.store(addr, size, value);  // (physical)
    v_.cp0.set_hw_interrupts(value & 1);
    return true;
  }
  bool load_linked(uint32_t addr, uint32_t& out) override { return ram_.load_linked(addr, out); }
  bool store_conditional(uint32_t addr, uint32_t value, bool& stored) override {
    return ram_.store_conditional(addr, value, stored);
  }
  bool fetch(uint32_t addr, uint32_t& word) override { return ram_.fetch(addr, word); }

 private:
  test::KsegMemory& ram_;
  Vcpu& v_;
};

// A device access in the middle of a compiled block raises an interrupt (a call out of the
// block): the block's end takes it, where the interpreter's block ends and takes it, and not
// some blocks later. The loop rings every third round; the handler logs the EPC and drops the line.
std::vector<uint32_t> ring_doorbell(test::KsegCpu& t) {
  using test::i_type;
  using test::r_type;
  constexpr uint32_t kK0 = 26, kK1 = 27, kLog = 0x80100000u;
  t.code({i_type(0b001111, 0, kK1, kLog >> 16), test::lw(kK0, kK1, 0), i_type(0b001001, kK0, kK0, 4),
          test::sw(kK0, kK1, 0), r_type(kK1, kK0, kK1, 0x21), test::mfc0(kK0, cp0::EPC), test::sw(kK0, kK1, 0),
          i_type(0b001111, 0, kK1, DoorbellMemory::kDoorbell >> 16),
          test::sw(0, kK1, 0),  // the line drops
          test::kEret},
         0x80000180u);
  t.code({i_type(0b001111, 0, 16, DoorbellMemory::kDoorbell >> 16),  // lui s0, doorbell
          i_type(0b001001, 0, 8, 300),                           // addiu t0, zero, 300
          i_type(0b001001, 8, 8, static_cast<uint32_t>(-1)),     // loop: addiu t0, -1
          i_type(0b001001, 0, 10, 3),                            // addiu t2, zero, 3
          r_type(8, 10, 0, 0x1b),                                // divu t0, t2
          r_type(0, 0, 9, 0x10),                                 // mfhi t1
          i_type(0b001011, 9, 9, 1),                             // sltiu t1, t1, 1: every third round
          test::sw(9, 16, 0),                                    // sw t1, doorbell
          r_type(11, 8, 11, 0x21),                               // addu t3, t3, t0
          i_type(0b000101, 8, 0, static_cast<uint32_t>(-8)),     // bne t0, zero, loop
          r_type(12, 11, 12, 0x26),                              // xor t4, t4, t3 (delay slot)
          test::beq(0, 0, -1), test::kNop},
         0x80001000u);
  DoorbellMemory memory(t.memory, t.v);
  RunStats stats;
  for (int k = 0; k < 100 && t.v.pc < 0x8000102cu; ++k) t.interpreter.run(t.v, memory, t.v.cycles + 10000, stats);
  EXPECT_GE(t.v.pc, 0x8000102cu) << "the loop ran to its end";
  uint32_t bytes = 0;
  t.memory.load(kLog, 4, bytes);
  std::vector<uint32_t> epcs;
  for (uint32_t at = 4; at <= bytes; at += 4) t.memory.load(kLog + at, 4, epcs.emplace_back());
  return epcs;
}

TEST(InterpreterRun, AnInterruptRaisedByACallInABlockIsTakenAtItsEnd) {
  test::KsegCpu interpreted(StatusBits::IE | 1u << 10, false, 0x80001000u);  // IM2 on
  test::KsegCpu compiled(StatusBits::IE | 1u << 10, false, 0x80001000u);
  compiled.interpreter.set_compiling(true, 0);
  const std::vector<uint32_t> want = ring_doorbell(interpreted);
  EXPECT_EQ(want.size(), 100u);
  EXPECT_EQ(ring_doorbell(compiled), want);
  EXPECT_GT(compiled.interpreter.compiled_blocks(), 0u);
  expect_same(compiled.v, interpreted.v, "compiled");
}

TEST(InterpreterRun, TakesAPendingInterruptBeforeTheNextBlock) {
  test::KsegCpu t(StatusBits::IE | 1u << 10, false, 0x80001000u);  // IM2 on
  t.code({test::kNop, test::kNop, test::kNop});
  t.v.cp0.set_hw_interrupts(1);  // IP2
  RunStats stats;
  t.interpreter.run(t.v, t.memory, 1, stats);
  EXPECT_EQ(stats.exceptions, 1u);
  EXPECT_EQ(t.reg(cp0::EPC), 0x80001000u);
  EXPECT_EQ(t.exc_code(), 0u);
  EXPECT_TRUE(t.exl());
}

}  // namespace
}  // namespace disco::mips