// The integer interpreter through its real interface: small programs assembled by GNU as at build
// time (interp_*.S, see tests/monitor/CMakeLists.txt) run on a Vcpu against a flat test memory;
// registers, memory and the sequence of raised exceptions are checked against values worked out
// by hand from MD00086 (each snippet's comments give them).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "monitor/cpu/interpreter.h"
#include "tests/monitor/kuseg_identity.h"

namespace disco::mips {
namespace {

constexpr uint32_t kCodeBase = DISCO_INTERP_BASE;
constexpr uint32_t kData = 0x00100000;
constexpr uint32_t kMemorySize = 8u << 20;  // addresses 0..8 MiB; anything above is a bus error

// Flat little-endian RAM from address 0, with one LL link that the test can break.
class FlatMemory final : public GuestMemory {
 public:
  FlatMemory() : bytes_(kMemorySize) {}

  bool load(uint32_t addr, unsigned size, uint32_t& out) override {
    if (!inside(addr, size)) return false;
    out = 0;
    std::memcpy(&out, &bytes_[addr], size);  // the host is little-endian, as the guest
    return true;
  }
  bool store(uint32_t addr, unsigned size, uint32_t value) override {
    if (!inside(addr, size)) return false;
    if (linked_ && (addr & ~3u) == (link_ & ~3u)) linked_ = false;
    std::memcpy(&bytes_[addr], &value, size);
    ++stores;
    return true;
  }
  bool load_linked(uint32_t addr, uint32_t& out) override {
    if (!load(addr, 4, out)) return false;
    linked_ = true;
    link_ = addr;
    return true;
  }
  bool store_conditional(uint32_t addr, uint32_t value, bool& stored) override {
    if (!inside(addr, 4)) return false;
    stored = linked_ && link_ == addr;
    linked_ = false;
    if (stored) std::memcpy(&bytes_[addr], &value, 4);
    return true;
  }
  bool fetch(uint32_t addr, uint32_t& word) override {
    ++fetches;
    return load(addr, 4, word);
  }

  void break_link() { linked_ = false; }
  uint32_t word(uint32_t addr) const {
    uint32_t w;
    std::memcpy(&w, &bytes_[addr], 4);
    return w;
  }
  void set_word(uint32_t addr, uint32_t w) { std::memcpy(&bytes_[addr], &w, 4); }
  void set_byte(uint32_t addr, uint8_t b) { bytes_[addr] = b; }
  uint8_t byte(uint32_t addr) const { return bytes_[addr]; }
  void load_program(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    const std::vector<char> code{std::istreambuf_iterator<char>(in), {}};
    ASSERT_FALSE(code.empty()) << "missing " << path;
    std::memcpy(&bytes_[kCodeBase], code.data(), code.size());
  }

  unsigned fetches = 0;
  unsigned stores = 0;

 private:
  bool inside(uint32_t addr, unsigned size) const { return addr < kMemorySize && kMemorySize - addr >= size; }
  std::vector<uint8_t> bytes_;
  bool linked_ = false;
  uint32_t link_ = 0;
};

struct Raised {
  Exception exc;
  uint32_t pc;
  uint32_t bad_vaddr;
  bool in_delay_slot;
};

// Loads interp_<name>.bin and runs it to its BREAK. Every other exception is recorded and
// "handled" by resuming after the instruction (a syscall also breaks the LL link).
struct Machine {
  Vcpu cpu;
  FlatMemory memory;
  Interpreter interpreter;
  std::vector<Raised> raised;
  StepResult last;

  Machine() { test::map_kuseg_identity(cpu); }
  void program(const char* name) { memory.load_program(std::string(DISCO_INTERP_DIR) + "/interp_" + name + ".bin"); }

  void go(unsigned max_steps = 10000) {
    cpu.jump_to(kCodeBase);
    for (unsigned i = 0; i < max_steps; ++i) {
      last = interpreter.step(cpu, memory);
      if (last.exc == Exception::None) continue;
      if (last.exc == Exception::Break) return;
      raised.push_back({last.exc, cpu.pc, last.bad_vaddr, last.in_delay_slot});
      if (last.exc == Exception::Syscall) memory.break_link();
      cpu.jump_to(cpu.next_pc);  // skip it; after a delay slot, next_pc is the branch target
    }
    FAIL() << "no BREAK within " << max_steps << " steps, pc " << std::hex << cpu.pc;
  }
  uint32_t r(unsigned n) const { return cpu.gpr[n]; }
};

std::vector<Exception> kinds(const std::vector<Raised>& raised) {
  std::vector<Exception> out;
  for (const Raised& x : raised) out.push_back(x.exc);
  return out;
}

TEST(Interpreter, Arithmetic) {
  Machine t;
  t.program("arith");
  t.go();
  EXPECT_EQ(t.r(3), 0x80000000u);
  EXPECT_EQ(t.r(4), 0x1234u) << "ADD that overflows must not write rd";
  EXPECT_EQ(t.r(5), 0u);
  EXPECT_EQ(t.r(6), 0u);
  EXPECT_EQ(t.r(7), 0x7fffffffu);
  EXPECT_EQ(t.r(8), 2u);
  EXPECT_EQ(t.r(9), 0xfffffffeu);
  EXPECT_EQ(t.r(10), 1u);
  EXPECT_EQ(t.r(11), 0u);
  EXPECT_EQ(t.r(12), 1u);
  EXPECT_EQ(t.r(13), 1u);
  EXPECT_EQ(t.r(15), 0x70f00ff0u);
  EXPECT_EQ(t.r(16), 0xf0f00ff1u);
  EXPECT_EQ(t.r(17), 0x8f0ff00fu);
  EXPECT_EQ(t.r(18), 0x0f0ff00eu);
  EXPECT_EQ(t.r(19), 0x00000ff0u);
  EXPECT_EQ(t.r(20), 0xf0f0f00fu);
  EXPECT_EQ(t.r(0), 0u);
  EXPECT_EQ(t.r(21), 0xf0f00ff0u);
  EXPECT_EQ(t.r(22), 0u);
  EXPECT_EQ(t.r(23), 1u);
  EXPECT_EQ(t.r(24), 0u);
  EXPECT_EQ(kinds(t.raised), (std::vector<Exception>(4, Exception::Overflow)));
  // The overflowing ADD is the 6th instruction; the exception leaves pc on it.
  ASSERT_FALSE(t.raised.empty());
  EXPECT_EQ(t.raised[0].pc, kCodeBase + 5 * 4);
  EXPECT_FALSE(t.raised[0].in_delay_slot);
}

TEST(Interpreter, ShiftsAndRotates) {
  Machine t;
  t.program("shift");
  t.go();
  EXPECT_TRUE(t.raised.empty());
  EXPECT_EQ(t.r(2), 0x00000f10u);
  EXPECT_EQ(t.r(3), 0x0800000fu);
  EXPECT_EQ(t.r(4), 0xf800000fu);
  EXPECT_EQ(t.r(5), 0x1800000fu);
  EXPECT_EQ(t.r(7), 0x00000f10u);
  EXPECT_EQ(t.r(8), 0x0800000fu);
  EXPECT_EQ(t.r(9), 0xf800000fu);
  EXPECT_EQ(t.r(10), 0x1800000fu);
  EXPECT_EQ(t.r(11), 0x800000f1u);
  EXPECT_EQ(t.r(12), 0x800000f1u);
  EXPECT_EQ(t.r(13), 0xffffffffu);
  EXPECT_EQ(t.r(14), 1u);
  EXPECT_EQ(t.r(15), 0x800000f1u);
}

TEST(Interpreter, MultiplyDivideAccumulate) {
  Machine t;
  t.program("muldiv");
  t.go();
  EXPECT_TRUE(t.raised.empty()) << "divide by zero raises nothing";
  EXPECT_EQ(t.r(3), 0xffffffebu);
  EXPECT_EQ(t.r(4), 0xffffffffu);
  EXPECT_EQ(t.r(5), 0xffffffebu);
  EXPECT_EQ(t.r(6), 2u);
  EXPECT_EQ(t.r(7), 0xfffffffeu);
  EXPECT_EQ(t.r(8), 0xffffffffu);
  EXPECT_EQ(t.r(9), 0x55555553u);
  EXPECT_EQ(t.r(10), 0u);
  EXPECT_EQ(t.r(11), 0xffffffebu);
  EXPECT_EQ(t.r(12), 3u) << "HI unchanged by divide by zero";
  EXPECT_EQ(t.r(13), 0xfffffff9u) << "LO unchanged by divide by zero";
  EXPECT_EQ(t.r(14), 3u);
  EXPECT_EQ(t.r(15), 0xffffffe4u);
  EXPECT_EQ(t.r(16), 6u);
  EXPECT_EQ(t.r(17), 0xffffffcfu);
  EXPECT_EQ(t.r(18), 6u);
  EXPECT_EQ(t.r(19), 0xffffffe4u);
  EXPECT_EQ(t.r(20), 3u);
  EXPECT_EQ(t.r(21), 0xfffffff9u);
  EXPECT_EQ(t.r(24), 0x80000000u);
  EXPECT_EQ(t.r(25), 0u);
}

TEST(Interpreter, BitManipulation) {
  Machine t;
  t.program("bits");
  t.go();
  EXPECT_TRUE(t.raised.empty());
  EXPECT_EQ(t.r(2), 24u);
  EXPECT_EQ(t.r(3), 32u);
  EXPECT_EQ(t.r(5), 28u);
  EXPECT_EQ(t.r(6), 0u);
  EXPECT_EQ(t.r(8), 0xffffff80u);
  EXPECT_EQ(t.r(9), 0xffff8080u);
  EXPECT_EQ(t.r(11), 0x22114433u);
  EXPECT_EQ(t.r(12), 0x233u);
  EXPECT_EQ(t.r(13), 0x11223344u);
  EXPECT_EQ(t.r(14), 0x11223f04u);
  EXPECT_EQ(t.r(15), 0x80000000u);
  EXPECT_EQ(t.r(16), 1u);
  EXPECT_EQ(t.r(17), 0u);
  EXPECT_EQ(t.r(18), 0xffffffffu);
}

TEST(Interpreter, BranchesDelaySlotsAndLinks) {
  Machine t;
  t.program("branch");
  t.go();
  EXPECT_TRUE(t.raised.empty());
  EXPECT_EQ(t.r(3), 0u) << "an annulled delay slot or a skipped instruction ran";
  EXPECT_EQ(t.r(2), 0xffffu) << "a delay slot or fall-through did not run";
  EXPECT_EQ(t.r(9), 0x3fu);
  for (unsigned reg : {5u, 6u, 7u, 8u, 10u, 11u, 12u}) EXPECT_EQ(t.r(reg), 0u) << "link value in $" << reg;
  EXPECT_EQ(t.r(14), 5u) << "loop delay slot";
  EXPECT_FALSE(t.last.in_delay_slot);
}

TEST(Interpreter, LoadsAndStores) {
  Machine t;
  t.memory.set_word(kData - 4, 0x01020304);
  t.program("mem");
  t.go();
  EXPECT_EQ(t.r(3), 0xffffffbbu);
  EXPECT_EQ(t.r(4), 0xbbu);
  EXPECT_EQ(t.r(5), 0xffffff88u);
  EXPECT_EQ(t.r(6), 0xffff8899u);
  EXPECT_EQ(t.r(7), 0x8899u);
  EXPECT_EQ(t.r(8), 0x8899aabbu);
  EXPECT_EQ(t.r(9), 0xaabb00bbu);
  EXPECT_EQ(t.r(10), 0xffffaabbu);
  EXPECT_EQ(t.r(12), 0x7fu);
  EXPECT_EQ(t.r(13), 0u);
  EXPECT_EQ(t.r(14), 0u);
  EXPECT_EQ(t.r(0), 0u);
  EXPECT_EQ(t.r(15), 0x01020304u);
  EXPECT_EQ(t.r(17), 0u);
  EXPECT_EQ(t.r(18), 0xaabbu);
  EXPECT_EQ(t.memory.word(kData), 0x8899aabbu) << "a misaligned store wrote";
  EXPECT_EQ(t.memory.word(kData + 4), 0xaabb00bbu);
  EXPECT_EQ(t.memory.byte(kData + 8), 0x7fu);
  ASSERT_EQ(t.raised.size(), 5u);
  const Raised expected[] = {
      {Exception::AddressErrorLoad, 0, kData + 1, false},
      {Exception::AddressErrorStore, 0, kData + 2, false},
      {Exception::AddressErrorLoad, 0, kData + 1, false},
      {Exception::AddressErrorStore, 0, kData + 3, false},
      {Exception::BusErrorData, 0, 0x7fff0000, false},
  };
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(t.raised[i].exc, expected[i].exc) << i << ": " << name(t.raised[i].exc);
    EXPECT_EQ(t.raised[i].bad_vaddr, expected[i].bad_vaddr) << i;
  }
  EXPECT_EQ(t.raised[0].pc, kCodeBase + 17 * 4) << "lw $13, 1($1) is the 18th instruction";
}

// LWL/LWR/SWL/SWR, little-endian, from MD00086's byte tables: with b = addr & 3, LWL fills
// rt's top b+1 bytes from memory bytes b..0 of the aligned word, LWR fills rt's low 4-b bytes
// from memory bytes b..3; SWL/SWR store the same bytes the other way.
TEST(Interpreter, UnalignedWordAccessAllAlignments) {
  Machine t;
  for (uint32_t i = 0; i < 8; ++i) t.memory.set_byte(kData + i, static_cast<uint8_t>(0x11 * i));
  for (uint32_t a = kData + 0x10; a < kData + 0x40; ++a) t.memory.set_byte(a, 0xee);
  t.program("unaligned");
  t.go();
  EXPECT_TRUE(t.raised.empty());
  // Memory word 0x33221100, rt 0xaabbccdd.
  EXPECT_EQ(t.r(3), 0x00bbccddu) << "lwl b=0";
  EXPECT_EQ(t.r(4), 0x1100ccddu) << "lwl b=1";
  EXPECT_EQ(t.r(5), 0x221100ddu) << "lwl b=2";
  EXPECT_EQ(t.r(6), 0x33221100u) << "lwl b=3";
  EXPECT_EQ(t.r(7), 0x33221100u) << "lwr b=0";
  EXPECT_EQ(t.r(8), 0xaa332211u) << "lwr b=1";
  EXPECT_EQ(t.r(9), 0xaabb3322u) << "lwr b=2";
  EXPECT_EQ(t.r(10), 0xaabbcc33u) << "lwr b=3";
  EXPECT_EQ(t.r(11), 0x44332211u) << "lwl+lwr idiom";
  EXPECT_EQ(t.memory.word(kData + 0x10), 0xeeeeeeaau) << "swl b=0";
  EXPECT_EQ(t.memory.word(kData + 0x14), 0xeeeeaabbu) << "swl b=1";
  EXPECT_EQ(t.memory.word(kData + 0x18), 0xeeaabbccu) << "swl b=2";
  EXPECT_EQ(t.memory.word(kData + 0x1c), 0xaabbccddu) << "swl b=3";
  EXPECT_EQ(t.memory.word(kData + 0x20), 0xaabbccddu) << "swr b=0";
  EXPECT_EQ(t.memory.word(kData + 0x24), 0xbbccddeeu) << "swr b=1";
  EXPECT_EQ(t.memory.word(kData + 0x28), 0xccddeeeeu) << "swr b=2";
  EXPECT_EQ(t.memory.word(kData + 0x2c), 0xddeeeeeeu) << "swr b=3";
  EXPECT_EQ(t.memory.word(kData + 0x30), 0xbbccddeeu) << "swl+swr idiom";
  EXPECT_EQ(t.memory.word(kData + 0x34), 0xeeeeeeaau);
}

TEST(Interpreter, LoadLinkedStoreConditional) {
  Machine t;
  t.program("llsc");
  t.go();
  EXPECT_EQ(t.r(3), 5u);
  EXPECT_EQ(t.r(4), 1u) << "sc after ll succeeds";
  EXPECT_EQ(t.r(5), 6u);
  EXPECT_EQ(t.r(6), 0u) << "sc after a broken link fails";
  EXPECT_EQ(t.r(7), 0u) << "sc without ll fails";
  EXPECT_EQ(t.r(8), 1u);
  EXPECT_EQ(t.r(9), 16u);
  EXPECT_EQ(t.memory.word(kData), 16u);
  EXPECT_EQ(t.cpu.cp0.raw(cp0::LLAddr), kData >> 4);
  EXPECT_EQ(kinds(t.raised), (std::vector<Exception>{Exception::Syscall, Exception::AddressErrorLoad,
                                                     Exception::AddressErrorStore}));
}

TEST(Interpreter, TrapsSystemAndUnimplemented) {
  Machine t;
  t.cpu.cp0.raw(cp0::UserLocal) = 0xdeadbeef;
  t.program("system");
  t.go();
  using E = Exception;
  EXPECT_EQ(kinds(t.raised), (std::vector<E>{E::Trap, E::Trap, E::Trap, E::Trap, E::Trap, E::Trap, E::Syscall,
                                             E::ReservedInstruction, E::CoprocessorUnusable, E::Trap}));
  EXPECT_EQ(t.r(3), 0xdeadbeefu);
  EXPECT_EQ(t.r(4), StatusBits::BEV | StatusBits::ERL) << "mfc0 $4, $12 in kernel mode reads the reset Status";
  EXPECT_EQ(t.r(5), 0u) << "the branch around it was not taken";
  EXPECT_EQ(t.r(6), 7u);
  ASSERT_EQ(t.raised.size(), 10u);
  EXPECT_EQ(t.raised[8].pc, t.raised[7].pc + 4) << "lwc1 follows the reserved word";
  EXPECT_TRUE(t.raised[9].in_delay_slot) << "teq in a delay slot";
  EXPECT_FALSE(t.raised[8].in_delay_slot);
  EXPECT_EQ(t.last.exc, E::Break);
}

TEST(Interpreter, CoprocessorZeroOpsInUserModeAreCoprocessorUnusable) {
  Machine t;
  t.program("system");
  t.cpu.cp0.raw(cp0::Status) = StatusBits::UM;  // user mode, CU0 clear, HWREna 0
  t.go();
  using E = Exception;
  EXPECT_EQ(kinds(t.raised),
            (std::vector<E>{E::Trap, E::Trap, E::Trap, E::Trap, E::Trap, E::Trap, E::Syscall,
                            E::ReservedInstruction,   // rdhwr $29 without HWREna.ULR
                            E::CoprocessorUnusable,   // cache
                            E::ReservedInstruction,   // reserved opcode
                            E::CoprocessorUnusable,   // lwc1 (unit 1)
                            E::CoprocessorUnusable,   // mfc0 (unit 0)
                            E::Trap}));
  EXPECT_EQ(t.r(3), 0u);
  EXPECT_EQ(t.r(4), 0u);
}

TEST(Interpreter, PredecodesOnceUntilInvalidated) {
  Machine t;
  t.program("branch");
  t.go();
  const unsigned first = t.memory.fetches;
  t.raised.clear();
  t.cpu.gpr = {};
  t.go();
  EXPECT_EQ(t.memory.fetches, first) << "a second run must execute from the predecoded page";
  EXPECT_EQ(t.r(2), 0xffffu);
  // Patch the final BREAK into SYSCALL: invisible until the page is invalidated.
  const uint32_t break_addr = t.cpu.pc;
  t.memory.set_word(break_addr, 0x0000000c);
  t.cpu.jump_to(break_addr);
  EXPECT_EQ(t.interpreter.step(t.cpu, t.memory).exc, Exception::Break);
  t.interpreter.invalidate_page(break_addr);
  t.cpu.jump_to(break_addr);
  EXPECT_EQ(t.interpreter.step(t.cpu, t.memory).exc, Exception::Syscall);
}

TEST(Interpreter, FetchFaults) {
  Vcpu cpu;
  FlatMemory memory;
  Interpreter interpreter;
  cpu.jump_to(kCodeBase + 2);
  StepResult r = interpreter.step(cpu, memory);
  EXPECT_EQ(r.exc, Exception::AddressErrorLoad);
  EXPECT_EQ(r.bad_vaddr, kCodeBase + 2);
  cpu.jump_to(0x7ff00000);
  r = interpreter.step(cpu, memory);
  EXPECT_EQ(r.exc, Exception::BusErrorInstruction);
  EXPECT_EQ(cpu.pc, 0x7ff00000u) << "a faulting step leaves pc on the instruction";
}

TEST(Interpreter, OwnStoreIntoCodeDropsItsPredecode) {
  Machine t;
  t.program("selfmod");
  t.go();
  EXPECT_TRUE(t.raised.empty());
  EXPECT_EQ(t.r(5), 8u) << "the patched instruction ran from a stale predecode";
}


uint32_t encode_i(uint32_t opcode, uint32_t rs, uint32_t rt, uint32_t imm) {
  return opcode << 26 | rs << 21 | rt << 16 | (imm & 0xffff);
}
uint8_t byte_of(uint32_t w, unsigned i) { return static_cast<uint8_t>(w >> (8 * i)); }
uint32_t with_byte(uint32_t w, unsigned i, uint8_t b) { return (w & ~(0xffu << (8 * i))) | uint32_t{b} << (8 * i); }

// LWL/LWR/SWL/SWR against a byte-by-byte reference written from MD00086's little-endian tables
// (a different formulation from the interpreter's shifts and masks), random values, seed printed.
TEST(Interpreter, UnalignedWordAccessMatchesByteReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937 rng(seed);
  enum : uint32_t { kLwl = 0b100010, kLwr = 0b100110, kSwl = 0b101010, kSwr = 0b101110 };
  Vcpu cpu;
  FlatMemory memory;
  Interpreter interpreter;
  for (int iteration = 0; iteration < 200; ++iteration) {
    for (uint32_t op : {kLwl, kLwr, kSwl, kSwr}) {
      for (unsigned b = 0; b < 4; ++b) {
        const uint32_t mem_word = rng(), reg = rng();
        memory.set_word(kData, mem_word);
        memory.set_word(kCodeBase, encode_i(op, 1, 2, b));
        interpreter.invalidate_page(kCodeBase);
        cpu.gpr[1] = kData;
        cpu.gpr[2] = reg;
        cpu.jump_to(kCodeBase);
        ASSERT_EQ(interpreter.step(cpu, memory).exc, Exception::None);
        uint32_t want_reg = reg, want_mem = mem_word;
        switch (op) {
          case kLwl:  // rt's top b+1 bytes <- memory bytes 0..b, memory byte b in rt's MSB
            for (unsigned i = 0; i <= b; ++i) want_reg = with_byte(want_reg, 3 - b + i, byte_of(mem_word, i));
            break;
          case kLwr:  // rt's low 4-b bytes <- memory bytes b..3, memory byte b in rt's LSB
            for (unsigned i = b; i < 4; ++i) want_reg = with_byte(want_reg, i - b, byte_of(mem_word, i));
            break;
          case kSwl:
            for (unsigned i = 0; i <= b; ++i) want_mem = with_byte(want_mem, i, byte_of(reg, 3 - b + i));
            break;
          case kSwr:
            for (unsigned i = b; i < 4; ++i) want_mem = with_byte(want_mem, i, byte_of(reg, i - b));
            break;
        }
        EXPECT_EQ(cpu.gpr[2], want_reg) << "op " << op << " b " << b;
        EXPECT_EQ(memory.word(kData), want_mem) << "op " << op << " b " << b;
      }
    }
  }
}

// Random instruction words on random registers, for survival and for the exception contract:
// no crash, $zero stays 0, and a step that raises leaves every register, HI/LO, the pc pair and
// memory as they were.
TEST(Interpreter, RandomWordsKeepTheExceptionContract) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937 rng(seed);
  Vcpu cpu;
  FlatMemory memory;
  Interpreter interpreter;
  for (int iteration = 0; iteration < 50000; ++iteration) {
    const uint32_t word = rng();
    memory.set_word(kCodeBase, word);
    interpreter.invalidate_page(kCodeBase);
    for (unsigned i = 1; i < 32; ++i) {
      // Half the registers point into RAM so that loads and stores get past the bus.
      cpu.gpr[i] = (rng() & 1) ? kData + (rng() & 0xfff) : rng();
    }
    cpu.hi = rng();
    cpu.lo = rng();
    cpu.jump_to(kCodeBase);
    const Vcpu before = cpu;
    const unsigned stores_before = memory.stores;
    const StepResult r = interpreter.step(cpu, memory);
    ASSERT_EQ(cpu.gpr[0], 0u) << std::hex << word;
    if (r.exc == Exception::None) continue;
    ASSERT_EQ(cpu.gpr, before.gpr) << name(r.exc) << " " << std::hex << word;
    ASSERT_EQ(cpu.hi, before.hi) << std::hex << word;
    ASSERT_EQ(cpu.lo, before.lo) << std::hex << word;
    ASSERT_EQ(cpu.pc, before.pc) << std::hex << word;
    ASSERT_EQ(cpu.next_pc, before.next_pc) << std::hex << word;
    ASSERT_EQ(memory.stores, stores_before) << std::hex << word;
  }
}

// SYNCI and CACHE Hit_Invalidate_I, the guest's own icache maintenance, drop the predecode of
// the page they name: a word patched behind the interpreter's back is seen after them.
TEST(Interpreter, SynciAndCacheHitInvalidateDropPredecode) {
  for (const uint32_t maintenance : {encode_i(0b000001, 1, 0b11111, 0),     // synci 0($1)
                                     encode_i(0b101111, 1, 0b10000, 0)}) {  // cache 0x10, 0($1)
    Vcpu cpu;
    test::map_kuseg_identity(cpu);
    FlatMemory memory;
    Interpreter interpreter;
    const uint32_t kTarget = kCodeBase + 0x2000;  // another page
    memory.set_word(kTarget, 0x0000000d);         // break
    memory.set_word(kCodeBase, maintenance);
    cpu.gpr[1] = kTarget;
    cpu.jump_to(kTarget);
    ASSERT_EQ(interpreter.step(cpu, memory).exc, Exception::Break);
    memory.set_word(kTarget, 0x0000000c);  // syscall, unseen while predecoded
    cpu.jump_to(kTarget);
    ASSERT_EQ(interpreter.step(cpu, memory).exc, Exception::Break);
    cpu.jump_to(kCodeBase);
    ASSERT_EQ(interpreter.step(cpu, memory).exc, Exception::None);
    cpu.jump_to(kTarget);
    EXPECT_EQ(interpreter.step(cpu, memory).exc, Exception::Syscall) << std::hex << maintenance;
  }
}

}  // namespace
}  // namespace disco::mips
