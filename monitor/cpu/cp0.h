// Coprocessor 0 of the emulated MIPS32r2 CPU (a 24Kf): the privileged registers Linux uses,
// as typed bit-field views with each register's write mask beside it (STYLE habit 4). A write
// merges under the mask; read-only fields keep their value; registers with side effects
// (Compare clears the timer interrupt, Wired resets Random, Count and Random follow the
// virtual clock) are handled here, so the interpreter only moves values.
//
// Sources: MIPS32 Architecture for Programmers Vol. III, The MIPS32 Privileged Resource
// Architecture (MD00090), chapter 9; MIPS32 24K Processor Core Family Software User's Manual
// (MD00343), chapter "CP0 registers". Where the manuals leave room, the choice is QEMU's 24Kf
// (target/mips/cpu-defs.c.inc), so the same kernel sees the same CPU under both.
//
// Time is lazy: Count and Random are computed from the vcpu's cycle count when read, and the
// timer's next deadline is a cycle number the vcpu's run loop compares against.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "monitor/cpu/decoder.h"

namespace disco::mips {

// A CP0 register is named by (register number, select).
struct Cp0Id {
  uint8_t reg;
  uint8_t sel;
  constexpr bool operator==(const Cp0Id&) const = default;
};
// The CP0 register MFC0/MTC0 `d` names: rd, and the select in the instruction's low bits.
inline Cp0Id cp0_register(const Decoded& d) { return {d.rd, static_cast<uint8_t>(d.funct & 7)}; }

namespace cp0 {
inline constexpr Cp0Id Index{0, 0}, Random{1, 0}, EntryLo0{2, 0}, EntryLo1{3, 0}, Context{4, 0}, UserLocal{4, 2},
    PageMask{5, 0}, Wired{6, 0}, HWREna{7, 0}, BadVAddr{8, 0}, Count{9, 0}, EntryHi{10, 0}, Compare{11, 0},
    Status{12, 0}, IntCtl{12, 1}, SRSCtl{12, 2}, SRSMap{12, 3}, Cause{13, 0}, EPC{14, 0}, PRId{15, 0},
    EBase{15, 1}, Config{16, 0}, Config1{16, 1}, Config2{16, 2}, Config3{16, 3}, LLAddr{17, 0},
    ErrorEPC{30, 0};
}  // namespace cp0

// One row per implemented register: its reset value and which bits software may write.
struct Cp0RegisterInfo {
  Cp0Id id;
  std::string_view name;
  uint32_t reset;
  uint32_t write_mask;
};

// RDHWR's hardware register 29: UserLocal (HWREna bit 29 lets user mode read it).
inline constexpr uint32_t kUserLocalHwr = 29;

// The shape of the CPU that the constant registers describe.
struct Cp0Config {
  uint32_t tlb_entries = 16;  // JTLB size; Config1.MMUSize = entries - 1
  uint32_t cpu_number = 0;    // EBase.CPUNum
  bool fpu = true;            // Config1.FP (a 24Kf has one)
};

// Status bits the interpreter tests on its hot path.
struct StatusBits {
  static constexpr uint32_t IE = 1u << 0, EXL = 1u << 1, ERL = 1u << 2, KSU = 3u << 3, UM = 1u << 4,
                            IM = 0xffu << 8, BEV = 1u << 22, FR = 1u << 26, CU0 = 1u << 28, CU1 = 1u << 29;
};
// User mode: KSU = user with EXL and ERL clear (MD00090 section 3.3).
inline bool user_mode(uint32_t status) {
  return (status & (StatusBits::EXL | StatusBits::ERL)) == 0 && (status & StatusBits::KSU) == StatusBits::UM;
}
struct CauseBits {
  static constexpr uint32_t ExcCode = 0x1fu << 2, IP = 0xffu << 8, IP_SW = 3u << 8, IP_TIMER = 1u << 15,
                            IV = 1u << 23, DC = 1u << 27, CE = 3u << 28, TI = 1u << 30, BD = 1u << 31;
};

class Cp0 {
 public:
  explicit Cp0(const Cp0Config& c = {});

  // The register table this CP0 was built with (for tests and for `mfc0` of unknown ids).
  static std::span<const Cp0RegisterInfo> registers();

  // mfc0 / mtc0. `cycles` is the vcpu's virtual cycle count now. An unimplemented (reg, sel)
  // reads 0 and ignores writes, as the 24K does; both return false for it so the caller can
  // count a guest error.
  bool read(Cp0Id id, uint64_t cycles, uint32_t& out) const;
  bool write(Cp0Id id, uint32_t value, uint64_t cycles);

  // Raw state for the interpreter's exception and TLB paths (no masks, no side effects): inline,
  // since the interpreter reads Status and Cause on every step. `id` must be implemented.
  uint32_t& raw(Cp0Id id) { return values_[kIndexByRegSel[id.reg * 8u + id.sel]]; }
  uint32_t raw(Cp0Id id) const { return values_[kIndexByRegSel[id.reg * 8u + id.sel]]; }

  // The CP0 moves with no effect but the value moved: compiled kernel code does them in line (a
  // load; a masked store), blocks go on after them, and a monitor lets the guest do them on its
  // special page. MFC0 of every implemented register but Count and Random, which follow the
  // clock; MTC0 of the registers only a later TLB write or exception return reads (the TLB
  // refill handler's EntryLo0/1, Index, PageMask, Context; EPC, ErrorEPC).
  static bool plain_read(Cp0Id id) { return index_of(id) >= 0 && !(id == cp0::Count || id == cp0::Random); }
  static bool plain_write(Cp0Id id) {
    return id == cp0::EntryLo0 || id == cp0::EntryLo1 || id == cp0::Index || id == cp0::PageMask ||
           id == cp0::Context || id == cp0::EPC || id == cp0::ErrorEPC;
  }
  // The bits of register `id` that a write sets (for in-line writes; `id` must be implemented).
  const uint32_t& write_mask(Cp0Id id) const { return masks_[kIndexByRegSel[id.reg * 8u + id.sel]]; }

  // Hardware inputs of Cause.IP7..2 (interrupt lines), merged with the software bits.
  void set_hw_interrupts(uint8_t ip7_2);
  // The cycle at which Count will next equal Compare (the timer's deadline), after `cycles`.
  // The vcpu's run loop runs to the earliest deadline and then calls raise_timer(); a write to
  // Count or Compare moves the deadline, so the loop asks again after one.
  uint64_t next_timer_cycle(uint64_t cycles) const;
  void raise_timer();

  uint32_t count(uint64_t cycles) const { return count_base_ + static_cast<uint32_t>((cycles - cycles_base_) / 2); }
  // count()'s terms, where compiled code reads them to do MFC0 Count in line.
  const uint32_t& count_base() const { return count_base_; }
  const uint64_t& cycles_base() const { return cycles_base_; }

 private:
  static int index_of(Cp0Id id);
  // (reg, sel) -> row of the register table, or -1: every CP0 access is one load.
  static const std::array<int8_t, 32 * 8> kIndexByRegSel;
  uint32_t random(uint64_t cycles) const;

  Cp0Config config_;
  std::array<uint32_t, 32> values_{};  // indexed like registers()
  std::array<uint32_t, 32> masks_{};   // the table's write masks, sized to this CPU's TLB
  uint32_t count_base_ = 0;   // Count when cycles == cycles_base_; Count ticks every other cycle (24K)
  uint64_t cycles_base_ = 0;
  uint64_t random_base_ = 0;  // cycle at which Random was last reset (Wired write)
  bool timer_pending_ = false;
};

// MFC0/MTC0 of a Cp0::plain_read/plain_write register, DI and EI: CP0 moves whose only effect is
// the register (Status.IE for DI/EI), which kernel blocks do in line and a monitor lets the guest
// do on its special page.
inline bool plain_cp0_move(const Decoded& d) {
  return (d.op == Op::MFC0 && Cp0::plain_read(cp0_register(d))) ||
         (d.op == Op::MTC0 && Cp0::plain_write(cp0_register(d))) || d.op == Op::DI || d.op == Op::EI;
}

}  // namespace disco::mips
