// Test support for the CPU tests: flat RAM with the kseg0/kseg1 mapping (KsegMemory), a vcpu on
// it that runs single words placed in memory (KsegCpu), and instruction encoders (MD00086).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "monitor/cpu/cp0.h"
#include "monitor/cpu/guest_memory.h"
#include "monitor/cpu/interpreter.h"
#include "tests/monitor/kuseg_identity.h"

namespace disco::mips::test {

constexpr uint32_t kCodeBase = DISCO_INTERP_BASE;
constexpr uint32_t kData = 0x00100000;
constexpr uint32_t kMemorySize = 8u << 20;

// Flat RAM at physical 0..8 MiB; kseg0/kseg1 (0x80000000..0xbfffffff) map onto it by dropping
// the top three bits, as the unmapped segments do. Everything else is a bus error.
class KsegMemory final : public GuestMemory {
 public:
  KsegMemory() : bytes_(kMemorySize) {}
  bool load(uint32_t addr, unsigned size, uint32_t& out) override {
    if (!map(addr, size)) return false;
    out = 0;
    std::memcpy(&out, &bytes_[addr], size);
    return true;
  }
  bool store(uint32_t addr, unsigned size, uint32_t value) override {
    if (!map(addr, size)) return false;
    std::memcpy(&bytes_[addr], &value, size);
    return true;
  }
  bool load_linked(uint32_t addr, uint32_t& out) override {
    if (!load(addr, 4, out)) return false;
    linked_ = true;
    return true;
  }
  bool store_conditional(uint32_t addr, uint32_t value, bool& stored) override {
    stored = linked_;
    linked_ = false;
    return !stored || store(addr, 4, value);
  }
  bool fetch(uint32_t addr, uint32_t& word) override { return load(addr, 4, word); }

  void set_word(uint32_t addr, uint32_t w) {
    ASSERT_TRUE(map(addr, 4));
    std::memcpy(&bytes_[addr], &w, 4);
  }
  uint8_t* data() { return bytes_.data(); }  // physical address 0
  void load_program(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    const std::vector<char> code{std::istreambuf_iterator<char>(in), {}};
    ASSERT_FALSE(code.empty()) << "missing " << path;
    std::memcpy(&bytes_[kCodeBase], code.data(), code.size());
  }

 private:
  bool map(uint32_t& addr, unsigned size) const {
    if (addr >= 0x80000000u && addr < 0xc0000000u) addr &= 0x1fffffffu;
    return addr < kMemorySize && kMemorySize - addr >= size;
  }
  std::vector<uint8_t> bytes_;
  bool linked_ = false;
};

// Encodings (MD00086), each checked against the decoder when placed.
inline uint32_t r_type(uint32_t rs, uint32_t rt, uint32_t rd, uint32_t funct) { return rs << 21 | rt << 16 | rd << 11 | funct; }
inline uint32_t i_type(uint32_t op, uint32_t rs, uint32_t rt, uint32_t imm) { return op << 26 | rs << 21 | rt << 16 | (imm & 0xffff); }
inline uint32_t mfc0(uint32_t rt, Cp0Id id) { return 0x40000000u | rt << 16 | uint32_t{id.reg} << 11 | id.sel; }
inline uint32_t mtc0(uint32_t rt, Cp0Id id) { return 0x40800000u | rt << 16 | uint32_t{id.reg} << 11 | id.sel; }
constexpr uint32_t kEret = 0x42000018, kWait = 0x42000020, kSyscall = 0xc, kBreak = 0xd, kNop = 0;
inline uint32_t di(uint32_t rt) { return 0x41606000u | rt << 16; }
inline uint32_t ei(uint32_t rt) { return 0x41606020u | rt << 16; }
inline uint32_t rdpgpr(uint32_t rd, uint32_t rt) { return 0x41400000u | rt << 16 | rd << 11; }
inline uint32_t wrpgpr(uint32_t rd, uint32_t rt) { return 0x41c00000u | rt << 16 | rd << 11; }
inline uint32_t rdhwr(uint32_t rt, uint32_t rd) { return 0x7c00003bu | rt << 16 | rd << 11; }
inline uint32_t lw(uint32_t rt, uint32_t base, int16_t off) { return i_type(0b100011, base, rt, static_cast<uint16_t>(off)); }
inline uint32_t sw(uint32_t rt, uint32_t base, int16_t off) { return i_type(0b101011, base, rt, static_cast<uint16_t>(off)); }
inline uint32_t ll(uint32_t rt, uint32_t base) { return i_type(0b110000, base, rt, 0); }
inline uint32_t sc(uint32_t rt, uint32_t base) { return i_type(0b111000, base, rt, 0); }
inline uint32_t lwc1(uint32_t ft, uint32_t base) { return i_type(0b110001, base, ft, 0); }
inline uint32_t cache(uint32_t op, uint32_t base) { return i_type(0b101111, base, op, 0); }
inline uint32_t beq(uint32_t rs, uint32_t rt, int16_t off) { return i_type(0b000100, rs, rt, static_cast<uint16_t>(off)); }
inline uint32_t add(uint32_t rd, uint32_t rs, uint32_t rt) { return r_type(rs, rt, rd, 0x20); }
inline uint32_t teq(uint32_t rs, uint32_t rt) { return r_type(rs, rt, 0, 0x34); }
constexpr uint32_t kReservedWord = 0xec000000;
constexpr uint32_t kDeret = 0x4200001f;
constexpr uint32_t kTlbwi = 0x42000002, kTlbwr = 0x42000006, kTlbp = 0x42000008, kTlbr = 0x42000001;


// A vcpu on KsegMemory that starts in `status`, kuseg identity-mapped through the TLB or not.
// code() places words and points the pc at them; their predecode is dropped by physical page.
struct KsegCpu {
  Vcpu v;
  KsegMemory memory;
  Interpreter interpreter;

  KsegCpu(uint32_t status, bool map_kuseg, uint32_t code_at) : code_at_(code_at) {
    if (map_kuseg) map_kuseg_identity(v);
    v.cp0.raw(cp0::Status) = status;
  }
  void code(const std::vector<uint32_t>& words) { code(words, code_at_); }
  void code(const std::vector<uint32_t>& words, uint32_t at) {
    uint32_t a = at;
    for (uint32_t w : words) {
      memory.set_word(a, w);
      interpreter.invalidate_page(a & 0x1fffffffu);  // the physical page, for kseg0/1 as for kuseg
      a += 4;
    }
    v.jump_to(at);
  }
  StepResult step() { return interpreter.step(v, memory); }
  StepResult run() { return interpreter.step_and_deliver(v, memory); }
  uint32_t reg(Cp0Id id) const { return v.cp0.raw(id); }
  uint32_t exc_code() const { return (reg(cp0::Cause) & CauseBits::ExcCode) >> 2; }
  bool bd() const { return reg(cp0::Cause) & CauseBits::BD; }
  bool exl() const { return reg(cp0::Status) & StatusBits::EXL; }

 private:
  uint32_t code_at_;
};

}  // namespace disco::mips::test
