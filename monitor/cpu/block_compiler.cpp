#include "monitor/cpu/block_compiler.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xbyak/xbyak.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <deque>
#include <functional>
#include <vector>
#include <optional>
#include <stdexcept>

#include "monitor/cpu/vcpu.h"

namespace disco::mips {
namespace {

// Where the compiled code finds the vcpu's fields (Vcpu is not standard-layout, so offsetof is
// not guaranteed: measured on an instance instead).
struct Layout {
  int32_t gpr, hi, lo, pc, next_pc, in_delay_slot, cycles, status, cause, hwrena,
      user_local, fpr, count_base, cycles_base, blocks;
};
Vcpu& layout_vcpu() {
  static Vcpu v;
  return v;
}
int32_t at(const void* field) {
  return static_cast<int32_t>(static_cast<const char*>(field) - reinterpret_cast<const char*>(&layout_vcpu()));
}
const Layout& layout() {
  static const Layout l = [] {
    Vcpu& v = layout_vcpu();
    return Layout{at(&v.gpr[0]), at(&v.hi),          at(&v.lo),
                  at(&v.pc),     at(&v.next_pc),     at(&v.in_delay_slot),
                  at(&v.cycles), at(&v.cp0.raw(cp0::Status)), at(&v.cp0.raw(cp0::Cause)),
                  at(&v.cp0.raw(cp0::HWREna)),
                  at(&v.cp0.raw(cp0::UserLocal)), at(&v.fpu.fpr[0]),
                  at(&v.cp0.count_base()),  at(&v.cp0.cycles_base()), at(&v.blocks)};
  }();
  return l;
}

constexpr int32_t kCtxPending = offsetof(BlockContext, pending);
constexpr int32_t kCtxBudget = offsetof(BlockContext, budget);
constexpr int32_t kCtxFallback = offsetof(BlockContext, fallback);
constexpr int32_t kCtxVcpu = offsetof(BlockContext, vcpu);
constexpr int32_t kCtxLoad = offsetof(BlockContext, load);
constexpr int32_t kCtxStore = offsetof(BlockContext, store);
constexpr int32_t kCtxDiscard = offsetof(BlockContext, discard);
constexpr int32_t kCtxLimit = offsetof(BlockContext, limit);
constexpr int32_t kCtxAsidKey = offsetof(BlockContext, asid_key);
constexpr int32_t kCtxCp0Moves = offsetof(BlockContext, cp0_moves);
constexpr int32_t kCtxCache = offsetof(BlockContext, cache);
constexpr int32_t kSlotCode = offsetof(BlockSlot, code);
constexpr int32_t kSlotPc = offsetof(BlockSlot, pc);
static_assert(sizeof(BlockSlot) == 16);
constexpr int32_t kJumpCode = offsetof(JumpEntry, code);
constexpr int32_t kJumpGeneration = offsetof(JumpEntry, generation);
constexpr int32_t kJumpPc = offsetof(JumpEntry, pc);
constexpr int32_t kJumpOffset = offsetof(JumpEntry, offset);
static_assert(sizeof(JumpEntry) == 32);
constexpr uint32_t kPageMask = ~0xfffu;

// The BlockContext::load / store slot of an access, or -1.
int load_slot(Op op) {
  switch (op) {
    case Op::LB: return 0;
    case Op::LBU: return 1;
    case Op::LH: return 2;
    case Op::LHU: return 3;
    case Op::LW: return 4;
    default: return -1;
  }
}
int store_slot(Op op) {
  switch (op) {
    case Op::SB: return 0;
    case Op::SH: return 1;
    case Op::SW: return 2;
    default: return -1;
  }
}

// LWL and LWR: the aligned word around the address, merged into rt.
bool is_partial_load(Op op) { return op == Op::LWL || op == Op::LWR; }
// LWC1, LDC1, SWC1, SDC1: an FPR's word, or an even-odd pair's doubleword (FR = 0), while
// Status.CU1 is set.
bool is_fpu_access(Op op) { return op == Op::LWC1 || op == Op::LDC1 || op == Op::SWC1 || op == Op::SDC1; }
// What access() compiles: the loads and stores with a BlockContext call, and LWL/LWR and the
// FPU's (whose cold path is the interpreter's).
bool is_access(Op op) { return load_slot(op) >= 0 || store_slot(op) >= 0 || is_partial_load(op) || is_fpu_access(op); }

// What checked() compiles: in line when a check finds the simple case, else the interpreter's.
bool is_checked(const Decoded& d) {
  switch (d.op) {
    case Op::RDHWR: return d.rd == kUserLocalHwr;
    case Op::TEQ: case Op::TNE: case Op::MFC1: case Op::MTC1: return true;
    case Op::MFHC1: case Op::MTHC1: return (d.rd & 1) == 0;  // an odd register is RI
    default: return false;
  }
}

// Where a branch or jump at `pc` goes when taken, where the instruction says (not JR, JALR).
std::optional<uint32_t> taken_target(const Decoded& d, uint32_t pc) {
  switch (d.op) {
    case Op::J: case Op::JAL: return ((pc + 4) & 0xf0000000u) | d.target() << 2;
    case Op::JR: case Op::JALR: return std::nullopt;
    default: return pc + 4 + (static_cast<uint32_t>(d.simm) << 2);
  }
}

// Where an instruction that writes one register without reading it first names that register:
// the register cache's guess at what a block still needs (the rest: kNone, though they may write).
enum class Destination { kNone, kRt, kRd };
Destination plain_destination(Op op) {
  switch (op) {
    case Op::ADDIU: case Op::SLTI: case Op::SLTIU: case Op::ANDI: case Op::ORI: case Op::XORI: case Op::LUI:
    case Op::LB: case Op::LH: case Op::LW: case Op::LBU: case Op::LHU: case Op::EXT:
      return Destination::kRt;
    case Op::SLL: case Op::SRL: case Op::ROTR: case Op::SRA: case Op::SLLV: case Op::SRLV: case Op::ROTRV:
    case Op::SRAV: case Op::MFHI: case Op::MFLO: case Op::ADDU: case Op::SUBU: case Op::AND: case Op::OR:
    case Op::XOR: case Op::NOR: case Op::SLT: case Op::SLTU: case Op::MUL: case Op::CLZ: case Op::CLO:
    case Op::WSBH: case Op::SEB: case Op::SEH:
      return Destination::kRd;
    default:
      return Destination::kNone;
  }
}

bool is_inline_branch(Op op) {
  switch (op) {
    case Op::BEQ: case Op::BNE: case Op::BLEZ: case Op::BGTZ: case Op::BLTZ: case Op::BGEZ: case Op::BLTZAL:
    case Op::BGEZAL: case Op::J: case Op::JAL: case Op::JR: case Op::JALR:
      return true;
    default:
      return false;
  }
}

// Whether the block of `count` instructions at `pc` ends in a branch to its own start (a loop).
bool loops_to_start(uint32_t pc, const Decoded* insts, unsigned count) {
  return count >= 2 && is_inline_branch(insts[count - 2].op) && taken_target(insts[count - 2], pc + 4 * (count - 2)) == pc;
}

// Emits one block. Registers: rbx = the Vcpu and, in it, the BlockContext (context()), r12d =
// where control goes after the delay slot (after a conditional branch, only where it is read:
// materialize_r12()), r13b = whether the branch was taken (the delay slot's in_delay_slot, as
// the interpreter keeps it), r14 = DirectRam::host_base, r15 = the counts run in line and not
// yet settled (BlockContext::pending: instructions low, RAM hits high), and for the in-line RAM
// path r8 = DirectRam::code_pages in kernel blocks, SoftTlbView::load in kuseg ones, r10 =
// DirectRam::tags (and DirectRam::active from it; caller-saved: set again after every call);
// rax, rcx, rdx scratch. esi, edi, r9d, r11d, ebp, r12d and r13d hold guest registers
// (cached(); from the branch on, r13d and perhaps r12d are the branch's; rsi and rdi are
// scratch again where the cache is written back: at calls' arguments and the block's exits).
// The guest registers live in the Vcpu. The same registers hold in every block, so a chained
// block enters past the prologue.
class Emitter {
 public:
  static constexpr unsigned kCacheRegs = 7, kR12 = 5, kR13 = 6;  // cache_reg()'s r12d and r13d
  // The frame below the pushes: [rsp] LWL/LWR's byte offset; 8 keeps calls 16-byte aligned.
  static constexpr int32_t kFrame = 8;
  // What the cache holds at one point of the block: the guest register in each host register
  // (-1: none), whether it changed since it was loaded, and when it was last used.
  struct Cache {
    std::array<int, kCacheRegs> reg;
    std::array<bool, kCacheRegs> dirty;
    std::array<uint32_t, kCacheRegs> used;
  };

  Emitter(Xbyak::CodeGenerator& g, uint32_t pc, const Decoded* insts, unsigned count, const BlockSlot* slots,
          const DirectRam* ram, const uint8_t* host_base, const SoftTlbView* soft_tlb, const JumpEntry* jumps,
          const uint64_t* code_generation, std::size_t& prologue_bytes)
      : g_(g),
        l_(layout()),
        pc_(pc),
        insts_(insts),
        count_(count),
        slots_(slots),
        ram_(ram),
        host_base_(host_base),
        soft_tlb_(soft_tlb),
        user_(pc < 0x80000000u),
        loops_(loops_to_start(pc, insts, count)),
        jumps_(jumps),
        code_generation_(code_generation),
        prologue_bytes_(prologue_bytes) {
    if (ram_ != nullptr) find_access_groups();
  }

  void block() {
    body();
    for (const auto& cold : cold_) cold();
  }

  // A block that branches to its own start: the cache its back edge had in an emission before
  // (back_edge()), which the start then holds, so that the loop keeps those registers.
  void set_loop_head(const Cache& head) { loop_head_ = head; }
  void set_bare(bool on) { bare_ = on; }  // BlockCompiler::set_bare()
  const std::optional<Cache>& back_edge() const { return back_edge_; }
  // The host instructions the back edge took to make its cache the head's (with a head).
  unsigned back_edge_cost() const { return back_edge_cost_; }

  void body() {
    using namespace Xbyak::util;
    const std::size_t start = g_.getSize();
    g_.push(rbx);
    g_.push(rbp);
    g_.push(r12);
    g_.push(r13);
    g_.push(r14);
    g_.push(r15);
    g_.sub(rsp, kFrame);  // six pushes and this: the stack is 16-byte aligned for the calls
    g_.mov(rbx, qword[rdi + kCtxVcpu]);
    g_.mov(r14, reinterpret_cast<uintptr_t>(host_base_));
    g_.xor_(r15d, r15d);
    pinned();
    prologue_bytes_ = g_.getSize() - start;  // the same every time: chaining enters past it
    if (loop_head_) {  // the registers the back edge keeps, loaded on the way in
      load_all(*loop_head_);
      cached_ = loop_head_->reg;
      for (unsigned k = 0; k < kCacheRegs; ++k) dirty_[k] = cached_[k] >= 0;  // changed, from the 2nd round on
      g_.L(loop_);
    }
    for (unsigned i = 0; i < count_; ++i) {
      at_ = i;
      const Decoded& d = insts_[i];
      const uint32_t pc = pc_ + 4 * i;
      if (d.flags & kBranch) {
        if (is_inline_branch(d.op) && i + 1 < count_) {
          // The branch and an ALU delay slot keep the cache, less the branch's r13d (and r12d
          // unless a conditional branch leaves it to materialize_r12()): a loop's last
          // instruction should not go through memory twice.
          const bool conditional = taken_target(d, pc) && d.op != Op::J && d.op != Op::JAL;
          const Decoded& slot = insts_[i + 1];
          if (loops_ && condition_waits(d, slot)) {
            // the loop's back edge compares (end_loop()); r13d and r12d stay the cache's
            lazy_r12_ = {pc_, pc + 8};
            waiting_condition_ = d;
          } else {
            forget_branch_registers(conditional ? kR13 : kR12);
            branch(d, pc);
          }
          ++pending_;
          at_ = i + 1;
          const bool memory = is_access(slot.op), cp0 = in_line_cp0(slot);
          if (memory || cp0 || BlockCompiler::inline_op(slot.op)) {
            if (memory) {
              access(slot, i + 1, pc + 4, true);
            } else if (cp0) {  // (DI in `jr ra`'s slot: local_irq_save's return)
              forget(slot.rt);  // the move reads or writes rt in the Vcpu
              cp0_move(slot);
              ++pending_;
            } else if (cached_alu(slot)) {
              ++pending_;
            } else {
              forget_named(slot);
              alu(slot);
              ++pending_;
            }
            const std::optional<uint32_t> taken = taken_target(d, pc);
            if (taken == pc_) {
              end_loop(conditional ? std::optional<uint32_t>(pc + 8) : std::nullopt);
            } else {
              write_back();
              end_block(taken, conditional ? std::optional<uint32_t>(pc + 8) : std::nullopt);
            }
          } else {
            write_back();
            fallback(i + 1, pc + 4, true);  // commits pc = r12d itself
          }
        } else {
          write_back();
          // Likely, BC1x, a branch whose slot is on the next page: the interpreter's, and its
          // delay slot after it when on this page and not annulled, with no boundary between.
          fallback(i, pc, false);
          if (i + 1 < count_) {
            g_.cmp(dword[rbx + l_.pc], pc + 4);
            g_.jne(exit_, Xbyak::CodeGenerator::T_NEAR);
            call_fallback(i + 1);  // the branch's commit set the pc pair and in_delay_slot
          }
        }
        leave();
        return;
      }
      if (cached_alu(d)) {
        ++pending_;
        continue;
      }
      if (is_access(d.op)) {
        access(d, i, pc, false);
        continue;
      }
      if (BlockCompiler::inline_op(d.op)) {
        forget_named(d);
        alu(d);
        ++pending_;
        continue;
      }
      write_back();
      if (is_checked(d)) {
        checked(d, i, pc);
      } else if (writes_status(d) && i + 1 == count_) {
        status_write(d, i, pc);
        ++pending_;
      } else if (in_line_cp0(d)) {
        cp0_move(d);
        ++pending_;
      } else if (d.op == Op::CACHE && d.rt != kHitInvalidateI && pc_ >= 0x80000000u) {
        cache_op(pc);
        ++pending_;
      } else {
        fallback(i, pc, false);
        if (d.op == Op::ERET && jumps_ != nullptr && soft_tlb_->load != nullptr) {
          // On into the block at the pc it returned to (the fallback answered 0 only with the
          // soft TLB in step: a kuseg block may follow; ERL is clear after an ERET).
          g_.mov(r12d, dword[rbx + l_.pc]);
          end_block(std::nullopt, std::nullopt, true);
          leave();
          return;
        }
        if (i + 1 == count_) {  // committed by the interpreter
          leave();
          return;
        }
      }
    }
    write_back();
    const uint32_t next = pc_ + 4 * count_;
    g_.mov(r12d, next);
    end_block(next, std::nullopt);
    leave();
  }

 private:
  Xbyak::Address gpr(unsigned r) { return Xbyak::util::dword[Xbyak::util::rbx + (l_.gpr + 4 * static_cast<int32_t>(r))]; }
  // A field of the BlockContext (Vcpu::blocks), at its offset `field` in it.
  Xbyak::RegExp context(int32_t field) const { return Xbyak::util::rbx + (l_.blocks + field); }
  Xbyak::Address fpr(unsigned r) { return Xbyak::util::dword[Xbyak::util::rbx + (l_.fpr + 4 * static_cast<int32_t>(r))]; }
  // An even-odd FPR pair as one doubleword (Fpu::read_double's layout: even = low word).
  Xbyak::Address fpr_pair(unsigned r) { return Xbyak::util::qword[Xbyak::util::rbx + (l_.fpr + 4 * static_cast<int32_t>(r & 30))]; }

  // The simplest ALU instructions and the plain loads and stores keep the guest registers they
  // use in host registers (esi, edi, r9d, r11d, r12d, r13d) and write the changed ones back before
  // anything else reads the Vcpu's (alu() the ones it names; a branch, a call, the block's end
  // all). Through memory, each of them was a store and a reload: a chain of dependent
  // instructions waited on store-to-load forwarding at every step. r0 is never cached. r12d and
  // r13d serve until the branch (forget_branch_registers()).
  static const Xbyak::Reg32& cache_reg(unsigned k) {
    using namespace Xbyak::util;
    static const Xbyak::Reg32 regs[kCacheRegs] = {esi, edi, r9d, r11d, ebp, r12d, r13d};
    return regs[k];
  }
  Cache cache() const { return {cached_, dirty_, used_}; }
  static std::array<int, kCacheRegs> no_guest_registers() {
    std::array<int, kCacheRegs> none;
    none.fill(-1);
    return none;
  }
  // The host register of `regs` that holds guest register r, or -1.
  static int holding(const std::array<int, kCacheRegs>& regs, int r) {
    for (unsigned k = 0; k < kCacheRegs; ++k)
      if (regs[k] == r) return static_cast<int>(k);
    return -1;
  }
  // The changed registers of `c` stored to the Vcpu (the host registers keep them).
  void store_changed(const Cache& c) {
    for (unsigned k = 0; k < kCacheRegs; ++k)
      if (c.reg[k] >= 0 && c.dirty[k]) g_.mov(gpr(static_cast<unsigned>(c.reg[k])), cache_reg(k));
  }
  // Every register of `c` loaded from the Vcpu, after a call that clobbered or changed them.
  void load_all(const Cache& c) {
    for (unsigned k = 0; k < kCacheRegs; ++k)
      if (c.reg[k] >= 0) g_.mov(cache_reg(k), gpr(static_cast<unsigned>(c.reg[k])));
  }

  // The counts run in line since the last flush (pending_, pending_hits_), as r15 packs them.
  uint64_t packed() const { return uint64_t{pending_hits_} << 32 | pending_; }
  // r15 += `n` (packed counts, or their negation).
  void add_r15(uint64_t n) {
    using namespace Xbyak::util;
    if (n == 0) return;
    if (static_cast<int64_t>(n) == static_cast<int32_t>(n)) {
      g_.add(r15, static_cast<int32_t>(n));
    } else {
      g_.mov(rcx, n);
      g_.add(r15, rcx);
    }
  }
  // Adds the counts run in line since the last flush to r15.
  void flush() {
    add_r15(packed());
    pending_ = pending_hits_ = 0;
  }
  // DirectRam::active, from DirectRam::tags in r10 (BlockCompiler::set_direct_ram).
  Xbyak::Address announcement() const {
    const auto from_tags = static_cast<int32_t>(reinterpret_cast<const char*>(ram_->active) -
                                                reinterpret_cast<const char*>(ram_->tags));
    return Xbyak::util::qword[Xbyak::util::r10 + from_tags];
  }
  // The in-line RAM path's pointers, after a call clobbered them.
  void pinned() {
    using namespace Xbyak::util;
    if (user_ && soft_tlb_->load != nullptr) g_.mov(r8, reinterpret_cast<uintptr_t>(soft_tlb_->load));
    if (ram_ == nullptr) return;
    if (!user_) g_.mov(r8, reinterpret_cast<uintptr_t>(ram_->code_pages));
    g_.mov(r10, reinterpret_cast<uintptr_t>(ram_->tags));
  }

  // The interpreter runs insts_[i]; a nonzero answer leaves the block with the state exact.
  void fallback(unsigned i, uint32_t pc, bool delay_slot) {
    using namespace Xbyak::util;
    flush();
    g_.mov(dword[rbx + l_.pc], pc);
    if (delay_slot) {
      materialize_r12();
      g_.mov(dword[rbx + l_.next_pc], r12d);
      g_.mov(byte[rbx + l_.in_delay_slot], r13b);
    } else {
      g_.mov(dword[rbx + l_.next_pc], pc + 4);
      g_.mov(byte[rbx + l_.in_delay_slot], 0);
    }
    call_fallback(i);
  }
  void call_fallback(unsigned i) {
    using namespace Xbyak::util;
    g_.lea(rdi, ptr[context(0)]);
    g_.mov(rsi, reinterpret_cast<uintptr_t>(&insts_[i]));
    call(qword[context(kCtxFallback)]);
    g_.test(eax, eax);
    g_.jnz(exit_, Xbyak::CodeGenerator::T_NEAR);
  }
  // A call out, r15 flushed (all counts settled by it): r15 = 0 after.
  void call(const Xbyak::Address& function) {
    using namespace Xbyak::util;
    g_.mov(qword[context(kCtxPending)], r15);
    g_.call(function);
    g_.xor_(r15d, r15d);
    pinned();
  }

  // Access groups: a plain load or store, then others of no more bytes at the same base and
  // offset, with nothing between them but inline_op() instructions that name no register of the
  // base (so nothing that calls, leaves the block or accesses memory). They reach the same word,
  // so the first (the leader) does the checks for all (the soft TLB's store half and the write
  // tag when one of them stores) and keeps the line announced until the last is done; the others
  // take its address from rdx, which no in-line ALU instruction but DIV and DIVU writes (they end
  // the window). The window is straight-line code of at most kGroupWindow instructions, so a
  // revocation waits for it about as long as for one access.
  static constexpr unsigned kGroupWindow = 32;
  void find_access_groups() {
    const auto plain = [&](unsigned i) {
      const Decoded& d = insts_[i];
      const bool in_delay_slot = i > 0 && (insts_[i - 1].flags & kBranch);
      return (load_slot(d.op) >= 0 || store_slot(d.op) >= 0) && d.rs != 0 && !in_delay_slot;
    };
    for (unsigned i = 0; i < count_; ++i) {
      const Decoded& a = insts_[i];
      if (!plain(i) || leader_of_[i] >= 0 || (load_slot(a.op) >= 0 && a.rt == a.rs)) continue;
      bool writes = store_slot(a.op) >= 0;
      for (unsigned j = i + 1; j < count_ && j - i <= kGroupWindow; ++j) {
        const Decoded& b = insts_[j];
        if (b.flags & kBranch) break;
        if (is_access(b.op)) {
          if (!plain(j) || b.rs != a.rs || b.simm != a.simm || access_bytes(b.op) > access_bytes(a.op)) break;
          leader_of_[j] = static_cast<int>(i);
          group_last_[i] = j;
          writes |= store_slot(b.op) >= 0;
          if (load_slot(b.op) >= 0 && b.rt == a.rs) break;
          continue;
        }
        if (!BlockCompiler::inline_op(b.op) || b.rt == a.rs || b.rd == a.rs || b.op == Op::DIV || b.op == Op::DIVU) break;
      }
      group_writes_[i] = writes;
    }
  }
  bool leads_group(unsigned i) const { return group_last_[i] > i; }

  // A member of an access group after its leader: the leader's address from rdx, unless the
  // leader went through its cold path (which leaves nothing announced); then this one's own.
  void group_member(const Decoded& d, unsigned i, const std::optional<Xbyak::Reg32>& rt, Xbyak::Label& call) {
    using namespace Xbyak::util;
    g_.cmp(announcement(), -1);
    g_.je(call, Xbyak::CodeGenerator::T_NEAR);
    plain_access(d, r14 + rdx * (1 << group_scale_), rt);
    if (group_last_[static_cast<unsigned>(leader_of_[i])] == i) g_.mov(announcement(), -1);
  }
  // A plain load or store at host address `at`, once its checks passed (rax or rdx may hold
  // the address): rt from or into its host register when cached (a load's straight, no eax),
  // else the Vcpu's.
  void plain_access(const Decoded& d, const Xbyak::RegExp& at, const std::optional<Xbyak::Reg32>& rt) {
    using namespace Xbyak::util;
    if (store_slot(d.op) >= 0) {
      const Xbyak::Reg32 value = rt.value_or(ecx);
      if (!rt) g_.mov(ecx, gpr(d.rt));
      if (d.op == Op::SW) g_.mov(dword[at], value);
      if (d.op == Op::SH) g_.mov(word[at], value.cvt16());
      if (d.op == Op::SB) g_.mov(byte[at], value.cvt8());
    } else {
      load_into(d.op, rt.value_or(eax), at);
      if (!rt && d.rt != 0) g_.mov(gpr(d.rt), eax);
    }
  }
  void load_into(Op op, const Xbyak::Reg32& to, const Xbyak::RegExp& at) {
    using namespace Xbyak::util;
    if (op == Op::LW || is_partial_load(op)) g_.mov(to, dword[at]);
    if (op == Op::LH) g_.movsx(to, word[at]);
    if (op == Op::LHU) g_.movzx(to, word[at]);
    if (op == Op::LB) g_.movsx(to, byte[at]);
    if (op == Op::LBU) g_.movzx(to, byte[at]);
  }

  // A load or store: in line when it hits RAM through kseg0 (direct()), else through
  // BlockContext::load/store; when that cannot complete it simply, the interpreter runs the
  // instruction (and raises what it must) and the block ends there. The calls are cold code,
  // emitted after the block's body. A plain load or store outside a delay slot keeps the guest
  // registers cached (its base and its rt join them): the cold path writes the changed ones back
  // before it calls and loads them all again after, so both paths meet at `done` alike.
  void access(const Decoded& d, unsigned i, uint32_t pc, bool delay_slot) {
    using namespace Xbyak::util;
    Xbyak::Label& call = labels_.emplace_back();
    Xbyak::Label& miss = labels_.emplace_back();
    Xbyak::Label& done = labels_.emplace_back();
    const bool plain = (load_slot(d.op) >= 0 || store_slot(d.op) >= 0) && !delay_slot;
    if (!plain) write_back();  // (in a delay slot, the branch holds r13d and perhaps r12d: no cached())
    const bool member = plain && leader_of_[i] >= 0;
    Xbyak::Reg32 vaddr = edx;
    int32_t displacement = 0;  // vaddr's offset still to add (direct() adds it)
    std::optional<Xbyak::Reg32> rt;  // a plain access's rt in the cache
    unsigned hold = 0;
    if (member) {
      // no address: the leader's is in rdx
    } else if (plain && d.rs != 0) {
      vaddr = cached(d.rs, true, hold);
      displacement = d.simm;
    } else {
      address_from_vcpu(edx, d);
    }
    if (plain && d.rt != 0) rt = cached(d.rt, store_slot(d.op) >= 0, hold);  // a load's: written after
    if (is_partial_load(d.op)) {
      g_.mov(dword[rsp], edx);  // the frame's spare word: the byte offset, for the merge
      g_.and_(edx, ~3u);
    }
    const Cache at_access = cache();
    if (member)
      group_member(d, i, rt, call);
    else if (ram_ != nullptr)
      direct(d, plain && leads_group(i) ? std::optional<unsigned>(i) : std::nullopt, vaddr, displacement, rt, call, miss);
    else
      g_.jmp(call, Xbyak::CodeGenerator::T_NEAR);
    g_.L(done);
    if (rt && load_slot(d.op) >= 0) dirty(d.rt);
    const uint32_t pending = pending_, pending_hits = pending_hits_;
    cold_.push_back([=, this, &call, &miss, &done] {
      pending_ = pending;  // as at the access
      pending_hits_ = pending_hits;
      if (ram_ != nullptr && !member) {
        g_.L(miss);
        g_.mov(announcement(), -1);  // no longer announced
      }
      g_.L(call);
      store_changed(at_access);  // the Vcpu's registers exact for the call and the interpreter
      const int load = load_slot(d.op);
      if (load >= 0 || store_slot(d.op) >= 0) {  // a BlockContext call first
        // The call sees the counts up to this instruction (the devices read the clock); after
        // it, r15 = -packed() so that the flushes to come count them once.
        const uint64_t counted = packed();
        add_r15(counted);
        address_from_vcpu(esi, d);  // again: the in-line path's registers are gone
        g_.lea(rdi, ptr[context(0)]);
        Xbyak::Label failed;
        if (load >= 0) {
          if (d.rt != 0)
            g_.lea(rdx, ptr[rbx + (l_.gpr + 4 * d.rt)]);
          else
            g_.lea(rdx, ptr[context(kCtxDiscard)]);
          this->call(qword[context(kCtxLoad + 8 * load)]);
          add_r15(-counted);
          g_.test(eax, eax);
          g_.jz(failed);
        } else {
          if (delay_slot) materialize_r12();
          g_.mov(edx, gpr(d.rt));
          if (delay_slot)
            g_.mov(ecx, r12d);  // after a delay slot, the branch's choice
          else
            g_.mov(ecx, pc + 4);
          this->call(qword[context(kCtxStore + 8 * store_slot(d.op))]);
          g_.cmp(eax, 2);
          g_.je(exit_, Xbyak::CodeGenerator::T_NEAR);  // done and committed, r15 = 0
          add_r15(-counted);
          g_.cmp(eax, 1);
          g_.jne(failed);
        }
        rejoin(done, at_access);
        g_.L(failed);
      }
      fallback(i, pc, delay_slot);
      if (is_partial_load(d.op) || is_fpu_access(d.op)) {
        // How LWL/LWR and the FPU's leave the in-line path (whose hit was counted too).
        on_after_interpreter(pending, pending_hits + (ram_ != nullptr ? 1u : 0u), done, at_access);
      } else {
        // committed by the interpreter: an exception, or a delay slot's store (the block's end)
        g_.jmp(exit_, Xbyak::CodeGenerator::T_NEAR);
      }
    });
    ++pending_;
    if (ram_ != nullptr) ++pending_hits_;  // the in-line path's hit, counted in a batch
  }

  // An instruction outside a delay slot done in line unless a check sends it to the cold path,
  // where the interpreter runs it (and raises what it must), then on in the block:
  //   RDHWR $29  UserLocal (Linux's TLS pointer, read by every libc call that touches errno),
  //              while HWREna allows it; else the interpreter decides (kernel mode, or RI)
  //   TEQ, TNE   (a compiler's divide-by-zero check after DIV) while they do not trap
  //   MFC1, MTC1, MFHC1, MTHC1   while Status.CU1 is set
  void checked(const Decoded& d, unsigned i, uint32_t pc) {
    using namespace Xbyak::util;
    const auto far = Xbyak::CodeGenerator::T_NEAR;
    Xbyak::Label& cold = labels_.emplace_back();
    Xbyak::Label& done = labels_.emplace_back();
    if (d.op == Op::RDHWR) {
      g_.test(dword[rbx + l_.hwrena], 1u << kUserLocalHwr);
      g_.jz(cold, far);
      if (d.rt != 0) {
        g_.mov(eax, dword[rbx + l_.user_local]);
        g_.mov(gpr(d.rt), eax);
      }
    } else if (d.op == Op::TEQ || d.op == Op::TNE) {
      g_.mov(eax, gpr(d.rs));
      g_.cmp(eax, gpr(d.rt));
      if (d.op == Op::TEQ)
        g_.je(cold, far);
      else
        g_.jne(cold, far);
    } else {
      g_.test(dword[rbx + l_.status], StatusBits::CU1);
      g_.jz(cold, far);
      const unsigned f = d.op == Op::MFHC1 || d.op == Op::MTHC1 ? d.rd + 1 : d.rd;  // the high half's register
      if (d.op == Op::MFC1 || d.op == Op::MFHC1) {
        if (d.rt != 0) {
          g_.mov(eax, fpr(f));
          g_.mov(gpr(d.rt), eax);
        }
      } else {
        g_.mov(eax, gpr(d.rt));
        g_.mov(fpr(f), eax);
      }
    }
    g_.L(done);
    const uint32_t pending = pending_, pending_hits = pending_hits_;
    const Cache at_instruction = cache();  // empty: the body wrote it back
    cold_.push_back([=, this, &cold, &done] {
      pending_ = pending;  // as at the instruction
      pending_hits_ = pending_hits;
      g_.L(cold);
      fallback(i, pc, false);
      on_after_interpreter(pending, pending_hits, done, at_instruction);
    });
    ++pending_;
  }

  // After a cold path's fallback retired the instruction: on in the block at the in-line path's
  // `done`, as the interpreter's block goes on. The fallback settled the counts before the
  // instruction (`pending`, `hits`) and counted the instruction itself, all of which the flushes
  // to come count again from `done`: r15 takes them back.
  // `cached` is the cache as the in-line path has it at `done`: its registers are loaded again.
  void on_after_interpreter(uint32_t pending, uint32_t hits, Xbyak::Label& done, const Cache& cached) {
    add_r15(-(uint64_t{hits} << 32 | (pending + 1)));
    load_all(cached);
    g_.jmp(done, Xbyak::CodeGenerator::T_NEAR);
  }

  // `to` = the address of access `d`, its base read from the Vcpu.
  void address_from_vcpu(const Xbyak::Reg32& to, const Decoded& d) {
    g_.mov(to, gpr(d.rs));
    if (d.simm != 0) g_.add(to, static_cast<uint32_t>(d.simm));
  }

  // Back from a call that did the access to the in-line path's `done`: that path's hit is
  // counted in a batch, the call's by the machine, so one is taken back here.
  void rejoin(Xbyak::Label& done, const Cache& cached) {
    if (ram_ != nullptr) add_r15(-(uint64_t{1} << 32));
    load_all(cached);
    g_.jmp(done, Xbyak::CodeGenerator::T_NEAR);
  }

  // The in-line path of access() for the address in `vaddr` (edx or a cached guest register, which
  // it keeps) + `displacement` (a kernel block adds it in the lea that takes kseg0's base off):
  // on to the cold `call` unless it is
  // aligned, in kseg0 and RAM (kernel blocks) or mapped by the soft TLB (user blocks), in placed RAM, not
  // (for a store) on a predecoded page, and (else `miss`, announced) a hit of the pcpu's cache
  // check; then the access as MemoryPort's hit path does it, its hit counted by flush(). A
  // plain access's rt is in `rt` when cached: a store's value, a load's destination. The
  // `leader` of an access group checks for all of it, leaves its address in rdx and the
  // line announced. Clobbers rax, rcx and rdx.
  void direct(const Decoded& d, std::optional<unsigned> leader, const Xbyak::Reg32& vaddr, int32_t displacement,
              const std::optional<Xbyak::Reg32>& rt, Xbyak::Label& call, Xbyak::Label& miss) {
    using namespace Xbyak::util;
    const bool fpu = is_fpu_access(d.op);
    const bool store = store_slot(d.op) >= 0 || d.op == Op::SWC1 || d.op == Op::SDC1;
    const bool write = store || (leader && group_writes_[*leader]);  // the permission checked
    const unsigned size = is_partial_load(d.op) || d.op == Op::LWC1 || d.op == Op::SWC1 ? 4
                          : d.op == Op::LDC1 || d.op == Op::SDC1                       ? 8
                                                                                       : access_bytes(d.op);  // LWL/LWR: aligned
    const auto far = Xbyak::CodeGenerator::T_NEAR;
    if (fpu) {  // Coprocessor Unusable is the interpreter's to raise
      g_.test(dword[rbx + l_.status], StatusBits::CU1);
      g_.jz(call, far);
    }
    // eax (zero-extended in rax) = physical >> k from here on
    int k = 0;
    if (!user_) {
      // kseg0: physical = vaddr + displacement - 0x80000000 (kseg1 calls), one displacement mod 2^32
      g_.lea(eax, ptr[vaddr.cvt64() + static_cast<int32_t>(static_cast<uint32_t>(displacement) - 0x80000000u)]);
      // One check for alignment and RAM: rotated right by log2(size), an aligned address is
      // physical >> k, a misaligned one has its top bits set and fails the compare.
      k = std::countr_zero(size);
      if (k != 0) g_.ror(eax, k);
      g_.cmp(eax, ram_->ram_bytes >> k);
      g_.jae(call, far);
    } else {
      const Xbyak::Reg32& address = displacement == 0 ? vaddr : edx;
      if (displacement != 0) g_.lea(edx, ptr[vaddr.cvt64() + displacement]);
      // kuseg through the soft TLB, as Interpreter::translate() (its misses and faults call,
      // and so do kernel addresses and misaligned ones, whose keys never match: a user's
      // address error, or kseg2); it maps only pages of RAM (translate_mapped)
      soft_tlb_offset(address, write, size, call);
      g_.add(eax, address);  // physical
    }
    // A kernel store to a page with predecode calls, to drop it; a kuseg store need not look:
    // the soft TLB's store half never maps such a page (Interpreter::translate_mapped, page_at).
    const bool linear = ram_->linear_base != ~uint64_t{0};
    const bool code_check = write && !user_;
    if (code_check || !linear) {
      g_.mov(ecx, eax);
      g_.shr(ecx, 12 - k);  // the guest page
    }
    if (code_check) {
      g_.cmp(byte[r8 + rcx], 0);
      g_.jne(call, far);
    }
    // The machine address: rax << k (scaled in the access) when the guest's RAM is at machine
    // address 0, else in rax.
    int scale_shift = k;
    if (linear && ram_->linear_base == 0) {
      // as is
    } else if (linear) {
      if (k != 0) g_.shl(eax, k);
      g_.mov(rdx, ram_->linear_base);
      g_.add(rax, rdx);
      scale_shift = 0;
    } else {
      if (k != 0) g_.shl(eax, k);
      g_.mov(rdx, reinterpret_cast<uintptr_t>(ram_->machine_page));
      g_.mov(rdx, qword[rdx + rcx * 8]);
      g_.cmp(rdx, -1);
      g_.je(call, far);
      g_.and_(eax, 0xfff);
      g_.add(rax, rdx);
      scale_shift = 0;
    }
    g_.mov(rcx, rax);
    g_.shr(rcx, static_cast<int>(ram_->line_shift) - scale_shift);  // the line
    g_.mov(announcement(), rcx);  // announced
    g_.lea(edx, ptr[rcx + rcx]);  // 2 * (line & mask): the entry's read tag, in 8-byte words
    g_.and_(edx, static_cast<uint32_t>(2 * ram_->tag_mask));
    g_.cmp(qword[r10 + rdx * 8 + (write ? 8 : 0)], rcx);
    g_.jne(miss, far);
    if (leader) {
      g_.mov(rdx, rax);
      group_scale_ = scale_shift;
    }
    const Xbyak::RegExp at = r14 + rax * (1 << scale_shift);
    if (fpu && store) {
      if (size == 8) {
        g_.mov(rdx, fpr_pair(d.rt));
        g_.mov(qword[at], rdx);
      } else {
        g_.mov(edx, fpr(d.rt));
        g_.mov(dword[at], edx);
      }
    } else if (fpu) {
      if (size == 8) {
        g_.mov(rax, qword[at]);
        g_.mov(fpr_pair(d.rt), rax);
      } else {
        g_.mov(eax, dword[at]);
        g_.mov(fpr(d.rt), eax);
      }
    } else if (is_partial_load(d.op)) {
      load_into(d.op, eax, at);
    } else {
      plain_access(d, at, rt);
    }
    if (!leader) g_.mov(announcement(), -1);  // done (PcpuFilter::kNone): x86 stores are release stores
    if (is_partial_load(d.op) && d.rt != 0) merge_partial(d);
  }

  // LWL/LWR's merge of the word in eax into rt, b = the address's byte offset (in the frame's
  // spare word), as the interpreter does it: LWL rt = rt & ((1 << s) - 1) | w << s with
  // s = (3 - b) * 8; LWR rt = rt & ~(~0 >> s) | w >> s with s = b * 8.
  void merge_partial(const Decoded& d) {
    using namespace Xbyak::util;
    g_.mov(ecx, dword[rsp]);
    if (d.op == Op::LWL) {
      g_.not_(ecx);
      g_.and_(ecx, 3);
      g_.shl(ecx, 3);
      g_.shl(eax, cl);
      g_.mov(edx, 1);
      g_.shl(edx, cl);
      g_.sub(edx, 1);  // the bytes rt keeps
    } else {
      g_.and_(ecx, 3);
      g_.shl(ecx, 3);
      g_.shr(eax, cl);
      g_.mov(edx, -1);
      g_.shr(edx, cl);
      g_.not_(edx);  // the bytes rt keeps
    }
    g_.and_(edx, gpr(d.rt));
    g_.or_(eax, edx);
    g_.mov(gpr(d.rt), eax);
  }

  // eax = physical - virtual address, as the soft TLB maps kuseg address `vaddr`'s page in the current
  // ASID (its store half for a store), else to `miss`. Nothing is checked but the entry: kuseg
  // blocks run only with kuseg mapped (ERL clear) and the soft TLB in step with the vcpu's TLB,
  // which run() establishes before it enters one, and which nothing in a chain of kuseg blocks
  // can change (the CP0 instructions that can set ERL or write the TLB end a kuseg block back in
  // run(), as Interpreter::ends_block() says, and so do exceptions; a kernel block goes on into a
  // kuseg one only after an ERET whose fallback found the soft TLB in step). r8 = the load half
  // (the store half follows it: BlockCompiler::set_soft_tlb). Clobbers ecx.
  void soft_tlb_offset(const Xbyak::Reg32& vaddr, bool store, unsigned size, Xbyak::Label& miss) {
    using namespace Xbyak::util;
    const auto far = Xbyak::CodeGenerator::T_NEAR;
    g_.mov(ecx, vaddr);
    g_.and_(ecx, SoftTlbView::kPageMask | (size - 1));  // a misaligned address keeps bits an entry's key has not
    g_.or_(ecx, dword[context(kCtxAsidKey)]);  // the key
    g_.mov(eax, vaddr);
    g_.shr(eax, 12);
    g_.and_(eax, SoftTlbView::kEntries - 1);
    const auto half = static_cast<int32_t>(reinterpret_cast<const char*>(soft_tlb_->store) -
                                           reinterpret_cast<const char*>(soft_tlb_->load));
    const Xbyak::RegExp table = store ? r8 + half : Xbyak::RegExp(r8);
    g_.cmp(dword[table + rax * 8], ecx);
    g_.jne(miss, far);
    g_.mov(eax, dword[table + rax * 8 + 4]);
  }

  // The block's end, the next pc in r12d (and, after a conditional branch, r13b = taken): goes
  // on into the block compiled there, when the clock has not reached BlockContext::until, no
  // interrupt is pending (the dispatcher's checks between blocks) and there is one: in this
  // page's slots, or the jump cache. `taken` and `not_taken` are the targets known now (a
  // conditional branch has both, a jump one, JR none). Else the pc pair is written for the
  // dispatcher; the chained block needs it not.
  void end_block(std::optional<uint32_t> taken, std::optional<uint32_t> not_taken, bool to_kuseg = false) {
    using namespace Xbyak::util;
    const auto far = Xbyak::CodeGenerator::T_NEAR;
    flush();
    Xbyak::Label& out = labels_.emplace_back();  // cold chain lookups jump here too
    interrupt_or_clock(out);
    if (taken && not_taken) {
      Xbyak::Label was_taken;
      g_.test(r13b, r13b);
      g_.jnz(was_taken, far);
      chain_to(*not_taken, out);
      g_.L(was_taken);
      chain_to(*taken, out);
    } else if (taken) {
      chain_to(*taken, out);
    } else {
      chain_to_r12(out, to_kuseg);
    }
    g_.L(out);
    exit_to_dispatcher();
  }

  // The dispatcher's checks between blocks: to `out` (a cold-path label) when the clock has run
  // its budget in line or an interrupt is to be taken, else on. One compare while nothing
  // happened: BlockContext::limit is the budget, or 0 after whatever may have raised or unmasked
  // an interrupt; the cold path tells which and restores the limit.
  void interrupt_or_clock(Xbyak::Label& out) {
    using namespace Xbyak::util;
    const auto far = Xbyak::CodeGenerator::T_NEAR;
    Xbyak::Label& check = labels_.emplace_back();
    Xbyak::Label& go_on = labels_.emplace_back();
    g_.cmp(r15d, dword[context(kCtxLimit)]);
    g_.jae(check, far);
    g_.L(go_on);
    cold_.push_back([=, this, &check, &go_on, &out] {
      g_.L(check);
      g_.mov(eax, dword[context(kCtxBudget)]);
      g_.cmp(r15d, eax);  // the clock: it has run its budget in line
      g_.jae(out, far);
      g_.mov(dword[context(kCtxLimit)], eax);
      g_.mov(eax, dword[rbx + l_.status]);  // Interpreter::interrupt_pending()
      g_.mov(ecx, eax);
      g_.and_(ecx, 7);  // IE, EXL, ERL
      g_.cmp(ecx, 1);
      g_.jne(go_on, far);
      g_.and_(eax, dword[rbx + l_.cause]);
      g_.test(eax, 0xff00);  // IM & IP
      g_.jnz(out, far);
      g_.jmp(go_on, far);
    });
  }
  // The pc pair for the dispatcher, from r12d (and r13b).
  void exit_to_dispatcher() {
    using namespace Xbyak::util;
    materialize_r12();
    g_.mov(dword[rbx + l_.pc], r12d);
    g_.lea(eax, ptr[r12 + 4]);
    g_.mov(dword[rbx + l_.next_pc], eax);
    g_.mov(byte[rbx + l_.in_delay_slot], 0);
  }

  // The end of a block that branches to its own start (a loop; `not_taken` after a conditional
  // branch): as end_block(), but the way back to the start keeps the guest registers of the
  // cache in host registers. At the start they are what loop_head_ says (BlockCompiler::compile
  // learns it from emissions thrown away, whose back edge this records), and to_loop_head()
  // makes the back edge's cache so. Every other way out writes the cache back.
  void end_loop(std::optional<uint32_t> not_taken) {
    using namespace Xbyak::util;
    const auto far = Xbyak::CodeGenerator::T_NEAR;
    const Cache at_end = cache();
    back_edge_ = at_end;
    flush();
    Xbyak::Label& out = labels_.emplace_back();
    Xbyak::Label& leave_loop = labels_.emplace_back();
    interrupt_or_clock(leave_loop);
    Xbyak::Label other;
    // With the branch's condition waiting (condition_waits()), the ways out set r13b after the
    // cache is written back, for chain_to()'s lookups and exit_to_dispatcher().
    const auto taken_is = [&](bool taken) {
      if (waiting_condition_) g_.mov(r13b, taken);
    };
    if (waiting_condition_ && not_taken && loop_head_ && to_loop_head(at_end, false) == 0) {
      jump_if(*waiting_condition_, true, loop_);  // a back edge without moves: the compare's jump
      back_edge_cost_ = 0;
    } else {
      if (not_taken && waiting_condition_) {
        jump_if(*waiting_condition_, false, other);
      } else if (not_taken) {
        g_.test(r13b, r13b);
        g_.jz(other, far);
      }
      if (loop_head_) {
        back_edge_cost_ = to_loop_head(at_end);
        g_.jmp(loop_, far);
      } else {
        store_changed(at_end);
        taken_is(true);
        chain_to(pc_, out);
      }
    }
    if (not_taken) {
      g_.L(other);
      store_changed(at_end);
      taken_is(false);
      chain_to(*not_taken, out);
    }
    g_.L(leave_loop);
    store_changed(at_end);
    if (waiting_condition_) set_taken(*waiting_condition_);  // from the registers just stored
    g_.L(out);
    exit_to_dispatcher();
    cached_.fill(-1);  // written back on every way out
    dirty_.fill(false);
  }

  // The cache from `at` to loop_head_: registers the head does not hold are stored (when
  // changed), those it holds elsewhere are moved (eax breaks a cycle), and the rest loaded.
  // Answers how many instructions that took.
  unsigned to_loop_head(const Cache& at, bool emit = true) {
    using namespace Xbyak::util;
    const Cache& head = *loop_head_;
    unsigned instructions = 0;
    const auto mov = [&](const Xbyak::Operand& to, const Xbyak::Operand& from) {
      if (emit) g_.mov(to, from);
      ++instructions;
    };
    const auto where = [&](int r) { return holding(at.reg, r); };
    for (unsigned k = 0; k < kCacheRegs; ++k)
      if (at.reg[k] >= 0 && at.dirty[k] && holding(head.reg, at.reg[k]) < 0) mov(gpr(static_cast<unsigned>(at.reg[k])), cache_reg(k));
    // from[k]: the host register whose value k takes (-1: none to move; kCacheRegs: eax)
    std::array<int, kCacheRegs> from;
    for (unsigned k = 0; k < kCacheRegs; ++k) {
      const int j = head.reg[k] >= 0 ? where(head.reg[k]) : -1;
      from[k] = j == static_cast<int>(k) ? -1 : j;
    }
    const auto source = [&](int j) {
      for (unsigned k = 0; k < kCacheRegs; ++k)
        if (from[k] == j) return true;
      return false;
    };
    for (bool moved = true; moved;) {
      moved = false;
      for (unsigned k = 0; k < kCacheRegs; ++k) {
        if (from[k] < 0 || source(static_cast<int>(k))) continue;  // k's value is still to go elsewhere
        mov(cache_reg(k), from[k] == static_cast<int>(kCacheRegs) ? eax : cache_reg(static_cast<unsigned>(from[k])));
        from[k] = -1;
        moved = true;
      }
      if (moved) continue;
      for (unsigned k = 0; k < kCacheRegs; ++k) {
        if (from[k] < 0) continue;
        mov(eax, cache_reg(k));  // a cycle: k's value waits in eax
        for (unsigned i = 0; i < kCacheRegs; ++i)
          if (from[i] == static_cast<int>(k)) from[i] = static_cast<int>(kCacheRegs);
        moved = true;
        break;
      }
    }
    for (unsigned k = 0; k < kCacheRegs; ++k)
      if (head.reg[k] >= 0 && where(head.reg[k]) < 0) mov(cache_reg(k), gpr(static_cast<unsigned>(head.reg[k])));
    return instructions;
  }

  // Jumps into the block compiled for `target`, whose slot or jump-cache entry is known now.
  // Within the page, one direct jump: it goes to a lookup in the slot (cold code) until that
  // finds the block, which then patches the jump to go straight there from now on. Blocks of a
  // page die together (their code stays until BlockCompiler::clear()), so a patched jump never
  // outlives the block it enters.
  void chain_to(uint32_t target, Xbyak::Label& out) {
    using namespace Xbyak::util;
    if (((target ^ pc_) & kPageMask) == 0) {
      const uint8_t* site = g_.getCurr();
      Xbyak::Label& lookup = labels_.emplace_back();
      g_.jmp(lookup, Xbyak::CodeGenerator::T_NEAR);  // E9 rel32: the rel32 is patched
      cold_.push_back([=, this, &lookup, &out] {
        g_.L(lookup);
        g_.mov(esi, target);
        g_.mov(rax, reinterpret_cast<uintptr_t>(&slots_[(target >> 2) % kSlotsPerPage]));
        enter_slot(esi, out, site);
      });
      return;
    }
    g_.mov(esi, target);
    if (jumps_ != nullptr && target - 0x80000000u < 0x40000000u) {  // kseg0/kseg1: fixed translation
      g_.mov(rax, reinterpret_cast<uintptr_t>(&jumps_[(target >> 2) % jump_entries_]));
      enter_jump(esi, out);
    } else if (jumps_ != nullptr && user_ && target < 0x80000000u) {
      enter_user_jump(out);
    } else {
      g_.jmp(out, Xbyak::CodeGenerator::T_NEAR);
    }
  }

  // The same for the pc in r12d, known only now (JR, JALR; ERET, which may go from a kernel
  // block to a kuseg one: `to_kuseg`).
  void chain_to_r12(Xbyak::Label& out, bool to_kuseg = false) {
    using namespace Xbyak::util;
    const auto far = Xbyak::CodeGenerator::T_NEAR;
    Xbyak::Label other_page;
    g_.mov(eax, r12d);
    g_.xor_(eax, pc_);
    g_.test(eax, kPageMask);
    g_.jnz(other_page, far);
    entry_for(r12d, slots_, kSlotsPerPage);
    enter_slot(r12d, out);
    g_.L(other_page);
    if (jumps_ == nullptr) {
      g_.jmp(out, far);
      return;
    }
    if (user_ || to_kuseg) {  // a kuseg target: through the soft TLB and the jump cache
      Xbyak::Label kernel;
      g_.test(r12d, r12d);
      // a user's jump out of kuseg: the dispatcher raises its address error; an ERET's: below
      g_.js(user_ ? out : kernel, far);
      g_.mov(esi, r12d);
      enter_user_jump(out);
      if (user_) return;
      g_.L(kernel);
    }
    g_.lea(eax, ptr[r12 - 0x80000000]);  // kseg0/kseg1 only: their translation is fixed
    g_.cmp(eax, 0x40000000);
    g_.jae(out, far);
    entry_for(r12d, jumps_, jump_entries_);
    enter_jump(r12d, out);
  }

  // rax = &table[(pc >> 2) % entries] (entries a power of two), as chain_to() finds the entry
  // at compile time.
  template <class Entry>
  void entry_for(const Xbyak::Reg32& pc, const Entry* table, uint32_t entries) {
    using namespace Xbyak::util;
    static_assert(std::has_single_bit(sizeof(Entry)));
    g_.mov(eax, pc);
    g_.shr(eax, 2);
    g_.and_(eax, entries - 1);
    g_.shl(eax, std::countr_zero(sizeof(Entry)));
    g_.mov(rcx, reinterpret_cast<uintptr_t>(table));
    g_.add(rax, rcx);
  }

  // rax = a page slot: enters its block if it was compiled for `pc`, else to `out`; and first
  // points the jump at `site` (chain_to()'s), when given, straight at that block.
  void enter_slot(const Xbyak::Reg32& pc, Xbyak::Label& out, const uint8_t* site = nullptr) {
    using namespace Xbyak::util;
    g_.cmp(dword[rax + kSlotPc], pc);
    g_.jne(out, Xbyak::CodeGenerator::T_NEAR);
    g_.mov(rdx, qword[rax + kSlotCode]);
    g_.test(rdx, rdx);
    g_.jz(out, Xbyak::CodeGenerator::T_NEAR);
    g_.add(rdx, prologue_bytes_);  // past the entry's pushes: this frame serves the next block
    if (site != nullptr) {
      g_.mov(rcx, rdx);
      g_.mov(rdi, reinterpret_cast<uintptr_t>(site + 5));
      g_.sub(rcx, rdi);  // rel32 from the jump's end (the code buffer is far below 2 GiB)
      g_.mov(dword[rdi - 4], ecx);
    }
    g_.jmp(rdx);
  }
  // rax = a jump-cache entry: enters its block if it holds `pc` and no code was dropped since.
  void enter_jump(const Xbyak::Reg32& pc, Xbyak::Label& out) {
    using namespace Xbyak::util;
    g_.cmp(dword[rax + kJumpPc], pc);
    g_.jne(out, Xbyak::CodeGenerator::T_NEAR);
    g_.mov(rcx, reinterpret_cast<uintptr_t>(code_generation_));
    g_.mov(rcx, qword[rcx]);
    g_.cmp(qword[rax + kJumpGeneration], rcx);
    g_.jne(out, Xbyak::CodeGenerator::T_NEAR);
    g_.mov(rdx, qword[rax + kJumpCode]);
    enter_rdx();
  }
  // esi = a kuseg pc: enters the block the jump cache holds for it when that block was compiled
  // from the physical page the soft TLB maps the pc to now (the process at this pc runs the same
  // code: every busybox process shares its text) and no code was dropped since.
  void enter_user_jump(Xbyak::Label& out) {
    using namespace Xbyak::util;
    // What kuseg blocks keep in r8 (a kernel block's code_pages is not needed on the way out)
    if (!user_) g_.mov(r8, reinterpret_cast<uintptr_t>(soft_tlb_->load));
    soft_tlb_offset(esi, false, 4, out);  // a fetch translates as a word load does
    g_.mov(edx, eax);
    entry_for(esi, jumps_, jump_entries_);
    g_.cmp(dword[rax + kJumpOffset], edx);
    g_.jne(out, Xbyak::CodeGenerator::T_NEAR);
    enter_jump(esi, out);
  }
  void enter_rdx() {
    using namespace Xbyak::util;
    g_.add(rdx, prologue_bytes_);  // past the entry's pushes: this frame serves the next block
    g_.jmp(rdx);
  }

  void leave() {
    using namespace Xbyak::util;
    g_.L(exit_);
    g_.mov(qword[context(kCtxPending)], r15);
    g_.add(rsp, kFrame);
    g_.pop(r15);
    g_.pop(r14);
    g_.pop(r13);
    g_.pop(r12);
    g_.pop(rbp);
    g_.pop(rbx);
    g_.ret();
  }

  // A conditional branch leaves r12d unset on the way the block goes on, which needs only r13b;
  // where r12d is read (a fallback or store call in the delay slot, the block's exit to run()),
  // it is made from r13b here. A block has one branch, its last instruction but the slot.
  void materialize_r12() {
    using namespace Xbyak::util;
    if (!lazy_r12_) return;
    g_.mov(r12d, lazy_r12_->second);
    g_.mov(eax, lazy_r12_->first);
    g_.test(r13b, r13b);
    g_.cmovnz(r12d, eax);
  }

  // r13b = taken, and r12d = the pc after the delay slot: a conditional branch only says so
  // (materialize_r12()). Links are written here, after rs is read. The cache holds no guest
  // register in the host registers it sets (forget_branch_registers()).
  void branch(const Decoded& d, uint32_t pc) {
    using namespace Xbyak::util;
    const uint32_t not_taken = pc + 8;
    const uint32_t target = taken_target(d, pc).value_or(0);
    switch (d.op) {
      case Op::BEQ: case Op::BNE: case Op::BLEZ: case Op::BGTZ: case Op::BLTZ: case Op::BLTZAL: case Op::BGEZ:
      case Op::BGEZAL:
        set_taken(d);
        lazy_r12_ = {target, not_taken};
        break;
      case Op::J: case Op::JAL:
        g_.mov(r12d, target);
        g_.mov(r13d, 1);
        break;
      case Op::JR: case Op::JALR:
        g_.mov(r12d, read(d.rs));
        g_.mov(r13d, 1);
        break;
      default:
        break;
    }
    if (d.op == Op::BLTZAL || d.op == Op::BGEZAL || d.op == Op::JAL) {
      forget(31);
      g_.mov(gpr(31), not_taken);
    }
    if (d.op == Op::JALR && d.rd != 0) {
      forget(d.rd);
      g_.mov(gpr(d.rd), not_taken);
    }
  }

  // The x86 condition under which conditional branch `d` is taken, its operands compared.
  enum class Taken { E, NE, LE, G, L, GE };
  Taken compare(const Decoded& d) {
    using namespace Xbyak::util;
    if ((d.op == Op::BEQ || d.op == Op::BNE) && d.rt != 0) {
      g_.mov(eax, read(d.rs));
      g_.cmp(eax, read(d.rt));
    } else if (const int k = holding(cached_, static_cast<int>(d.rs)); k >= 0) {
      g_.test(cache_reg(static_cast<unsigned>(k)), cache_reg(static_cast<unsigned>(k)));
    } else {
      g_.cmp(gpr(d.rs), 0);
    }
    switch (d.op) {
      case Op::BEQ: return Taken::E;
      case Op::BNE: return Taken::NE;
      case Op::BLEZ: return Taken::LE;
      case Op::BGTZ: return Taken::G;
      case Op::BLTZ: case Op::BLTZAL: return Taken::L;
      default: return Taken::GE;  // BGEZ, BGEZAL
    }
  }
  // r13b = whether conditional branch `d` is taken.
  void set_taken(const Decoded& d) {
    using namespace Xbyak::util;
    switch (compare(d)) {
      case Taken::E: g_.sete(r13b); break;
      case Taken::NE: g_.setne(r13b); break;
      case Taken::LE: g_.setle(r13b); break;
      case Taken::G: g_.setg(r13b); break;
      case Taken::L: g_.setl(r13b); break;
      case Taken::GE: g_.setge(r13b); break;
    }
  }
  // To `to` when conditional branch `d` is taken (`taken`), or when it is not.
  void jump_if(const Decoded& d, bool taken, Xbyak::Label& to) {
    const auto far = Xbyak::CodeGenerator::T_NEAR;
    switch (compare(d)) {
      case Taken::E: taken ? g_.je(to, far) : g_.jne(to, far); break;
      case Taken::NE: taken ? g_.jne(to, far) : g_.je(to, far); break;
      case Taken::LE: taken ? g_.jle(to, far) : g_.jg(to, far); break;
      case Taken::G: taken ? g_.jg(to, far) : g_.jle(to, far); break;
      case Taken::L: taken ? g_.jl(to, far) : g_.jge(to, far); break;
      case Taken::GE: taken ? g_.jge(to, far) : g_.jl(to, far); break;
    }
  }
  // Whether a loop's conditional branch `d` can compare at the back edge, after its delay slot:
  // the slot is an ALU instruction done in line (no cold path reads r13b) that writes neither
  // operand (its register fields name neither), and the branch links nothing.
  static bool condition_waits(const Decoded& d, const Decoded& slot) {
    switch (d.op) {
      case Op::BEQ: case Op::BNE: case Op::BLEZ: case Op::BGTZ: case Op::BLTZ: case Op::BGEZ: break;
      default: return false;
    }
    if (is_access(slot.op) || !BlockCompiler::inline_op(slot.op)) return false;
    const auto names = [&](unsigned r) { return r != 0 && (slot.rt == r || slot.rd == r); };
    return !names(d.rs) && !((d.op == Op::BEQ || d.op == Op::BNE) && names(d.rt));
  }

  // A CACHE that changes nothing the guest sees, in a kernel block (kernel mode: CP0 is usable):
  // nothing at all unless a monitor wants to know (BlockContext::cache).
  void cache_op(uint32_t pc) {
    using namespace Xbyak::util;
    Xbyak::Label bare;
    g_.cmp(qword[context(kCtxCache)], 0);
    g_.je(bare, Xbyak::CodeGenerator::T_NEAR);
    const uint64_t counted = packed();  // the call sees the counts before it; after it r15 takes them back
    add_r15(counted);
    g_.lea(rdi, ptr[context(0)]);
    g_.mov(esi, pc);
    call(qword[context(kCtxCache)]);
    add_r15(-counted);
    g_.L(bare);
  }

  // MFC0 and MTC0 of the registers where they are a plain load or masked store, and DI/EI, in
  // kseg0/kseg1 blocks: those run in kernel mode only, where CP0 is usable.
  // And MFC0 Count in bare mode (a monitor intercepts it).
  bool in_line_cp0(const Decoded& d) const {
    return pc_ - 0x80000000u < 0x40000000u && (plain_cp0_move(d) || (bare_ && reads_count(d)));
  }
  // MTC0 Status in a kernel block, bare mode: in line unless it enters user mode (whose
  // accounting, Interpreter::user_mode_may_have_begun, is the interpreter's). The block ends
  // after it, as the interpreter's does, and its end looks for an interrupt it unmasked
  // (BlockContext::limit); the next block is a kernel one, whatever else changed.
  bool writes_status(const Decoded& d) const {
    return bare_ && pc_ - 0x80000000u < 0x40000000u && d.op == Op::MTC0 && cp0_register(d) == cp0::Status;
  }
  void status_write(const Decoded& d, unsigned i, uint32_t pc) {
    using namespace Xbyak::util;
    const auto far = Xbyak::CodeGenerator::T_NEAR;
    Xbyak::Label& cold = labels_.emplace_back();
    Xbyak::Label kernel;
    written(d, cp0::Status);  // the new Status: user mode unless EXL or ERL, or KSU says kernel
    g_.test(ecx, StatusBits::EXL | StatusBits::ERL);
    g_.jnz(kernel);
    g_.mov(edx, ecx);
    g_.and_(edx, StatusBits::KSU);
    g_.cmp(edx, StatusBits::UM);
    g_.je(cold, far);
    g_.L(kernel);
    g_.mov(dword[rbx + l_.status], ecx);
    g_.mov(dword[context(kCtxLimit)], 0);
    const uint32_t pending = pending_, pending_hits = pending_hits_;
    cold_.push_back([=, this, &cold] {
      pending_ = pending;  // as at the instruction
      pending_hits_ = pending_hits;
      g_.L(cold);
      fallback(i, pc, false);
      g_.jmp(exit_, far);  // committed by the interpreter: the block's last instruction
    });
  }
  static bool reads_count(const Decoded& d) { return d.op == Op::MFC0 && cp0_register(d) == cp0::Count; }
  // ecx = what MTC0 `d` makes CP0 register `id`, as Cp0::write does: the bits of the mask from
  // rt, the rest kept. Clobbers eax.
  const Xbyak::Reg32& written(const Decoded& d, Cp0Id id) {
    using namespace Xbyak::util;
    g_.mov(eax, gpr(d.rt));
    g_.mov(ecx, dword[rbx + at(&layout_vcpu().cp0.raw(id))]);
    g_.xor_(eax, ecx);
    g_.and_(eax, dword[rbx + at(&layout_vcpu().cp0.write_mask(id))]);
    g_.xor_(ecx, eax);
    return ecx;
  }
  void cp0_move(const Decoded& d) {
    using namespace Xbyak::util;
    if (reads_count(d)) {  // Cp0::count() of the cycles now: the Vcpu's and those run in line since
      g_.mov(eax, r15d);
      g_.add(eax, pending_);
      g_.add(rax, qword[rbx + l_.cycles]);
      g_.sub(rax, qword[rbx + l_.cycles_base]);
      g_.shr(rax, 1);
      g_.add(eax, dword[rbx + l_.count_base]);
      if (d.rt != 0) g_.mov(gpr(d.rt), eax);
    } else if (d.op == Op::DI || d.op == Op::EI) {  // rt = Status; Status.IE cleared or set
      g_.mov(eax, dword[rbx + l_.status]);
      if (d.rt != 0) g_.mov(gpr(d.rt), eax);
      if (d.op == Op::DI) {
        g_.and_(eax, ~StatusBits::IE);
      } else {
        g_.or_(eax, StatusBits::IE);
        g_.mov(dword[context(kCtxLimit)], 0);  // an interrupt it unmasks is taken at the block's end
      }
      g_.mov(dword[rbx + l_.status], eax);
    } else {
      const Cp0Id id = cp0_register(d);
      const int32_t value = at(&layout_vcpu().cp0.raw(id));
      if (d.op == Op::MFC0) {
        if (d.rt != 0) {
          g_.mov(eax, dword[rbx + value]);
          g_.mov(gpr(d.rt), eax);
        }
      } else {
        g_.mov(dword[rbx + value], written(d, id));
      }
    }
    g_.add(qword[context(kCtxCp0Moves)], 1);
  }

  // The host register holding guest register `r`, brought in (loaded when `load`) and kept from
  // eviction for the instruction at hand (`hold`); an empty one, else the one needed latest
  // (evicted_first()), makes room.
  Xbyak::Reg32 cached(unsigned r, bool load, unsigned& hold) {
    const int at = holding(cached_, static_cast<int>(r));
    unsigned k = at < 0 ? kCacheRegs : static_cast<unsigned>(at);
    if (k == kCacheRegs) {
      const auto distance = distances(at_);
      for (unsigned j = 0; j < kCacheRegs; ++j) {
        if (hold >> j & 1 || j >= branch_regs_) continue;
        if (cached_[j] < 0) {
          k = j;
          break;
        }
        if (k == kCacheRegs || evicted_first(j, k, distance)) k = j;
      }
      spill(k);
      cached_[k] = static_cast<int>(r);
      if (load) g_.mov(cache_reg(k), gpr(r));
    }
    used_[k] = ++tick_;
    hold |= 1u << k;
    return cache_reg(k);
  }
  // How many instructions from insts_[from] on until one reads guest register r (counting on
  // through the start of a block that loops); ~0 when none does, or one overwrites it first. The
  // register allocation's guide (Belady's rule): a guess from the fields, enough for that.
  uint32_t next_use(int r, unsigned from) const {
    const auto use = [&](unsigned j) {  // 1 read, -1 overwritten unread, 0 neither
      const Decoded& d = insts_[j];
      if (d.op == Op::J || d.op == Op::JAL) return 0;  // their fields are the target
      const Destination to = plain_destination(d.op);
      if ((d.rs == r && leader_of_[j] < 0) || (d.rt == r && to != Destination::kRt)) return 1;
      return (to == Destination::kRt ? d.rt : to == Destination::kRd ? d.rd : -1) == r ? -1 : 0;
    };
    for (unsigned j = from; j < count_; ++j)
      if (const int u = use(j); u != 0) return u > 0 || j == from ? j - from : ~0u;  // the instruction at hand writes it: in use
    if (loops_)
      for (unsigned j = 0; j < std::min(from, count_); ++j)
        if (const int u = use(j); u != 0) return u > 0 ? count_ - from + j : ~0u;
    return ~0u;
  }
  // next_use() of every cached register from insts_[from] on, once for one choice.
  std::array<uint32_t, kCacheRegs> distances(unsigned from) const {
    std::array<uint32_t, kCacheRegs> d{};
    for (unsigned k = 0; k < kCacheRegs; ++k)
      if (cached_[k] >= 0) d[k] = next_use(cached_[k], from);
    return d;
  }
  // Whether host register j's guest register should leave the cache before k's: it is needed
  // later (`distance`: distances()), or as late and unchanged, or as late, as changed and less
  // recently used.
  bool evicted_first(unsigned j, unsigned k, const std::array<uint32_t, kCacheRegs>& distance) const {
    const uint32_t nj = distance[j], nk = distance[k];
    if (nj != nk) return nj > nk;
    if (dirty_[j] != dirty_[k]) return !dirty_[j];
    return used_[j] < used_[k];
  }
  void dirty(unsigned r) {
    if (const int k = holding(cached_, static_cast<int>(r)); k >= 0) dirty_[k] = true;
  }
  // Host register k forgets its guest register, storing it first when it changed.
  void spill(unsigned k) {
    if (cached_[k] >= 0 && dirty_[k]) g_.mov(gpr(static_cast<unsigned>(cached_[k])), cache_reg(k));
    cached_[k] = -1;
    dirty_[k] = false;
  }
  void write_back() {
    for (unsigned k = 0; k < kCacheRegs; ++k) spill(k);
  }
  // alu() reads and writes the Vcpu's registers: those `d` names leave the cache (or whatever its
  // fields name: forgetting more is harmless).
  void forget_named(const Decoded& d) {
    forget(d.rs);
    forget(d.rt);
    forget(d.rd);
  }
  // From the branch on, the cache registers from `first` on are the branch's (r13d, and r12d
  // from kR12): their guest registers leave. A leaving one needed sooner (from the branch itself
  // on: its operands, then the delay slot's) than one of the others takes that one's place.
  void forget_branch_registers(unsigned first) {
    auto distance = distances(at_);
    for (unsigned k = first; k < kCacheRegs; ++k) {
      unsigned j = 0;
      for (unsigned i = 1; i < first; ++i)
        if (cached_[j] >= 0 && (cached_[i] < 0 || evicted_first(i, j, distance))) j = i;
      if (cached_[k] >= 0 && (cached_[j] < 0 || evicted_first(j, k, distance))) {
        spill(j);
        g_.mov(cache_reg(j), cache_reg(k));
        distance[j] = distance[k];
        cached_[j] = cached_[k];
        dirty_[j] = dirty_[k];
        used_[j] = used_[k];
        cached_[k] = -1;
        dirty_[k] = false;
      }
      spill(k);
    }
    branch_regs_ = first;
  }
  // Guest register r to read: its host register when cached, else its word in the Vcpu (valid
  // until the next call).
  const Xbyak::Operand& read(unsigned r) {
    if (const int k = holding(cached_, static_cast<int>(r)); k >= 0) return cache_reg(static_cast<unsigned>(k));
    return read_address_.emplace(gpr(r));
  }
  // Guest register r no longer cached (stored first when it changed).
  void forget(unsigned r) {
    if (const int k = holding(cached_, static_cast<int>(r)); k >= 0) spill(static_cast<unsigned>(k));
  }
  // `d` through the cache when it is one of the simplest ALU instructions and names no r0.
  bool cached_alu(const Decoded& d) {
    using namespace Xbyak::util;
    unsigned hold = 0;
    // A source into a destination of its own: from its host register, or else straight from the
    // Vcpu (not brought into the cache, where it would cost an eviction).
    std::optional<Xbyak::Address> in_vcpu[2];
    const auto source = [&](unsigned r, unsigned which) -> const Xbyak::Operand& {
      if (const int k = holding(cached_, static_cast<int>(r)); k >= 0) {
        hold |= 1u << k;
        used_[static_cast<unsigned>(k)] = ++tick_;
        return cache_reg(static_cast<unsigned>(k));
      }
      return in_vcpu[which].emplace(gpr(r));
    };
    const auto three = [&](auto&& op, bool commutative) {  // rd = rs op rt
      if (d.rd == 0 || d.rs == 0 || d.rt == 0) return false;
      if (d.rd != d.rs && d.rd != d.rt) {
        const Xbyak::Operand& rs = source(d.rs, 0);
        const Xbyak::Operand& rt = source(d.rt, 1);
        const Xbyak::Reg32 rd = cached(d.rd, false, hold);
        g_.mov(rd, rs);
        op(rd, rt);
        dirty(d.rd);
        return true;
      }
      const Xbyak::Reg32 rs = cached(d.rs, true, hold), rt = cached(d.rt, true, hold);
      const Xbyak::Reg32 rd = cached(d.rd, false, hold);
      if (d.rd == d.rs) {
        op(rd, rt);
      } else if (d.rd == d.rt && commutative) {
        op(rd, rs);
      } else {  // rd == rt, not commutative
        g_.mov(eax, rs);
        op(eax, rt);
        g_.mov(rd, eax);
      }
      dirty(d.rd);
      return true;
    };
    const auto immediate = [&](auto&& op) {  // rt = rs op imm
      if (d.rt == 0 || d.rs == 0) return false;
      const Xbyak::Reg32 rs = cached(d.rs, true, hold), rt = cached(d.rt, false, hold);
      if (d.rt != d.rs) g_.mov(rt, rs);
      op(rt);
      dirty(d.rt);
      return true;
    };
    const auto shift = [&](auto&& op) {  // rd = rt shifted by sa
      if (d.rd == 0 || d.rt == 0) return false;
      const Xbyak::Reg32 rt = cached(d.rt, true, hold), rd = cached(d.rd, false, hold);
      if (d.rd != d.rt) g_.mov(rd, rt);
      if (d.sa != 0) op(rd, d.sa);
      dirty(d.rd);
      return true;
    };
    const auto set = [&](unsigned dest, auto&& cmp, auto&& setcc) {  // dest = 1 when the compare holds
      const bool with_rt = d.op == Op::SLT || d.op == Op::SLTU;  // else against the immediate
      if (dest == 0 || d.rs == 0 || (with_rt && d.rt == 0)) return false;
      const Xbyak::Reg32 rs = cached(d.rs, true, hold);
      const Xbyak::Reg32 rt = with_rt ? cached(d.rt, true, hold) : rs;
      const Xbyak::Reg32 out = cached(dest, false, hold);
      const bool apart = out != rs && out != rt;  // zeroed before the compare, it is set in place
      const Xbyak::Reg32& to = apart ? out : eax;
      g_.xor_(to, to);
      cmp(rs, rt);
      setcc(to.cvt8());
      if (!apart) g_.mov(out, eax);
      dirty(dest);
      if (d.op == Op::SLTU || d.op == Op::SLTIU) carry_ = {at_, dest};
      return true;
    };
    // ADDU right after the SLTU or SLTIU whose result it adds, as multi-word arithmetic does:
    // the compare's carry flag is that result still (only moves came between), and `adc` adds it
    // without waiting for the setcc.
    const auto add_carry = [&]() {
      const auto [at, c] = carry_;
      if (at_ == 0 || at + 1 != at_ || d.rd == c || d.rd == 0 || (d.rs == c) == (d.rt == c)) return false;
      const unsigned other = d.rs == c ? d.rt : d.rs;
      if (other == 0) return false;
      if (d.rd == other) {
        g_.adc(cached(d.rd, true, hold), 0);
      } else {
        const Xbyak::Operand& from = source(other, 0);
        const Xbyak::Reg32 rd = cached(d.rd, false, hold);
        g_.mov(rd, from);
        g_.adc(rd, 0);
      }
      dirty(d.rd);
      return true;
    };
    const auto simm = static_cast<uint32_t>(d.simm);
    using R = const Xbyak::Reg32&;
    using O = const Xbyak::Operand&;
    switch (d.op) {
      case Op::ADDU: return add_carry() || three([&](R x, O y) { g_.add(x, y); }, true);
      case Op::SUBU: return three([&](R x, O y) { g_.sub(x, y); }, false);
      case Op::AND: return three([&](R x, O y) { g_.and_(x, y); }, true);
      case Op::OR: return three([&](R x, O y) { g_.or_(x, y); }, true);
      case Op::XOR: return three([&](R x, O y) { g_.xor_(x, y); }, true);
      case Op::MUL: return three([&](R x, O y) { g_.imul(x, y); }, true);
      case Op::ADDIU: return immediate([&](R x) { g_.add(x, simm); });
      case Op::ANDI: return immediate([&](R x) { g_.and_(x, uint32_t{d.imm}); });
      case Op::ORI: return immediate([&](R x) { g_.or_(x, uint32_t{d.imm}); });
      case Op::XORI: return immediate([&](R x) { g_.xor_(x, uint32_t{d.imm}); });
      case Op::LUI: {
        if (d.rt == 0) return false;
        g_.mov(cached(d.rt, false, hold), uint32_t{d.imm} << 16);
        dirty(d.rt);
        return true;
      }
      case Op::SLT: return set(d.rd, [&](R x, R y) { g_.cmp(x, y); }, [&](const Xbyak::Reg8& b) { g_.setl(b); });
      case Op::SLTU: return set(d.rd, [&](R x, R y) { g_.cmp(x, y); }, [&](const Xbyak::Reg8& b) { g_.setb(b); });
      case Op::SLTI: return set(d.rt, [&](R x, R) { g_.cmp(x, simm); }, [&](const Xbyak::Reg8& b) { g_.setl(b); });
      case Op::SLTIU: return set(d.rt, [&](R x, R) { g_.cmp(x, simm); }, [&](const Xbyak::Reg8& b) { g_.setb(b); });
      case Op::SLL: return shift([&](R x, int sa) { g_.shl(x, sa); });
      case Op::SRL: return shift([&](R x, int sa) { g_.shr(x, sa); });
      case Op::SRA: return shift([&](R x, int sa) { g_.sar(x, sa); });
      case Op::ROTR: return shift([&](R x, int sa) { g_.ror(x, sa); });
      default: return false;
    }
  }

  // One inline_op() instruction. A write to r0 is dropped (r0 stays 0 in the Vcpu).
  void alu(const Decoded& d) {
    using namespace Xbyak::util;
    const auto store = [&](unsigned r, const Xbyak::Reg32& value) {
      if (r != 0) g_.mov(gpr(r), value);
    };
    // The forms below work on a register in place (rd == rs, say) when they can: one x86
    // instruction on the vcpu's register instead of a load, the operation and a store.
    const auto binary = [&](auto&& op) {  // rd = rs op rt
      if (d.rd == 0) return;
      g_.mov(eax, gpr(d.rs));
      op(gpr(d.rt));
      store(d.rd, eax);
    };
    const auto in_place = [&](auto&& op, bool commutative) {  // rd = rs op rt, op(x, y): x op= y
      if (d.rd == 0) return;
      if (d.rd == d.rs || (commutative && d.rd == d.rt)) {
        g_.mov(eax, gpr(d.rd == d.rs ? d.rt : d.rs));
        op(gpr(d.rd), eax);
      } else {
        g_.mov(eax, gpr(d.rs));
        op(eax, gpr(d.rt));
        store(d.rd, eax);
      }
    };
    const auto immediate = [&](auto&& op) {  // rt = rs op imm, op(x): x op= imm
      if (d.rt == 0) return;
      if (d.rt == d.rs) {
        op(gpr(d.rt));
        return;
      }
      g_.mov(eax, gpr(d.rs));
      op(eax);
      store(d.rt, eax);
    };
    const auto shift = [&](auto&& op) {  // rd = rt shifted by sa, op(x, sa): x shifted by sa
      if (d.rd == 0) return;
      if (d.rd == d.rt) {
        if (d.sa != 0) op(gpr(d.rd), d.sa);
        return;
      }
      g_.mov(eax, gpr(d.rt));
      if (d.sa != 0) op(eax, d.sa);
      store(d.rd, eax);
    };
    const auto shift_variable = [&](auto&& op) {  // rd = rt shifted by rs & 31 (x86 masks cl alike)
      if (d.rd == 0) return;
      g_.mov(ecx, gpr(d.rs));
      g_.mov(eax, gpr(d.rt));
      op();
      store(d.rd, eax);
    };
    const auto compare = [&](unsigned dest, auto&& cmp, auto&& set) {
      if (dest == 0) return;
      g_.mov(eax, gpr(d.rs));
      cmp();
      set();
      g_.movzx(eax, al);
      store(dest, eax);
    };
    const auto simm = static_cast<uint32_t>(d.simm);
    switch (d.op) {
      case Op::ADDU: in_place([&](const Xbyak::Operand& x, const Xbyak::Operand& y) { g_.add(x, y); }, true); break;
      case Op::SUBU: in_place([&](const Xbyak::Operand& x, const Xbyak::Operand& y) { g_.sub(x, y); }, false); break;
      case Op::AND: in_place([&](const Xbyak::Operand& x, const Xbyak::Operand& y) { g_.and_(x, y); }, true); break;
      case Op::OR: in_place([&](const Xbyak::Operand& x, const Xbyak::Operand& y) { g_.or_(x, y); }, true); break;
      case Op::XOR: in_place([&](const Xbyak::Operand& x, const Xbyak::Operand& y) { g_.xor_(x, y); }, true); break;
      case Op::NOR: binary([&](const Xbyak::Address& rt) { g_.or_(eax, rt); g_.not_(eax); }); break;
      case Op::MUL: binary([&](const Xbyak::Address& rt) { g_.imul(eax, rt); }); break;
      case Op::ADDIU: immediate([&](const Xbyak::Operand& x) { g_.add(x, simm); }); break;
      case Op::ANDI: immediate([&](const Xbyak::Operand& x) { g_.and_(x, uint32_t{d.imm}); }); break;
      case Op::ORI: immediate([&](const Xbyak::Operand& x) { g_.or_(x, uint32_t{d.imm}); }); break;
      case Op::XORI: immediate([&](const Xbyak::Operand& x) { g_.xor_(x, uint32_t{d.imm}); }); break;
      case Op::LUI:
        if (d.rt != 0) g_.mov(gpr(d.rt), uint32_t{d.imm} << 16);
        break;
      case Op::SLT: compare(d.rd, [&] { g_.cmp(eax, gpr(d.rt)); }, [&] { g_.setl(al); }); break;
      case Op::SLTU: compare(d.rd, [&] { g_.cmp(eax, gpr(d.rt)); }, [&] { g_.setb(al); }); break;
      case Op::SLTI: compare(d.rt, [&] { g_.cmp(eax, simm); }, [&] { g_.setl(al); }); break;
      case Op::SLTIU: compare(d.rt, [&] { g_.cmp(eax, simm); }, [&] { g_.setb(al); }); break;
      case Op::SLL: shift([&](const Xbyak::Operand& x, int sa) { g_.shl(x, sa); }); break;
      case Op::SRL: shift([&](const Xbyak::Operand& x, int sa) { g_.shr(x, sa); }); break;
      case Op::SRA: shift([&](const Xbyak::Operand& x, int sa) { g_.sar(x, sa); }); break;
      case Op::ROTR: shift([&](const Xbyak::Operand& x, int sa) { g_.ror(x, sa); }); break;
      case Op::SLLV: shift_variable([&] { g_.shl(eax, cl); }); break;
      case Op::SRLV: shift_variable([&] { g_.shr(eax, cl); }); break;
      case Op::SRAV: shift_variable([&] { g_.sar(eax, cl); }); break;
      case Op::ROTRV: shift_variable([&] { g_.ror(eax, cl); }); break;
      case Op::MOVZ: case Op::MOVN: {
        if (d.rd == 0) break;
        Xbyak::Label skip;
        g_.cmp(gpr(d.rt), 0);
        if (d.op == Op::MOVZ) g_.jne(skip); else g_.je(skip);
        g_.mov(eax, gpr(d.rs));
        store(d.rd, eax);
        g_.L(skip);
        break;
      }
      case Op::SEB:
        if (d.rd != 0) { g_.movsx(eax, byte[rbx + (l_.gpr + 4 * d.rt)]); store(d.rd, eax); }
        break;
      case Op::SEH:
        if (d.rd != 0) { g_.movsx(eax, word[rbx + (l_.gpr + 4 * d.rt)]); store(d.rd, eax); }
        break;
      case Op::WSBH:  // the bytes of each halfword swapped: all four reversed, then the halves
        if (d.rd != 0) {
          g_.mov(eax, gpr(d.rt));
          g_.bswap(eax);
          g_.ror(eax, 16);
          store(d.rd, eax);
        }
        break;
      case Op::EXT: {  // rd = msbd, sa = lsb
        if (d.rt == 0) break;
        const unsigned size = d.rd + 1u;
        g_.mov(eax, gpr(d.rs));
        if (d.sa != 0) g_.shr(eax, d.sa);
        if (size < 32) g_.and_(eax, (1u << size) - 1);
        store(d.rt, eax);
        break;
      }
      case Op::INS: {  // rd = msb, sa = lsb; msb < lsb leaves rt unchanged
        if (d.rt == 0 || d.rd < d.sa) break;
        const unsigned size = d.rd - d.sa + 1u;
        const uint32_t field = (size >= 32 ? ~0u : (1u << size) - 1) << d.sa;
        g_.mov(ecx, gpr(d.rs));
        if (d.sa != 0) g_.shl(ecx, d.sa);
        g_.and_(ecx, field);
        g_.mov(eax, gpr(d.rt));
        g_.and_(eax, ~field);
        g_.or_(eax, ecx);
        store(d.rt, eax);
        break;
      }
      case Op::MFHI: if (d.rd != 0) { g_.mov(eax, dword[rbx + l_.hi]); store(d.rd, eax); } break;
      case Op::MFLO: if (d.rd != 0) { g_.mov(eax, dword[rbx + l_.lo]); store(d.rd, eax); } break;
      case Op::MTHI: g_.mov(eax, gpr(d.rs)); g_.mov(dword[rbx + l_.hi], eax); break;
      case Op::MTLO: g_.mov(eax, gpr(d.rs)); g_.mov(dword[rbx + l_.lo], eax); break;
      case Op::CLZ: case Op::CLO:
        if (d.rd == 0) break;
        g_.mov(eax, gpr(d.rs));  // zero-extends into rax
        if (d.op == Op::CLO) g_.not_(eax);
        g_.lea(rax, ptr[rax + rax + 1]);  // x << 1 | 1: its top bit is 32 - clz(x), 0 for x = 0
        g_.bsr(rax, rax);
        g_.mov(ecx, 32);
        g_.sub(ecx, eax);
        g_.mov(gpr(d.rd), ecx);
        break;
      case Op::DIV: case Op::DIVU: {  // as the interpreter: a zero divisor leaves HI/LO alone
        Xbyak::Label skip, general, done;
        g_.mov(ecx, gpr(d.rt));
        g_.test(ecx, ecx);
        g_.jz(skip);
        g_.mov(eax, gpr(d.rs));
        if (d.op == Op::DIV) {
          g_.cmp(ecx, -1);  // n / -1 is -n, remainder 0; x86 faults on INT_MIN / -1, MIPS gives INT_MIN
          g_.jne(general);
          g_.neg(eax);
          g_.xor_(edx, edx);
          g_.jmp(done);
          g_.L(general);
          g_.cdq();
          g_.idiv(ecx);
        } else {
          g_.xor_(edx, edx);
          g_.div(ecx);
        }
        g_.L(done);
        g_.mov(dword[rbx + l_.lo], eax);
        g_.mov(dword[rbx + l_.hi], edx);
        g_.L(skip);
        break;
      }
      case Op::MULT: case Op::MULTU:
        if (d.op == Op::MULT) {
          g_.movsxd(rax, gpr(d.rs));
          g_.movsxd(rcx, gpr(d.rt));
        } else {
          g_.mov(eax, gpr(d.rs));  // zero-extends into rax
          g_.mov(ecx, gpr(d.rt));
        }
        g_.imul(rax, rcx);  // the low 64 bits are the product, signed or not
        g_.mov(dword[rbx + l_.lo], eax);
        g_.shr(rax, 32);
        g_.mov(dword[rbx + l_.hi], eax);
        break;
      case Op::SYNC: case Op::PREF: break;  // no-ops here as in the interpreter
      default: break;
    }
  }

  Xbyak::CodeGenerator& g_;
  const Layout& l_;
  uint32_t pc_;
  const Decoded* insts_;
  unsigned count_;
  const BlockSlot* slots_;
  const DirectRam* ram_;  // in-line RAM for this block, or nullptr
  const uint8_t* host_base_;  // the compiler's DirectRam::host_base, in r14 in every block
  const SoftTlbView* soft_tlb_;
  bool user_;  // a kuseg block: direct() goes through the soft TLB
  bool loops_;  // the block ends in a branch to its own start (end_loop())
  const JumpEntry* jumps_;  // the jump cache, for a kernel block; or nullptr
  const uint64_t* code_generation_;
  static constexpr uint32_t jump_entries_ = BlockCompiler::kJumpEntries;
  std::size_t& prologue_bytes_;
  std::array<int, kCacheRegs> cached_ = no_guest_registers();  // cached_alu(): the guest register in each
  std::array<bool, kCacheRegs> dirty_{};                        // changed since it was loaded
  std::array<uint32_t, kCacheRegs> used_{};                     // when it was last used
  uint32_t tick_ = 0;
  unsigned at_ = 0;  // the instruction being emitted, by its index in insts_
  // The last SLTU or SLTIU compiled in line (its index, its destination): the host's carry flag
  // holds its result until the next instruction is emitted (cached_alu()'s add_carry()).
  std::pair<unsigned, unsigned> carry_{~0u, 0};
  unsigned branch_regs_ = kCacheRegs;  // the cache registers from here on hold the branch's state
  std::optional<Cache> loop_head_, back_edge_;  // see set_loop_head()
  unsigned back_edge_cost_ = 0;
  Xbyak::Label loop_;  // past the loop head's loads
  std::optional<Xbyak::Address> read_address_;  // read()'s answer when in the Vcpu
  std::optional<std::pair<uint32_t, uint32_t>> lazy_r12_;  // the branch's {taken, not taken} pcs
  std::optional<Decoded> waiting_condition_;  // a loop's branch that compares at the back edge
  bool bare_ = false;  // set_bare()
  uint32_t pending_ = 0;  // inline instructions not yet added to r15
  uint32_t pending_hits_ = 0;  // in-line RAM hits not yet added to r15
  // Access groups (find_access_groups()): for each instruction, the leader whose check it
  // shares (-1: none); for a leader, its last member and whether any member stores.
  std::vector<int> leader_of_ = std::vector<int>(count_, -1);
  std::vector<unsigned> group_last_ = std::vector<unsigned>(count_, 0);
  std::vector<bool> group_writes_ = std::vector<bool>(count_, false);
  int group_scale_ = 0;  // how the leader's address in rdx is scaled (direct()'s scale_shift)
  std::deque<Xbyak::Label> labels_;  // the cold paths' labels (a deque keeps them in place)
  std::vector<std::function<void()>> cold_;  // emitted after the body
  Xbyak::Label exit_;
};

}  // namespace

bool BlockCompiler::inline_op(Op op) {
  switch (op) {
    case Op::ADDU: case Op::SUBU: case Op::AND: case Op::OR: case Op::XOR: case Op::NOR: case Op::MUL:
    case Op::ADDIU: case Op::ANDI: case Op::ORI: case Op::XORI: case Op::LUI: case Op::SLT: case Op::SLTU:
    case Op::SLTI: case Op::SLTIU: case Op::SLL: case Op::SRL: case Op::SRA: case Op::ROTR: case Op::SLLV:
    case Op::SRLV: case Op::SRAV: case Op::ROTRV: case Op::MOVZ: case Op::MOVN: case Op::SEB: case Op::SEH: case Op::WSBH:
    case Op::EXT: case Op::INS: case Op::MFHI: case Op::MFLO: case Op::MTHI: case Op::MTLO: case Op::MULT:
    case Op::MULTU: case Op::SYNC: case Op::PREF: case Op::CLZ: case Op::CLO: case Op::DIV: case Op::DIVU:
      return true;
    default:
      return false;
  }
}

BlockCompiler::BlockCompiler(std::size_t code_bytes)
    : capacity_(code_bytes), code_(std::make_unique<Xbyak::CodeGenerator>(code_bytes)) {}
BlockCompiler::~BlockCompiler() = default;

CompiledBlock BlockCompiler::compile(uint32_t pc, const Decoded* insts, unsigned count, const BlockSlot* page_slots) {
  // A block emits at most ~80 bytes per instruction; refuse rather than overflow mid-block.
  constexpr std::size_t kWorstBytesPerInstruction = 256, kFrameBytes = 384;
  if (code_->getSize() + count * kWorstBytesPerInstruction + kFrameBytes > capacity_) return nullptr;
  const auto entry = code_->getCurr<CompiledBlock>();
  // Kernel blocks (their fetch proves kernel mode) reach kseg0 in line, the others kuseg.
  // (direct() indexes the tags with 2 * (line & tag_mask) in 32 bits, and finds the line of an
  // address shifted right by up to 3: a doubleword's)
  const DirectRam* ram =
      ram_.host_base != nullptr && ram_.tag_mask < (1u << 30) && ram_.line_shift >= 3 ? &ram_ : nullptr;
  const JumpEntry* jumps =
      code_generation_ != nullptr && (pc >= 0x80000000u || soft_tlb_.load != nullptr) ? jumps_.get() : nullptr;
  const auto emitter_on = [&](Xbyak::CodeGenerator& g, std::size_t& prologue_bytes) {
    Emitter e(g, pc, insts, count, page_slots, ram, ram_.host_base, &soft_tlb_, jumps, code_generation_, prologue_bytes);
    e.set_bare(bare_);
    return e;
  };
  Emitter emitter = emitter_on(*code_, prologue_bytes_);
  if (loops_to_start(pc, insts, count)) {
    // A loop: emissions thrown away say which registers its back edge holds when its start
    // holds what an emission before ended with; the start that costs its back edge the fewest
    // instructions to restore is kept.
    if (!scratch_) scratch_ = std::make_unique<Xbyak::CodeGenerator>(kSlotsPerPage * kWorstBytesPerInstruction + kFrameBytes);
    std::optional<Emitter::Cache> head, try_head;
    unsigned best = ~0u;
    for (int round = 0; round < 4 && best != 0; ++round) {
      scratch_->reset();
      std::size_t prologue = 0;
      Emitter probe = emitter_on(*scratch_, prologue);
      if (try_head) probe.set_loop_head(*try_head);
      probe.block();
      if (try_head && probe.back_edge_cost() < best) {
        best = probe.back_edge_cost();
        head = try_head;
      }
      try_head = probe.back_edge();
      if (!try_head) break;
    }
    if (head) emitter.set_loop_head(*head);
  }
  emitter.block();
  if (perf_map_)
    fmt::print(perf_map_.get(), "{:x} {:x} guest_{:08x}\n", reinterpret_cast<uintptr_t>(entry),
               code_->getCurr<uintptr_t>() - reinterpret_cast<uintptr_t>(entry), pc);
  return entry;
}

void BlockCompiler::set_direct_ram(const DirectRam& ram) {
  const int64_t from_tags = reinterpret_cast<const char*>(ram.active) - reinterpret_cast<const char*>(ram.tags);
  if (ram.host_base != nullptr && from_tags != static_cast<int32_t>(from_tags))
    throw std::invalid_argument("the pcpu's announcement is over 2 GiB from its cache's tags");
  ram_ = ram;
}

void BlockCompiler::set_soft_tlb(const SoftTlbView& tlb) {
  const int64_t half = reinterpret_cast<const char*>(tlb.store) - reinterpret_cast<const char*>(tlb.load);
  if (half != static_cast<int32_t>(half)) throw std::invalid_argument("the soft TLB's store half is over 2 GiB from its load half");
  soft_tlb_ = tlb;
}

void BlockCompiler::clear() {
  code_->reset();
  std::fill_n(jumps_.get(), kJumpEntries, JumpEntry{});  // their code is gone
}

std::size_t BlockCompiler::bytes_used() const { return code_->getSize(); }

bool BlockCompiler::open_perf_map() {
  // Appended to: every vcpu's compiler of the process writes its blocks there, a line at a time.
  // /tmp is everyone's: a symlink planted at the name is not followed, and a file there that is
  // not our own regular file with no other name (a planted hard link) is not written to; a
  // planted FIFO fails the open at once (O_NONBLOCK) rather than wait for a reader.
  const int fd = ::open(fmt::format("/tmp/perf-{}.map", getpid()).c_str(),
                        O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
  if (fd < 0) return false;
  struct stat st;
  std::FILE* file = nullptr;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || st.st_nlink != 1 ||
      !(file = ::fdopen(fd, "a"))) {
    ::close(fd);
    return false;
  }
  perf_map_.reset(file);
  std::setvbuf(file, nullptr, _IOLBF, 0);  // perf reads it while we run
  return true;
}

}  // namespace disco::mips
