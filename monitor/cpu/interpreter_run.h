// The interpreter's template bodies: one instruction (execute) and the block loop (run). They are
// templates on the memory class so that a run loop whose memory is a final class (BareMachine)
// instantiates them with direct, inlinable memory calls instead of GuestMemory's virtual ones;
// interpreter.cpp instantiates them for GuestMemory. Include this only where an instantiation is
// made.
#pragma once

#include <algorithm>
#include <bit>
#include <limits>

#include "monitor/cpu/interpreter.h"

namespace disco::mips {
namespace interpreter_detail {

inline constexpr uint32_t kSynciStep = 32;  // the 24K's cache line size, as RDHWR $1 reports it
inline constexpr uint32_t kCountResolution = 2;  // Count ticks every other cycle

using mips::user_mode;
// CP0 instructions and CACHE: kernel mode, or Status.CU0.
inline bool cp0_usable(uint32_t status) { return !user_mode(status) || (status & StatusBits::CU0); }

inline constexpr uint32_t kBevBase = 0xbfc00200;
inline constexpr uint32_t kGeneralOffset = 0x180;
inline constexpr uint32_t kInterruptOffset = 0x200;  // Cause.IV = 1
inline constexpr uint32_t kRefillOffset = 0x000;     // TLB refill with EXL clear

inline constexpr uint32_t kKseg0 = 0x80000000u, kKseg2 = 0xc0000000u;
inline constexpr uint32_t kUnmappedMask = 0x1fffffffu;  // kseg0/kseg1 -> physical
inline constexpr uint32_t kContextPteBase = 0xff800000u;

inline bool tlb_exception(Exception e) {
  return e == Exception::TlbModified || e == Exception::TlbLoad || e == Exception::TlbStore;
}

inline StepResult raise(Exception e, bool in_delay_slot, uint32_t bad_vaddr = 0) {
  return {.exc = e, .bad_vaddr = bad_vaddr, .in_delay_slot = in_delay_slot};
}

inline uint32_t sign_extend_byte(uint32_t v) { return static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(v))); }
inline uint32_t sign_extend_half(uint32_t v) { return static_cast<uint32_t>(static_cast<int32_t>(static_cast<int16_t>(v))); }

// Conditional traps: the condition of TGE..TNE (rt operand) and TGEI..TNEI (immediate operand).
inline bool trap_condition(Op op, uint32_t a, uint32_t b) {
  const auto sa = static_cast<int32_t>(a), sb = static_cast<int32_t>(b);
  switch (op) {
    case Op::TGE: case Op::TGEI: return sa >= sb;
    case Op::TGEU: case Op::TGEIU: return a >= b;  // TGEIU/TLTIU: sign-extended imm, unsigned compare
    case Op::TLT: case Op::TLTI: return sa < sb;
    case Op::TLTU: case Op::TLTIU: return a < b;
    case Op::TEQ: case Op::TEQI: return a == b;
    case Op::TNE: case Op::TNEI: return a != b;
    default: return false;
  }
}

}  // namespace interpreter_detail

inline bool Interpreter::translate(Vcpu& v, uint32_t vaddr, bool store, uint32_t& paddr, StepResult& fault) {
  using namespace interpreter_detail;
  if (vaddr >= kKseg0) {
    if (user_mode(status(v))) {
      fault.exc = store ? Exception::AddressErrorStore : Exception::AddressErrorLoad;
      fault.bad_vaddr = vaddr;
      return false;
    }
    if (vaddr < kKseg2) {
      paddr = vaddr & kUnmappedMask;
      return true;
    }
  } else if (status(v) & StatusBits::ERL) {
    paddr = vaddr;  // kuseg is unmapped while ERL is set (boot code before the TLB is set up)
    return true;
  }
  if (soft_tlb_generation_ == v.tlb.generation()) [[likely]] {
    const uint32_t key = soft_key(vaddr, v.cp0.raw(cp0::EntryHi) & kAsidMask);
    const SoftTlbEntry& soft = (store ? soft_store_ : soft_load_)[(vaddr >> kPageShift) % kSoftTlbEntries];
    if (soft.key == key) [[likely]] {
      paddr = vaddr + soft.offset;
      return true;
    }
  }
  return translate_mapped(v, vaddr, store, paddr, fault);
}

inline void Interpreter::user_mode_may_have_begun(const Vcpu& v) {
  const bool user = interpreter_detail::user_mode(status(v));
  if (user && !in_user_) user_since_ = v.cycles;
  if (!user) kernel_mode_begins(v);
  in_user_ = user;
}

inline bool Interpreter::fetch_address(Vcpu& v, uint32_t& pa, StepResult& fault) {
  if (v.pc & 3) {
    fault = interpreter_detail::raise(Exception::AddressErrorLoad, v.in_delay_slot, v.pc);
    return false;
  }
  return translate(v, v.pc, false, pa, fault);
}

inline Interpreter::PredecodedPage* Interpreter::fetch_page(Vcpu& v, uint32_t& pa, StepResult& fault) {
  return fetch_address(v, pa, fault) ? page_of(pa) : nullptr;
}

inline Interpreter::PredecodedPage* Interpreter::page_of(uint32_t pa) {
  const uint32_t number = pa >> kPageShift;
  if (last_page_ == nullptr || last_page_number_ != number) {
    last_page_ = page_at(number);
    last_page_number_ = number;
  }
  return last_page_;
}

inline const Decoded* Interpreter::decoded(PredecodedPage& page, uint32_t pa, GuestMemory& mem) {
  const uint32_t index = (pa >> 2) & (kWordsPerPage - 1);
  if (!page.valid[index]) [[unlikely]] {
    uint32_t word;
    if (!mem.fetch(pa, word)) return nullptr;
    page.insts[index] = decode(word);
    page.valid[index] = true;
  }
  return &page.insts[index];
}

inline void Interpreter::commit(Vcpu& v, const Flow& flow) {
  v.gpr[0] = 0;  // cheaper than testing rd/rt == 0 on every write (DuckStation's habit)
  v.pc = flow.pc_after;
  v.next_pc = flow.next_after;
  v.in_delay_slot = flow.jumped;
  ++v.cycles;
}

[[gnu::always_inline]] inline bool Interpreter::data_address(Vcpu& v, unsigned size, uint32_t vaddr, bool store,
                                                             uint32_t& pa, StepResult& fault) {
  if (vaddr & (size - 1)) {
    fault = interpreter_detail::raise(store ? Exception::AddressErrorStore : Exception::AddressErrorLoad,
                                      fault.in_delay_slot, vaddr);
    return false;
  }
  return translate(v, vaddr, store, pa, fault);
}

template <class Memory>
[[gnu::always_inline]] inline bool Interpreter::load_data(Vcpu& v, Memory& mem, Op op, uint32_t vaddr, uint32_t& value,
                                                          StepResult& fault) {
  using namespace interpreter_detail;
  const unsigned size = access_bytes(op);
  uint32_t pa;
  if (!data_address(v, size, vaddr, false, pa, fault)) return false;
  if (!mem.load(pa, size, value)) {
    fault = raise(Exception::BusErrorData, fault.in_delay_slot, vaddr);
    return false;
  }
  if (op == Op::LB) value = sign_extend_byte(value);
  if (op == Op::LH) value = sign_extend_half(value);
  return true;
}

template <class Memory>
[[gnu::always_inline]] inline bool Interpreter::store_data(Vcpu& v, Memory& mem, Op op, uint32_t vaddr, uint32_t value,
                                                           StepResult& fault) {
  using namespace interpreter_detail;
  const unsigned size = access_bytes(op);
  uint32_t pa;
  if (!data_address(v, size, vaddr, true, pa, fault)) return false;
  if (!mem.store(pa, size, value)) {
    fault = raise(Exception::BusErrorData, fault.in_delay_slot, vaddr);
    return false;
  }
  snoop_store(pa);
  return true;
}

template <class Memory>
[[gnu::always_inline]] inline StepResult Interpreter::execute(Vcpu& v, Memory& mem, const Decoded d, Flow& flow) {
  using namespace interpreter_detail;
  const uint32_t pc = v.pc;
  const bool in_ds = v.in_delay_slot;
  StepResult fault{.in_delay_slot = in_ds};  // filled by translate() when an access cannot proceed
  uint32_t pa;  // the physical address of the access being made
  const auto to_physical = [&](uint32_t va, bool store) { return translate(v, va, store, pa, fault); };

  auto& r = v.gpr;
  const uint32_t rs = r[d.rs], rt = r[d.rt];
  // Where control goes after this instruction, unless a branch changes it.
  uint32_t pc_after = v.next_pc;
  uint32_t next_after = v.next_pc + 4;
  bool branch_taken_or_jump = false;  // the next instruction is a delay slot
  bool waiting = false, timer_moved = false;

  // A branch: the delay slot (pc_after) runs, then `target` if taken. Likely forms skip the
  // delay slot when not taken.
  const auto branch = [&](bool taken) {
    if (taken) {
      next_after = pc + 4 + (static_cast<uint32_t>(d.simm) << 2);
      branch_taken_or_jump = true;
    } else if (d.flags & kLikely) {
      pc_after = v.next_pc + 4;
      next_after = pc_after + 4;
    }
  };
  const auto link = [&](unsigned reg) { r[reg] = pc + 8; };
  const uint32_t addr = rs + static_cast<uint32_t>(d.simm);  // loads, stores, CACHE, PREF

  switch (d.op) {
    // ---- ALU, register and immediate
    case Op::ADD: {
      int32_t out;
      if (__builtin_add_overflow(static_cast<int32_t>(rs), static_cast<int32_t>(rt), &out))
        return raise(Exception::Overflow, in_ds);
      r[d.rd] = static_cast<uint32_t>(out);
      break;
    }
    case Op::ADDU: r[d.rd] = rs + rt; break;
    case Op::SUB: {
      int32_t out;
      if (__builtin_sub_overflow(static_cast<int32_t>(rs), static_cast<int32_t>(rt), &out))
        return raise(Exception::Overflow, in_ds);
      r[d.rd] = static_cast<uint32_t>(out);
      break;
    }
    case Op::SUBU: r[d.rd] = rs - rt; break;
    case Op::ADDI: {
      int32_t out;
      if (__builtin_add_overflow(static_cast<int32_t>(rs), d.simm, &out)) return raise(Exception::Overflow, in_ds);
      r[d.rt] = static_cast<uint32_t>(out);
      break;
    }
    case Op::ADDIU: r[d.rt] = rs + static_cast<uint32_t>(d.simm); break;
    case Op::SLT: r[d.rd] = static_cast<int32_t>(rs) < static_cast<int32_t>(rt); break;
    case Op::SLTU: r[d.rd] = rs < rt; break;
    case Op::SLTI: r[d.rt] = static_cast<int32_t>(rs) < d.simm; break;
    case Op::SLTIU: r[d.rt] = rs < static_cast<uint32_t>(d.simm); break;
    case Op::AND: r[d.rd] = rs & rt; break;
    case Op::OR: r[d.rd] = rs | rt; break;
    case Op::XOR: r[d.rd] = rs ^ rt; break;
    case Op::NOR: r[d.rd] = ~(rs | rt); break;
    case Op::ANDI: r[d.rt] = rs & d.imm; break;
    case Op::ORI: r[d.rt] = rs | d.imm; break;
    case Op::XORI: r[d.rt] = rs ^ d.imm; break;
    case Op::LUI: r[d.rt] = uint32_t{d.imm} << 16; break;
    case Op::MOVZ: if (rt == 0) r[d.rd] = rs; break;
    case Op::MOVN: if (rt != 0) r[d.rd] = rs; break;

    // ---- shifts and rotates
    case Op::SLL: r[d.rd] = rt << d.sa; break;
    case Op::SRL: r[d.rd] = rt >> d.sa; break;
    case Op::SRA: r[d.rd] = static_cast<uint32_t>(static_cast<int32_t>(rt) >> d.sa); break;
    case Op::ROTR: r[d.rd] = std::rotr(rt, d.sa); break;
    case Op::SLLV: r[d.rd] = rt << (rs & 31); break;
    case Op::SRLV: r[d.rd] = rt >> (rs & 31); break;
    case Op::SRAV: r[d.rd] = static_cast<uint32_t>(static_cast<int32_t>(rt) >> (rs & 31)); break;
    case Op::ROTRV: r[d.rd] = std::rotr(rt, static_cast<int>(rs & 31)); break;

    // ---- multiply and divide
    case Op::MULT: {
      const auto p = static_cast<uint64_t>(int64_t{static_cast<int32_t>(rs)} * static_cast<int32_t>(rt));
      v.lo = static_cast<uint32_t>(p);
      v.hi = static_cast<uint32_t>(p >> 32);
      break;
    }
    case Op::MULTU: {
      const uint64_t p = uint64_t{rs} * rt;
      v.lo = static_cast<uint32_t>(p);
      v.hi = static_cast<uint32_t>(p >> 32);
      break;
    }
    case Op::DIV: {
      const auto n = static_cast<int32_t>(rs), q = static_cast<int32_t>(rt);
      if (q == 0) break;  // HI/LO UNPREDICTABLE, no exception: left unchanged
      if (n == std::numeric_limits<int32_t>::min() && q == -1) {  // overflows in C++; MIPS gives these
        v.lo = rs;
        v.hi = 0;
        break;
      }
      v.lo = static_cast<uint32_t>(n / q);
      v.hi = static_cast<uint32_t>(n % q);
      break;
    }
    case Op::DIVU:
      if (rt == 0) break;  // as DIV
      v.lo = rs / rt;
      v.hi = rs % rt;
      break;
    case Op::MFHI: r[d.rd] = v.hi; break;
    case Op::MFLO: r[d.rd] = v.lo; break;
    case Op::MTHI: v.hi = rs; break;
    case Op::MTLO: v.lo = rs; break;
    case Op::MUL:  // HI/LO UNPREDICTABLE afterwards on Release 2: left unchanged
      r[d.rd] = static_cast<uint32_t>(static_cast<int32_t>(rs) * int64_t{static_cast<int32_t>(rt)});
      break;
    case Op::MADD: case Op::MSUB: case Op::MADDU: case Op::MSUBU: {
      const uint64_t acc = uint64_t{v.hi} << 32 | v.lo;
      const bool is_signed = d.op == Op::MADD || d.op == Op::MSUB;
      const uint64_t p = is_signed
          ? static_cast<uint64_t>(int64_t{static_cast<int32_t>(rs)} * static_cast<int32_t>(rt))
          : uint64_t{rs} * rt;
      const uint64_t out = (d.op == Op::MADD || d.op == Op::MADDU) ? acc + p : acc - p;
      v.lo = static_cast<uint32_t>(out);
      v.hi = static_cast<uint32_t>(out >> 32);
      break;
    }

    // ---- bit manipulation
    case Op::CLZ: r[d.rd] = static_cast<uint32_t>(std::countl_zero(rs)); break;
    case Op::CLO: r[d.rd] = static_cast<uint32_t>(std::countl_one(rs)); break;
    case Op::SEB: r[d.rd] = sign_extend_byte(rt); break;
    case Op::SEH: r[d.rd] = sign_extend_half(rt); break;
    case Op::WSBH: r[d.rd] = (rt & 0x00ff00ffu) << 8 | (rt & 0xff00ff00u) >> 8; break;
    case Op::EXT: {  // rd = msbd, sa = lsb; lsb + msbd > 31 is UNPREDICTABLE: bits past 31 read 0
      const unsigned size = d.rd + 1u;
      const uint32_t mask = size >= 32 ? ~0u : (1u << size) - 1;
      r[d.rt] = (rs >> d.sa) & mask;
      break;
    }
    case Op::INS: {  // rd = msb, sa = lsb; msb < lsb is UNPREDICTABLE: rt left unchanged
      if (d.rd < d.sa) break;
      const unsigned size = d.rd - d.sa + 1u;
      const uint32_t field = (size >= 32 ? ~0u : (1u << size) - 1) << d.sa;
      r[d.rt] = (rt & ~field) | ((rs << d.sa) & field);
      break;
    }

    // ---- branches and jumps
    case Op::BEQ: case Op::BEQL: branch(rs == rt); break;
    case Op::BNE: case Op::BNEL: branch(rs != rt); break;
    case Op::BLEZ: case Op::BLEZL: branch(static_cast<int32_t>(rs) <= 0); break;
    case Op::BGTZ: case Op::BGTZL: branch(static_cast<int32_t>(rs) > 0); break;
    case Op::BLTZ: case Op::BLTZL: branch(static_cast<int32_t>(rs) < 0); break;
    case Op::BGEZ: case Op::BGEZL: branch(static_cast<int32_t>(rs) >= 0); break;
    case Op::BLTZAL: case Op::BLTZALL:  // links whether or not taken; rs read before the link
      branch(static_cast<int32_t>(rs) < 0);
      link(31);
      break;
    case Op::BGEZAL: case Op::BGEZALL:
      branch(static_cast<int32_t>(rs) >= 0);
      link(31);
      break;
    case Op::J: case Op::JAL:
      next_after = ((pc + 4) & 0xf0000000u) | d.target() << 2;
      branch_taken_or_jump = true;
      if (d.op == Op::JAL) link(31);
      break;
    case Op::JR: case Op::JALR:  // the target is rs as read before the link (jalr rd == rs)
      next_after = rs;           // a misaligned target faults on fetch (AdEL with BadVAddr = target)
      branch_taken_or_jump = true;
      if (d.op == Op::JALR) link(d.rd);
      break;

    // ---- loads and stores
    case Op::LB: case Op::LBU: case Op::LH: case Op::LHU: case Op::LW: {
      uint32_t value;
      if (!load_data(v, mem, d.op, addr, value, fault)) return fault;
      r[d.rt] = value;
      break;
    }
    case Op::SB: case Op::SH: case Op::SW:
      if (!store_data(v, mem, d.op, addr, rt, fault)) return fault;
      break;
    // Unaligned word access, little-endian (MD00086 LWL/LWR/SWL/SWR, BigEndianCPU = 0). With
    // b = addr & 3 and W the aligned word: LWL fills rt's top b+1 bytes from W's low b+1 bytes;
    // LWR fills rt's low 4-b bytes from W's top 4-b bytes; SWL and SWR are the mirror images.
    // Stores are a read-modify-write of the aligned word (one vcpu per word is all a guest's
    // unaligned-store code can rely on anyway).
    case Op::LWL: case Op::LWR: {
      if (!to_physical(addr, false)) return fault;
      uint32_t w;
      if (!mem.load(pa & ~3u, 4, w)) return raise(Exception::BusErrorData, in_ds, addr);
      const unsigned b = addr & 3;
      if (d.op == Op::LWL) {
        const unsigned shift = (3 - b) * 8;
        const uint32_t keep = shift == 0 ? 0 : (~0u >> (32 - shift));
        r[d.rt] = (rt & keep) | (w << shift);
      } else {
        const unsigned shift = b * 8;
        const uint32_t keep = shift == 0 ? 0 : ~(~0u >> shift);
        r[d.rt] = (rt & keep) | (w >> shift);
      }
      break;
    }
    case Op::SWL: case Op::SWR: {
      if (!to_physical(addr, true)) return fault;
      uint32_t w;
      if (!mem.load(pa & ~3u, 4, w)) return raise(Exception::BusErrorData, in_ds, addr);
      const unsigned b = addr & 3;
      if (d.op == Op::SWL) {
        const unsigned shift = (3 - b) * 8;  // memory bytes 0..b <- rt's top b+1 bytes
        const uint32_t written = ~0u >> shift;
        w = (w & ~written) | (rt >> shift);
      } else {
        const unsigned shift = b * 8;  // memory bytes b..3 <- rt's low 4-b bytes
        const uint32_t written = ~0u << shift;
        w = (w & ~written) | (rt << shift);
      }
      if (!mem.store(pa & ~3u, 4, w)) return raise(Exception::BusErrorData, in_ds, addr);
      snoop_store(pa);
      break;
    }
    case Op::LL: {
      if (addr & 3) return raise(Exception::AddressErrorLoad, in_ds, addr);
      if (!to_physical(addr, false)) return fault;
      uint32_t value;
      if (!mem.load_linked(pa, value)) return raise(Exception::BusErrorData, in_ds, addr);
      v.cp0.raw(cp0::LLAddr) = pa >> 4;  // PAddr[31:4], as the 24K reports it
      v.ll_bit = true;
      r[d.rt] = value;
      break;
    }
    case Op::SC: {
      if (addr & 3) return raise(Exception::AddressErrorStore, in_ds, addr);
      if (!to_physical(addr, true)) return fault;
      bool stored = false;  // LLbit clear (ERET since the LL): fails without touching memory
      if (v.ll_bit && !mem.store_conditional(pa, rt, stored))
        return raise(Exception::BusErrorData, in_ds, addr);
      v.ll_bit = false;
      if (stored) snoop_store(pa);
      r[d.rt] = stored;
      break;
    }

    // ---- traps and system calls
    case Op::TGE: case Op::TGEU: case Op::TLT: case Op::TLTU: case Op::TEQ: case Op::TNE:
      if (trap_condition(d.op, rs, rt)) return raise(Exception::Trap, in_ds);
      break;
    case Op::TGEI: case Op::TGEIU: case Op::TLTI: case Op::TLTIU: case Op::TEQI: case Op::TNEI:
      if (trap_condition(d.op, rs, static_cast<uint32_t>(d.simm))) return raise(Exception::Trap, in_ds);
      break;
    case Op::SYSCALL: return raise(Exception::Syscall, in_ds);
    case Op::BREAK: return raise(Exception::Break, in_ds);

    // ---- no-ops for an interpreter with no caches and in-order memory
    case Op::SYNC: case Op::PREF: break;
    case Op::CACHE: {  // only the I-cache line invalidate matters to us
      if (!cp0_usable(status(v))) return raise(Exception::CoprocessorUnusable, in_ds);  // unit 0
      const PrivilegedOp op = trap_ != nullptr ? trapped(Op::CACHE, pc, in_ds) : PrivilegedOp{};
      if (d.rt == kHitInvalidateI && translate(v, addr, false, pa, fault)) invalidate_page(pa);
      if (trap_ != nullptr) [[unlikely]] trap_->privileged(v, op);
      break;
    }
    case Op::SYNCI:  // a user address error is still raised; an untranslated address is ignored
      if (translate(v, addr, false, pa, fault))
        invalidate_page(pa);
      else if (fault.exc == Exception::AddressErrorLoad)
        return fault;
      break;

    case Op::RDHWR: {
      if (d.rd < 32 && !(v.cp0.raw(cp0::HWREna) >> d.rd & 1) && user_mode(status(v)))
        return raise(Exception::ReservedInstruction, in_ds);
      uint32_t value;
      switch (d.rd) {
        case 0: value = v.cp0.raw(cp0::EBase) & 0x3ffu; break;
        case 1: value = kSynciStep; break;
        case 2: value = v.cp0.count(v.cycles); break;
        case 3: value = kCountResolution; break;
        case kUserLocalHwr: value = v.cp0.raw(cp0::UserLocal); break;
        default: return raise(Exception::ReservedInstruction, in_ds);
      }
      r[d.rt] = value;
      break;
    }

    // ---- CP0 (the CU0 check first: user mode without it raises CpU 0 for all of them). Under a
    // monitor (trap_) the effect is the same, on the virtual CP0 and TLB, and the monitor is told.
    case Op::MFC0: case Op::MTC0: case Op::RDPGPR: case Op::WRPGPR: case Op::DI: case Op::EI:
    case Op::ERET: case Op::WAIT: case Op::TLBR: case Op::TLBWI: case Op::TLBWR: case Op::TLBP: {
      if (!cp0_usable(status(v))) return raise(Exception::CoprocessorUnusable, in_ds);  // unit 0
      PrivilegedOp op{.op = d.op};
      if (trap_ != nullptr) [[unlikely]] {
        op = trapped(d.op, pc, in_ds);
        op.before = status(v);
      }
      switch (d.op) {
        case Op::MFC0: {
          uint32_t value;
          op.reg = cp0_register(d);
          if (!v.cp0.read(op.reg, v.cycles, value)) ++guest_errors_;
          r[d.rt] = value;
          break;
        }
        case Op::MTC0: {
          const Cp0Id id = cp0_register(d);
          op.reg = id;
          if (trap_ != nullptr) [[unlikely]] v.cp0.read(id, v.cycles, op.before);
          if (!v.cp0.write(id, rt, v.cycles)) ++guest_errors_;
          if (id == cp0::Count || id == cp0::Compare) timer_moved = true;
          if (id == cp0::Status) user_mode_may_have_begun(v);
          break;
        }
        case Op::RDPGPR: case Op::WRPGPR: r[d.rd] = rt; break;  // one register set: PSS = CSS
        case Op::DI: case Op::EI: {
          uint32_t& status = v.cp0.raw(cp0::Status);
          r[d.rt] = status;
          status = d.op == Op::EI ? status | StatusBits::IE : status & ~StatusBits::IE;
          break;
        }
        case Op::ERET: {  // no delay slot; in one it is UNPREDICTABLE: RI, as QEMU
          if (in_ds) return raise(Exception::ReservedInstruction, in_ds);
          uint32_t& status = v.cp0.raw(cp0::Status);
          uint32_t target;
          if (status & StatusBits::ERL) {
            target = v.cp0.raw(cp0::ErrorEPC);
            status &= ~StatusBits::ERL;
          } else {
            target = v.cp0.raw(cp0::EPC);
            status &= ~StatusBits::EXL;
          }
          v.ll_bit = false;
          pc_after = target;
          next_after = target + 4;
          user_mode_may_have_begun(v);
          break;
        }
        case Op::WAIT: waiting = true; break;
        case Op::TLBP:
          v.tlb.probe(v.cp0);
          if (v.cp0.raw(cp0::Index) & kIndexProbeFailed) {  // the page must not stay cached anywhere
            const uint32_t hi = v.cp0.raw(cp0::EntryHi);
            v.l2tlb.probe_missed(hi);
            forget_pages({.vpn2 = hi & kVpn2Mask});
          }
          break;
        case Op::TLBR: v.tlb.read(v.cp0); break;
        case Op::TLBWI: case Op::TLBWR: {
          uint32_t index = v.cp0.raw(cp0::Index);
          if (d.op == Op::TLBWR) v.cp0.read(cp0::Random, v.cycles, index);
          op.index = index % v.tlb.size();
          op.replaced = v.tlb.entry(op.index);
          // The write moves the TLB's generation; this vcpu's soft TLB stays in step with it by
          // forgetting only the pages of the entry that left and of the one that came.
          const bool in_step = soft_tlb_generation_ == v.tlb.generation();
          v.tlb.write(v.cp0, index);
          op.l2tlb_cleared = v.l2tlb.tlb_written(v.tlb, op.index, op.replaced, d.op == Op::TLBWR, v.cp0.raw(cp0::Wired));
          forget_pages(op.replaced);
          forget_pages(v.tlb.entry(op.index));
          if (op.l2tlb_cleared) ++l2tlb_clears_;
          else if (in_step) soft_tlb_generation_ = v.tlb.generation();
          break;
        }
        default: break;
      }
      if (trap_ != nullptr) [[unlikely]] trap_->privileged(v, op);
      break;
    }

    // ---- COP1 (fpu.h): the CU1 check, then memory and branches here, the rest in execute_fpu
    case Op::LWC1: case Op::LDC1: case Op::SWC1: case Op::SDC1: case Op::LWXC1: case Op::LDXC1: case Op::SWXC1:
    case Op::SDXC1: case Op::LUXC1: case Op::SUXC1: case Op::PREFX: case Op::BC1F: case Op::BC1T: case Op::BC1FL:
    case Op::BC1TL: {
      if (!(status(v) & StatusBits::CU1)) {
        StepResult result = raise(Exception::CoprocessorUnusable, in_ds);
        result.coprocessor = 1;
        return result;
      }
      if (d.flags & kFr1) return raise(Exception::ReservedInstruction, in_ds);  // LUXC1/SUXC1: 64-bit FPRs only
      Fpu& f = v.fpu;
      switch (d.op) {
        case Op::BC1F: case Op::BC1T: case Op::BC1FL: case Op::BC1TL:
          branch(fpu_condition(f, d.rt >> 2) == static_cast<bool>(d.rt & 1));
          break;
        case Op::PREFX: break;
        default: {
          // Indexed forms: base rs + index rt, the FPR in sa (loads) or rd (stores).
          const bool indexed = d.op == Op::LWXC1 || d.op == Op::LDXC1 || d.op == Op::SWXC1 || d.op == Op::SDXC1;
          const bool store = d.flags & kStore;
          const bool dbl = d.op == Op::LDC1 || d.op == Op::SDC1 || d.op == Op::LDXC1 || d.op == Op::SDXC1;
          const uint32_t ea = indexed ? rs + rt : addr;
          const unsigned reg = indexed ? (store ? d.rd : d.sa) : d.rt;
          if (ea & (dbl ? 7u : 3u))
            return raise(store ? Exception::AddressErrorStore : Exception::AddressErrorLoad, in_ds, ea);
          if (!to_physical(ea, store)) return fault;
          if (store) {
            if (dbl) {
              const uint64_t bits = f.read_double(reg);
              if (!mem.store(pa, 4, static_cast<uint32_t>(bits)) || !mem.store(pa + 4, 4, static_cast<uint32_t>(bits >> 32)))
                return raise(Exception::BusErrorData, in_ds, ea);
            } else if (!mem.store(pa, 4, f.fpr[reg])) {
              return raise(Exception::BusErrorData, in_ds, ea);
            }
            snoop_store(pa);
          } else {
            uint32_t lo, hi = 0;
            if (!mem.load(pa, 4, lo) || (dbl && !mem.load(pa + 4, 4, hi))) return raise(Exception::BusErrorData, in_ds, ea);
            if (dbl)
              f.write_double(reg, uint64_t{hi} << 32 | lo);
            else
              f.fpr[reg] = lo;
          }
        }
      }
      break;
    }

    default:
      if (d.flags & kFpu) {
        if (!(status(v) & StatusBits::CU1)) {
          StepResult result = raise(Exception::CoprocessorUnusable, in_ds);
          result.coprocessor = 1;
          return result;
        }
        switch (execute_fpu(v.fpu, r, d)) {
          case FpuOutcome::Done: break;
          case FpuOutcome::ReservedInstruction: return raise(Exception::ReservedInstruction, in_ds);
          case FpuOutcome::FloatingPointException: return raise(Exception::FloatingPoint, in_ds);
        }
        break;
      }
      if ((d.flags & kPrivileged) && !cp0_usable(status(v))) {
        return raise(Exception::CoprocessorUnusable, in_ds);  // unit 0
      }
      if (d.op == Op::HYPCALL && trap_ != nullptr) {  // the monitor call; bare mode has no VZ ASE
        waiting = trap_->hypercall(v, d);
        break;
      }
      return raise(Exception::ReservedInstruction, in_ds);  // SDBBP, DERET, HYPCALL (bare), Reserved
  }

  flow = {.pc_after = pc_after, .next_after = next_after, .jumped = branch_taken_or_jump};
  return {.in_delay_slot = in_ds, .waiting = waiting, .timer_moved = timer_moved};
}

inline void Interpreter::take(Vcpu& v, const StepResult& r, uint64_t& exceptions) {
  kernel_mode_begins(v);
  deliver(v, r);
  ++exceptions;
  ++exceptions_by_cause_[static_cast<unsigned>(r.exc)];
  ++v.cycles;  // an exception takes a cycle too, so a fault loop still moves time on
  if (trap_ != nullptr) [[unlikely]] trap_->reflected(v, r);
}

inline bool Interpreter::take_interrupt(Vcpu& v, uint64_t& exceptions) {
  if (!interrupt_pending(v)) return false;
  take(v, {.exc = Exception::Interrupt, .in_delay_slot = v.in_delay_slot}, exceptions);
  return true;
}

template <class Memory>
StepResult Interpreter::retire(Vcpu& v, Memory& mem, const Decoded d, uint64_t& instructions, uint64_t& exceptions) {
  Flow flow;
  const StepResult r = execute(v, mem, d, flow);
  if (r.exc != Exception::None) {
    take(v, r, exceptions);
  } else {
    commit(v, flow);
    ++instructions;
  }
  return r;
}

inline void Interpreter::settle(BlockContext& c) {
  const auto ran = static_cast<uint32_t>(c.pending);
  c.vcpu->cycles += ran;
  c.instructions += ran;
  // The hit counter is read by the node's progress reports while this pcpu bumps it: a relaxed
  // atomic add of its only writer, as node_stats.h's Counter does.
  if (c.pending >> 32) __atomic_store_n(c.hits, __atomic_load_n(c.hits, __ATOMIC_RELAXED) + (c.pending >> 32), __ATOMIC_RELAXED);
  c.pending = 0;
}

inline void Interpreter::set_budget(BlockContext& c) {
  const uint64_t cycles = c.vcpu->cycles;
  c.budget = cycles >= c.until ? 0 : static_cast<uint32_t>(std::min<uint64_t>(c.until - cycles, 1u << 31));
  c.limit = c.budget;
}

template <class Memory>
uint32_t Interpreter::compiled_fallback(BlockContext* c, const Decoded* d) {
  Interpreter& self = *static_cast<Interpreter*>(c->interpreter);
  const CompiledCall call(c);
  const uint64_t generation = self.page_generation_;
  ++self.fallbacks_by_op_[static_cast<unsigned>(d->op)];
  const StepResult r = self.retire(*c->vcpu, *static_cast<Memory*>(c->memory), *d, c->instructions, c->exceptions);
  if (r.exc != Exception::None) return 1;
  c->asid_key = asid_key(*c->vcpu);  // an ERET's block may go on into a kuseg one
  if (r.waiting) c->exit = static_cast<uint8_t>(RunExit::Waiting);
  if (r.timer_moved) c->exit = static_cast<uint8_t>(RunExit::TimerMoved);
  // An ERET's block goes on into the one it returned to, a kuseg block only with the soft TLB in
  // step with the TLB (block_compiler.h's SoftTlbView), as run() would have made it.
  const bool stale = d->op == Op::ERET && self.soft_tlb_generation_ != c->vcpu->tlb.generation();
  return c->exit != 0 || self.page_generation_ != generation || stale;  // or the block's own code was dropped
}

template <class Memory, Op kOp>
uint32_t Interpreter::compiled_load(BlockContext* c, uint32_t vaddr, uint32_t* out) {
  StepResult fault;
  uint32_t value;
  auto& self = *static_cast<Interpreter*>(c->interpreter);
  const CompiledCall call(c);
  if (!self.load_data(*c->vcpu, *static_cast<Memory*>(c->memory), kOp, vaddr, value, fault)) return 0;
  *out = value;
  return 1;
}

template <class Memory, Op kOp>
uint32_t Interpreter::compiled_store(BlockContext* c, uint32_t vaddr, uint32_t value, uint32_t after) {
  StepResult fault;
  auto& self = *static_cast<Interpreter*>(c->interpreter);
  const CompiledCall call(c);
  const uint64_t generation = self.page_generation_;
  if (!self.store_data(*c->vcpu, *static_cast<Memory*>(c->memory), kOp, vaddr, value, fault)) return 0;
  if (self.page_generation_ == generation) return 1;
  commit(*c->vcpu, {.pc_after = after, .next_after = after + 4});  // code was dropped: leave exact
  ++c->instructions;
  return 2;
}

template <class Memory>
RunExit Interpreter::run(Vcpu& v, Memory& mem, uint64_t until, RunStats& stats) {
  // What compiled blocks call back into: one context for the whole run, in the Vcpu.
  BlockContext& context = v.blocks;
  context = {.vcpu = &v, .interpreter = this, .memory = &mem, .until = until,
             .fallback = &compiled_fallback<Memory>,
             .load = {&compiled_load<Memory, Op::LB>, &compiled_load<Memory, Op::LBU>,
                      &compiled_load<Memory, Op::LH>, &compiled_load<Memory, Op::LHU>,
                      &compiled_load<Memory, Op::LW>},
             .store = {&compiled_store<Memory, Op::SB>, &compiled_store<Memory, Op::SH>,
                       &compiled_store<Memory, Op::SW>}};
  if (compiler_ != nullptr) context.hits = compiler_->hits();
  if (trap_ != nullptr) context.cache = &compiled_cache;
  const auto take = [&](const StepResult& r) { this->take(v, r, stats.exceptions); };
  // Compiled blocks count in the context; summed once at the end (not reloaded after every block).
  const auto finish = [&](RunExit exit) {
    stats.instructions += context.instructions;
    stats.exceptions += context.exceptions;
    if (trap_ != nullptr && context.cp0_moves != 0) trap_->special_page_moves(context.cp0_moves);
    return exit;
  };
  for (;;) {
    // Between blocks: the only place interrupts are taken and the clock is looked at.
    take_interrupt(v, stats.exceptions);
    if (v.cycles >= until) return finish(RunExit::Until);
    StepResult fault{.in_delay_slot = v.in_delay_slot};
    uint32_t pa;
    if (!fetch_address(v, pa, fault)) {
      take(fault);
      continue;
    }
    // A block run before is found by its physical pc in the dispatch cache, without touching
    // its predecoded page (tens of KiB each, so a look there is a cache miss of the host's).
    // A kuseg block's in-line accesses take kuseg as mapped and the soft TLB as in step with the
    // TLB (block_compiler.h's SoftTlbView): while ERL unmaps kuseg the interpreter runs it, and
    // the fetch above, a mapped access, brought the soft TLB in step.
    const bool user_block = v.pc < interpreter_detail::kKseg0;
    const bool compiled = compiler_ != nullptr && !v.in_delay_slot && !(user_block && (status(v) & StatusBits::ERL));
    DispatchEntry& dispatched = dispatch_[(pa >> 2) % kDispatchEntries];
    const bool cached = compiled && dispatched.physical_pc == pa && dispatched.pc == v.pc &&
                        dispatched.generation == page_generation_;
    PredecodedPage* page = cached ? nullptr : page_of(pa);
    const uint32_t physical_base = pa & ~((1u << kPageShift) - 1);
    if (compiled) {
      CompiledBlock block = dispatched.code;
      if (!cached) {
        BlockSlot& entry = page->compiled[(v.pc >> 2) & (kWordsPerPage - 1)];
        block = entry.code != nullptr && entry.pc == v.pc ? entry.code
                : entry.runs++ >= compile_after_           ? compile_block(v, *page, physical_base, mem)
                                                           : nullptr;
        if (block != nullptr) {
          dispatched = {.code = block, .generation = page_generation_, .physical_pc = pa, .pc = v.pc};
          compiler_->remember(v.pc, pa, block);
        }
      }
      if (block != nullptr) {
        set_budget(context);
        context.asid_key = asid_key(v);
        block(&context);
        settle(context);
        if (context.exit != 0) return finish(static_cast<RunExit>(context.exit));
        continue;
      }
    }
    // One block: straight on through this page's predecode, one translation for all of it.
    const uint32_t virtual_page = v.pc >> kPageShift;
    const uint64_t generation = page_generation_;
    bool after_branch = v.in_delay_slot;  // the next instruction is a delay slot: the block's last
    for (;;) {
      const uint32_t pc = v.pc;
      const Decoded* cached = decoded(*page, physical_base | (pc & ((1u << kPageShift) - 1)), mem);
      if (cached == nullptr) {
        take(interpreter_detail::raise(Exception::BusErrorInstruction, v.in_delay_slot, v.pc));
        break;
      }
      const Decoded d = *cached;  // a copy: the instruction may drop its own page
      const StepResult r = retire(v, mem, d, stats.instructions, stats.exceptions);
      if (r.exc != Exception::None) break;
      if (r.waiting) return finish(RunExit::Waiting);
      if (r.timer_moved) return finish(RunExit::TimerMoved);
      // The block ends after a branch's delay slot, taken or not (or at once when a likely
      // branch annulled it), after a CP0 instruction that ends_block() (Status, the ASID or the
      // TLB may have changed the translation), when code was dropped, and at the
      // page's end: where block_compiler.h's blocks end, so both take interrupts at the same
      // instructions.
      const bool branch = d.flags & kBranch;
      if (after_branch || (branch && v.pc != pc + 4) || ends_block(d, pc) || page_generation_ != generation ||
          v.pc >> kPageShift != virtual_page)
        break;
      after_branch = branch;
    }
  }
}

}  // namespace disco::mips
