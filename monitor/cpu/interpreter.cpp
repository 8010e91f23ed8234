#include "monitor/cpu/interpreter.h"

#include <algorithm>
#include <bit>
#include <limits>

namespace disco::mips {
namespace {

constexpr uint32_t kUserLocalHwr = 29;
constexpr uint32_t kSynciStep = 32;  // the 24K's cache line size, as RDHWR $1 reports it
constexpr uint32_t kCountResolution = 2;  // Count ticks every other cycle
// CACHE op field (rt): bits 4..2 the operation, 1..0 the cache; 0b100'00 is Hit_Invalidate on the
// primary I-cache, which Linux's flush_icache_range issues per line after writing code.
constexpr uint8_t kHitInvalidateI = 0b10000;

bool user_mode(uint32_t status) {
  return (status & (StatusBits::EXL | StatusBits::ERL)) == 0 && (status & StatusBits::KSU) == StatusBits::UM;
}
// CP0 instructions and CACHE: kernel mode, or Status.CU0.
bool cp0_usable(uint32_t status) { return !user_mode(status) || (status & StatusBits::CU0); }

constexpr uint32_t kBevBase = 0xbfc00200;
constexpr uint32_t kGeneralOffset = 0x180;
constexpr uint32_t kInterruptOffset = 0x200;  // Cause.IV = 1
constexpr uint32_t kRefillOffset = 0x000;     // TLB refill with EXL clear

constexpr uint32_t kKseg0 = 0x80000000u, kKseg2 = 0xc0000000u;
constexpr uint32_t kUnmappedMask = 0x1fffffffu;  // kseg0/kseg1 -> physical
constexpr uint32_t kAsidMask = 0xffu;
constexpr uint32_t kVpn2Mask = 0xffffe000u;
constexpr uint32_t kContextPteBase = 0xff800000u;

bool tlb_exception(Exception e) {
  return e == Exception::TlbModified || e == Exception::TlbLoad || e == Exception::TlbStore;
}

StepResult raise(Exception e, bool in_delay_slot, uint32_t bad_vaddr = 0) {
  return {.exc = e, .bad_vaddr = bad_vaddr, .in_delay_slot = in_delay_slot};
}

uint32_t sign_extend_byte(uint32_t v) { return static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(v))); }
uint32_t sign_extend_half(uint32_t v) { return static_cast<uint32_t>(static_cast<int32_t>(static_cast<int16_t>(v))); }

// Conditional traps: the condition of TGE..TNE (rt operand) and TGEI..TNEI (immediate operand).
bool trap_condition(Op op, uint32_t a, uint32_t b) {
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

}  // namespace

std::string_view name(Exception e) {
  switch (e) {
    case Exception::None: return "None";
    case Exception::AddressErrorLoad: return "AddressErrorLoad";
    case Exception::AddressErrorStore: return "AddressErrorStore";
    case Exception::Overflow: return "Overflow";
    case Exception::Trap: return "Trap";
    case Exception::Syscall: return "Syscall";
    case Exception::Break: return "Break";
    case Exception::ReservedInstruction: return "ReservedInstruction";
    case Exception::BusErrorData: return "BusErrorData";
    case Exception::BusErrorInstruction: return "BusErrorInstruction";
    case Exception::CoprocessorUnusable: return "CoprocessorUnusable";
    case Exception::Interrupt: return "Interrupt";
    case Exception::TlbModified: return "TlbModified";
    case Exception::TlbLoad: return "TlbLoad";
    case Exception::TlbStore: return "TlbStore";
    case Exception::FloatingPoint: return "FloatingPoint";
  }
  return "?";
}

uint32_t exc_code(Exception e) {
  switch (e) {
    case Exception::None: case Exception::Interrupt: return 0;
    case Exception::TlbModified: return 1;
    case Exception::TlbLoad: return 2;
    case Exception::TlbStore: return 3;
    case Exception::FloatingPoint: return 15;
    case Exception::AddressErrorLoad: return 4;
    case Exception::AddressErrorStore: return 5;
    case Exception::BusErrorInstruction: return 6;
    case Exception::BusErrorData: return 7;
    case Exception::Syscall: return 8;
    case Exception::Break: return 9;
    case Exception::ReservedInstruction: return 10;
    case Exception::CoprocessorUnusable: return 11;
    case Exception::Overflow: return 12;
    case Exception::Trap: return 13;
  }
  return 0;
}

void Interpreter::deliver(Vcpu& v, const StepResult& result) {
  if (result.exc == Exception::None) return;
  Cp0& c = v.cp0;
  uint32_t& status = c.raw(cp0::Status);
  uint32_t& cause = c.raw(cp0::Cause);
  if (!(status & StatusBits::EXL)) {  // a nested exception keeps EPC and BD of the first
    if (result.in_delay_slot) {
      c.raw(cp0::EPC) = v.pc - 4;
      cause |= CauseBits::BD;
    } else {
      c.raw(cp0::EPC) = v.pc;
      cause &= ~CauseBits::BD;
    }
  }
  const uint32_t ce = result.exc == Exception::CoprocessorUnusable ? result.coprocessor & 3u : 0;
  cause = (cause & ~(CauseBits::ExcCode | CauseBits::CE)) | exc_code(result.exc) << 2 | ce << 28;
  if (result.exc == Exception::AddressErrorLoad || result.exc == Exception::AddressErrorStore)
    c.raw(cp0::BadVAddr) = result.bad_vaddr;
  uint32_t offset = kGeneralOffset;
  if (tlb_exception(result.exc)) {
    // What the refill handler needs: the faulting page pair in EntryHi (ASID kept) and its
    // page-table slot in Context (BadVPN2 = VA[31:13] at bits 22:4).
    c.raw(cp0::BadVAddr) = result.bad_vaddr;
    uint32_t& context = c.raw(cp0::Context);
    context = (context & kContextPteBase) | (result.bad_vaddr >> 13) << 4;
    uint32_t& entry_hi = c.raw(cp0::EntryHi);
    entry_hi = (result.bad_vaddr & kVpn2Mask) | (entry_hi & kAsidMask);
    if (result.refill && !(status & StatusBits::EXL)) offset = kRefillOffset;
  } else if (result.exc == Exception::Interrupt && (cause & CauseBits::IV)) {
    offset = kInterruptOffset;
  }
  status |= StatusBits::EXL;
  const uint32_t base = (status & StatusBits::BEV) ? kBevBase : (c.raw(cp0::EBase) & 0xfffff000u);
  v.jump_to(base + offset);
}

bool Interpreter::interrupt_pending(const Vcpu& v) {
  const uint32_t status = v.cp0.raw(cp0::Status);
  if ((status & (StatusBits::IE | StatusBits::EXL | StatusBits::ERL)) != StatusBits::IE) return false;
  return (v.cp0.raw(cp0::Cause) & status & CauseBits::IP) != 0;  // Status.IM sits where Cause.IP does
}

bool Interpreter::deliver_interrupt(Vcpu& v) {
  if (!interrupt_pending(v)) return false;
  deliver(v, {.exc = Exception::Interrupt, .in_delay_slot = v.in_delay_slot});
  return true;
}

StepResult Interpreter::step_and_deliver(Vcpu& v, GuestMemory& memory) {
  if (deliver_interrupt(v)) return {.exc = Exception::Interrupt};
  const StepResult result = step(v, memory);
  deliver(v, result);
  return result;
}

void Interpreter::invalidate_page(uint32_t paddr) {
  const uint32_t number = paddr >> kPageShift;
  pages_.erase(number);
  has_page_[number / 64] &= ~(uint64_t{1} << (number % 64));
  if (last_page_ != nullptr && last_page_number_ == number) last_page_ = nullptr;
}

void Interpreter::invalidate_all() {
  pages_.clear();
  std::fill(has_page_.begin(), has_page_.end(), 0);
  last_page_ = nullptr;
}

bool Interpreter::translate(Vcpu& v, uint32_t vaddr, bool store, uint32_t& paddr, StepResult& fault) {
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
  return translate_mapped(v, vaddr, store, paddr, fault);
}

bool Interpreter::translate_mapped(Vcpu& v, uint32_t vaddr, bool store, uint32_t& paddr, StepResult& fault) {
  if (soft_tlb_generation_ != v.tlb.generation()) {
    soft_load_.fill({});
    soft_store_.fill({});
    soft_tlb_generation_ = v.tlb.generation();
  }
  const uint32_t asid = v.cp0.raw(cp0::EntryHi) & kAsidMask;
  const uint32_t key = vaddr >> kPageShift | asid << 20;
  SoftTlbEntry& soft = (store ? soft_store_ : soft_load_)[(vaddr >> kPageShift) % kSoftTlbEntries];
  if (soft.key == key) [[likely]] {
    paddr = soft.frame | (vaddr & ((1u << kPageShift) - 1));
    return true;
  }
  const int index = v.tlb.match(vaddr, static_cast<uint8_t>(asid));
  TlbTranslation t;
  if (index < 0)
    t.fault = TlbFault::Refill;
  else
    t = v.tlb.translate(static_cast<unsigned>(index), vaddr, store);
  if (t.fault != TlbFault::None) {
    fault.exc = t.fault == TlbFault::Modified ? Exception::TlbModified
                : store                       ? Exception::TlbStore
                                              : Exception::TlbLoad;
    fault.refill = t.fault == TlbFault::Refill;
    fault.bad_vaddr = vaddr;
    return false;
  }
  paddr = t.paddr;
  soft = {.key = key, .frame = t.paddr & ~((1u << kPageShift) - 1)};
  return true;
}

const Decoded* Interpreter::predecoded(uint32_t pc, GuestMemory& memory) {
  const uint32_t number = pc >> kPageShift;
  if (last_page_ == nullptr || last_page_number_ != number) {
    std::unique_ptr<PredecodedPage>& page = pages_[number];
    if (!page) {
      page = std::make_unique<PredecodedPage>();
      has_page_[number / 64] |= uint64_t{1} << (number % 64);
    }
    last_page_ = page.get();
    last_page_number_ = number;
  }
  const uint32_t index = (pc >> 2) & (kWordsPerPage - 1);
  if (!last_page_->valid[index]) {
    uint32_t word;
    if (!memory.fetch(pc, word)) return nullptr;
    last_page_->insts[index] = decode(word);
    last_page_->valid[index] = true;
  }
  return &last_page_->insts[index];
}

StepResult Interpreter::step(Vcpu& v, GuestMemory& mem) {
  const uint32_t pc = v.pc;
  const bool in_ds = v.in_delay_slot;
  StepResult fault{.in_delay_slot = in_ds};  // filled by translate() when an access cannot proceed
  uint32_t pa;  // the physical address of the access being made
  const auto to_physical = [&](uint32_t va, bool store) { return translate(v, va, store, pa, fault); };
  if (pc & 3) return raise(Exception::AddressErrorLoad, in_ds, pc);
  if (!to_physical(pc, false)) return fault;
  const Decoded* cached = predecoded(pa, mem);
  if (cached == nullptr) return raise(Exception::BusErrorInstruction, in_ds, pc);
  const Decoded d = *cached;  // a copy: SYNCI may drop the page it lives in

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
      const unsigned size = (d.op == Op::LW) ? 4 : (d.op == Op::LH || d.op == Op::LHU) ? 2 : 1;
      if (addr & (size - 1)) return raise(Exception::AddressErrorLoad, in_ds, addr);
      if (!to_physical(addr, false)) return fault;
      uint32_t value;
      if (!mem.load(pa, size, value)) return raise(Exception::BusErrorData, in_ds, addr);
      if (d.op == Op::LB) value = sign_extend_byte(value);
      if (d.op == Op::LH) value = sign_extend_half(value);
      r[d.rt] = value;
      break;
    }
    case Op::SB: case Op::SH: case Op::SW: {
      const unsigned size = (d.op == Op::SW) ? 4 : (d.op == Op::SH) ? 2 : 1;
      if (addr & (size - 1)) return raise(Exception::AddressErrorStore, in_ds, addr);
      if (!to_physical(addr, true)) return fault;
      if (!mem.store(pa, size, rt)) return raise(Exception::BusErrorData, in_ds, addr);
      snoop_store(pa);
      break;
    }
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
    case Op::CACHE:  // only the I-cache line invalidate matters to us
      if (!cp0_usable(status(v))) return raise(Exception::CoprocessorUnusable, in_ds);  // unit 0
      if (d.rt == kHitInvalidateI && translate(v, addr, false, pa, fault)) invalidate_page(pa);
      break;
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

    // ---- CP0 (the CU0 check first: user mode without it raises CpU 0 for all of them)
    case Op::MFC0: case Op::MTC0: case Op::RDPGPR: case Op::WRPGPR: case Op::DI: case Op::EI:
    case Op::ERET: case Op::WAIT: case Op::TLBR: case Op::TLBWI: case Op::TLBWR: case Op::TLBP: {
      if (!cp0_usable(status(v))) return raise(Exception::CoprocessorUnusable, in_ds);  // unit 0
      switch (d.op) {
        case Op::MFC0: {
          uint32_t value;
          if (!v.cp0.read({d.rd, static_cast<uint8_t>(d.funct & 7)}, v.cycles, value)) ++guest_errors_;
          r[d.rt] = value;
          break;
        }
        case Op::MTC0: {
          const Cp0Id id{d.rd, static_cast<uint8_t>(d.funct & 7)};
          if (!v.cp0.write(id, rt, v.cycles)) ++guest_errors_;
          if (id == cp0::Count || id == cp0::Compare) timer_moved = true;
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
          break;
        }
        case Op::WAIT: waiting = true; break;
        case Op::TLBP: v.tlb.probe(v.cp0); break;
        case Op::TLBR: v.tlb.read(v.cp0); break;
        case Op::TLBWI: v.tlb.write(v.cp0, v.cp0.raw(cp0::Index)); break;
        case Op::TLBWR: {
          uint32_t random;
          v.cp0.read(cp0::Random, v.cycles, random);
          v.tlb.write(v.cp0, random);
          break;
        }
        default: break;
      }
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
      return raise(Exception::ReservedInstruction, in_ds);  // SDBBP, DERET, Reserved
  }

  r[0] = 0;  // cheaper than testing rd/rt == 0 on every write (DuckStation's habit)
  v.pc = pc_after;
  v.next_pc = next_after;
  v.in_delay_slot = branch_taken_or_jump;
  ++v.cycles;
  return {.in_delay_slot = in_ds, .waiting = waiting, .timer_moved = timer_moved};
}

}  // namespace disco::mips
