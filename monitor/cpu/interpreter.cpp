#include "monitor/cpu/interpreter.h"

#include <algorithm>

#include "monitor/cpu/interpreter_run.h"

namespace disco::mips {

using namespace interpreter_detail;

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

Interpreter::PredecodedPage* Interpreter::page_at(uint32_t number) {
  std::unique_ptr<PageLeaf>& leaf = directory_[number / kPagesPerLeaf];
  if (!leaf) leaf = std::make_unique<PageLeaf>();
  std::unique_ptr<PredecodedPage>& page = (*leaf)[number % kPagesPerLeaf];
  if (!page) {
    page = std::make_unique<PredecodedPage>();
    has_page_[number] = 1;
    for (SoftTlbEntry& e : soft_store_)  // stores to it must drop the predecode from now on
      if (e.key != kNoKey && ((e.key & SoftTlbView::kPageMask) + e.offset) >> kPageShift == number) e = {};
  }
  return page.get();
}

void Interpreter::invalidate_page(uint32_t paddr) {
  const uint32_t number = paddr >> kPageShift;
  if (!has_page_[number]) return;
  (*directory_[number / kPagesPerLeaf])[number % kPagesPerLeaf].reset();
  has_page_[number] = 0;
  if (last_page_number_ == number) last_page_ = nullptr;
  ++page_generation_;
}

void Interpreter::set_compiling(bool on, uint32_t compile_after) {
  drop_compiled();
  compile_after_ = compile_after;
  compiler_ = on ? std::make_unique<BlockCompiler>() : nullptr;
  if (compiler_) {
    compiler_->set_code_generation(&page_generation_);
    static_assert(sizeof(SoftTlbEntry) == 8);
    compiler_->set_soft_tlb({.load = &soft_load_[0].key, .store = &soft_store_[0].key});
    compiler_->set_bare(trap_ == nullptr);
  }
}

void Interpreter::set_direct_ram(DirectRam ram) {
  if (compiler_ == nullptr) return;
  drop_compiled();
  ram.code_pages = has_page_.data();
  compiler_->set_direct_ram(ram);
  soft_ram_bytes_ = ram.ram_bytes;
  flush_translations();  // pages beyond it may be in the soft TLB
}

void Interpreter::compiled_cache(BlockContext* c, uint32_t pc) {
  auto& self = *static_cast<Interpreter*>(c->interpreter);
  const CompiledCall call(c);
  self.trap_->privileged(*c->vcpu, self.trapped(Op::CACHE, pc, false));
}

PrivilegedOp Interpreter::trapped(Op op, uint32_t pc, bool in_delay_slot) {
  return {.op = op, .started = host_ticks(), .pc = pc, .in_delay_slot = in_delay_slot, .run_from = run_from(pc)};
}

uint32_t Interpreter::run_from(uint32_t pc) {
  constexpr unsigned kLookBack = 4;
  if (pc - 0x80000000u >= 0x40000000u) return pc;
  const uint32_t pa = pc & 0x1fffffffu;
  const PredecodedPage& page = *page_of(pa);
  uint32_t index = (pa >> 2) & (kWordsPerPage - 1);
  const uint32_t last = index;
  // A word not decoded yet has not run since the page was last written: the look-back stops.
  while (index > 0 && last - index < kLookBack && page.valid[index - 1] && run_transparent(page.insts[index - 1])) --index;
  return pc - (last - index) * 4;
}

CompiledBlock Interpreter::compile_block(Vcpu& v, PredecodedPage& page, uint32_t physical_base, GuestMemory& mem) {
  const uint32_t first = (v.pc >> 2) & (kWordsPerPage - 1);
  BlockSlot& entry = page.compiled[first];
  // The block run() would interpret from here: through a branch's delay slot, a CP0
  // instruction that ends_block(), or the page's end (or the last word that can be fetched).
  unsigned count = 0;
  for (uint32_t i = first; i < kWordsPerPage; ++i) {
    const Decoded* d = decoded(page, physical_base | i << 2, mem);
    if (d == nullptr) break;
    ++count;
    if (ends_block(*d, v.pc)) break;
    if (d->flags & kBranch) {
      if (i + 1 < kWordsPerPage && decoded(page, physical_base | (i + 1) << 2, mem) != nullptr) ++count;
      break;
    }
  }
  if (count == 0) return nullptr;
  CompiledBlock code = compiler_->compile(v.pc, &page.insts[first], count, page.compiled);
  if (code == nullptr) {  // the code buffer is full: start it again
    drop_compiled();
    code = compiler_->compile(v.pc, &page.insts[first], count, page.compiled);
  }
  ++compiled_blocks_;
  entry.code = code;
  entry.pc = v.pc;
  return code;
}

void Interpreter::drop_compiled() {
  if (compiler_ == nullptr) return;
  for (auto& leaf : directory_) {
    if (!leaf) continue;
    for (auto& page : *leaf) {
      if (page) std::fill(std::begin(page->compiled), std::end(page->compiled), BlockSlot{});
    }
  }
  compiler_->clear();
  ++page_generation_;  // the dispatch cache's code is gone too
}

void Interpreter::invalidate_all() {
  for (auto& leaf : directory_) leaf.reset();
  std::fill(has_page_.begin(), has_page_.end(), 0);
  last_page_ = nullptr;
  ++page_generation_;
}

bool Interpreter::translate_mapped(Vcpu& v, uint32_t vaddr, bool store, uint32_t& paddr, StepResult& fault) {
  ++soft_tlb_misses_;
  if (soft_tlb_generation_ != v.tlb.generation()) {
    soft_load_.fill({});
    soft_store_.fill({});
    soft_tlb_generation_ = v.tlb.generation();
  }
  const uint32_t asid = v.cp0.raw(cp0::EntryHi) & kAsidMask;
  TlbTranslation t;
  if (trap_ != nullptr) {
    t = trap_->translate(v, vaddr, store);  // the monitor's machine TLB (trap_handler.h)
  } else if (const int index = v.tlb.match(vaddr, static_cast<uint8_t>(asid)); index >= 0) {
    t = v.tlb.translate(static_cast<unsigned>(index), vaddr, store);
  } else if (const TlbEntry* kept = v.l2tlb.lookup(vaddr, static_cast<uint8_t>(asid));
             kept != nullptr && (t = mips::translate(*kept, vaddr, store)).fault == TlbFault::None) {
    ++l2tlb_hits_;  // a fault on a kept entry is the guest's to see, through a refill as below
  } else {
    t = {.fault = TlbFault::Refill};
  }
  if (t.fault != TlbFault::None) {
    fault.exc = t.fault == TlbFault::Modified ? Exception::TlbModified
                : store                       ? Exception::TlbStore
                                              : Exception::TlbLoad;
    fault.refill = t.fault == TlbFault::Refill;
    fault.bad_vaddr = vaddr;
    return false;
  }
  paddr = t.paddr;
  // The store half never maps a page with predecode: a store there must drop it (snoop_store),
  // and compiled stores that hit in line do not look.
  // Nor does either half map a page outside RAM: compiled kuseg accesses need not look.
  if ((!store || !has_page_[t.paddr >> kPageShift]) && t.paddr >> kPageShift < soft_ram_bytes_ >> kPageShift)
    (store ? soft_store_ : soft_load_)[(vaddr >> kPageShift) % kSoftTlbEntries] = {
        .key = soft_key(vaddr, asid), .offset = t.paddr - vaddr};
  return true;
}

void Interpreter::flush_translations() { soft_tlb_generation_ = kNoGeneration; }

void Interpreter::forget_pages(const TlbEntry& e) {
  const auto [first, last] = pages_of(e);
  const uint32_t pages = last - first + 1;
  const auto forget = [&](SoftTlbEntry& slot) {
    if (slot.key != kNoKey && (slot.key >> kPageShift) - first < pages) slot = {};
  };
  if (pages < kSoftTlbEntries) {  // 4 KiB pairs (every user page of Linux): the two slots they hash to
    for (uint32_t p = first; p <= last; ++p) {
      forget(soft_load_[p % kSoftTlbEntries]);
      forget(soft_store_[p % kSoftTlbEntries]);
    }
    return;
  }
  for (auto* soft : {&soft_load_, &soft_store_})
    for (SoftTlbEntry& slot : *soft) forget(slot);
}

void Interpreter::forget_translation(uint32_t vaddr, uint8_t asid) {
  const uint32_t key = soft_key(vaddr, asid);
  for (auto* soft : {&soft_load_, &soft_store_}) {
    SoftTlbEntry& e = (*soft)[(vaddr >> kPageShift) % kSoftTlbEntries];
    if (e.key == key) e = {};
  }
}

StepResult Interpreter::step(Vcpu& v, GuestMemory& mem) {
  StepResult fault{.in_delay_slot = v.in_delay_slot};
  uint32_t pa;
  PredecodedPage* page = fetch_page(v, pa, fault);
  if (page == nullptr) return fault;
  const Decoded* cached = decoded(*page, pa, mem);
  if (cached == nullptr) return interpreter_detail::raise(Exception::BusErrorInstruction, v.in_delay_slot, v.pc);
  Flow flow;
  const StepResult result = execute(v, mem, *cached, flow);  // execute copies the Decoded
  if (result.exc == Exception::None) commit(v, flow);
  return result;
}

template RunExit Interpreter::run<GuestMemory>(Vcpu&, GuestMemory&, uint64_t, RunStats&);

}  // namespace disco::mips
