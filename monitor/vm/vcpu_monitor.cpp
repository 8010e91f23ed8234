#include "monitor/vm/vcpu_monitor.h"

#include "monitor/vm/hypercalls.h"

namespace disco {
namespace {

using mips::Op;
using mips::TlbEntry;
namespace cp0 = mips::cp0;

using mips::kAsidMask;
using mips::kIndexProbeFailed;
using mips::kVpn2Mask;


}  // namespace

std::string_view name(MonitorEntry e) {
  switch (e) {
    case MonitorEntry::TlbWrite: return "tlb_write";
    case MonitorEntry::TlbRead: return "tlb_read";
    case MonitorEntry::TlbMiss: return "tlb_miss";
    case MonitorEntry::Cp0: return "cp0";
    case MonitorEntry::Eret: return "eret";
    case MonitorEntry::Exception: return "exception";
    case MonitorEntry::Interrupt: return "interrupt";
    case MonitorEntry::Wait: return "wait";
    case MonitorEntry::Cache: return "cache";
    case MonitorEntry::Hypercall: return "hypercall";
  }
  return "?";
}

VcpuMonitor::VcpuMonitor(mips::Interpreter& interpreter, mips::MachineTlb& machine_tlb, uint16_t owner,
                         Pmap& pmap, NodeId node, VmServices& vm)
    : interpreter_(interpreter), machine_tlb_(machine_tlb), owner_(owner), pmap_(pmap),
      node_(node), vm_(vm) {}

void VcpuMonitor::entered(mips::Vcpu& v, MonitorEntry kind, uint64_t started, bool in_run) {
  MonitorEntryStats& s = stats_.entries[static_cast<unsigned>(kind)];
  s.host_ticks += host_ticks() - started;
  if (in_run) {  // emulated in an earlier instruction's trap: no trap of its own
    ++s.in_run;
    return;
  }
  ++s.count;
  const uint64_t cycles = kTrapCycles;
  v.cycles += cycles;
  stats_.monitor_cycles += cycles;
  if (mips::user_mode(v.cp0.raw(cp0::Status))) stats_.monitor_cycles_in_user += cycles;
}

bool VcpuMonitor::special_page(const mips::PrivilegedOp& op, uint32_t after) {
  switch (op.op) {
    case Op::MFC0:  // Count and Random follow the clock: a page cannot hold them
      return !(op.reg == cp0::Count || op.reg == cp0::Random);
    case Op::MTC0:
      if (op.reg == cp0::Status) {
        // Interrupt masking and the exception level, the privilege mode kept: what changes is
        // when the guest takes its next interrupt or exception, which the monitor reads from
        // the virtual Status when it comes (an interrupt this unmasks is taken as after EI).
        // CU0 too (Linux sets it on every kernel entry and clears it on the way out): the real
        // Status keeps CU0 clear while a guest runs, so every CP0 instruction traps whatever the
        // guest's CU0 says, and the monitor reads the virtual one then.
        using mips::StatusBits;
        const auto mode = [](uint32_t s) { return s & (StatusBits::EXL | StatusBits::ERL) ? 0u : s & StatusBits::KSU; };
        constexpr uint32_t kVirtualOnly = StatusBits::IE | StatusBits::EXL | StatusBits::KSU | StatusBits::IM | StatusBits::CU0;
        return ((op.before ^ after) & ~kVirtualOnly) == 0 && mode(op.before) == mode(after);
      }
      // EntryHi's VPN2 only feeds TLBP and the TLB writes, which trap and read it then; a new
      // ASID changes what the machine TLB translates.
      if (op.reg == cp0::EntryHi) return ((op.before ^ after) & kAsidMask) == 0;
      return mips::Cp0::plain_write(op.reg) || op.reg == cp0::BadVAddr || op.reg == cp0::EBase ||
             op.reg == cp0::IntCtl || op.reg == cp0::SRSCtl || op.reg == cp0::LLAddr || op.reg == cp0::UserLocal;
    case Op::DI: case Op::EI: case Op::RDPGPR: case Op::WRPGPR:
      return true;  // Status.IE only; GPR moves
    default:
      return false;
  }
}

void VcpuMonitor::privileged(mips::Vcpu& v, const mips::PrivilegedOp& op) {
  fault_pending_ = false;  // the TLBs may change from here: translate() asks them again
  uint32_t after = 0;
  if (op.op == Op::MTC0) v.cp0.read(op.reg, v.cycles, after);
  if (special_page(op, after)) {
    ++stats_.special_page;
    return;
  }
  MonitorEntry kind = MonitorEntry::Cp0;
  switch (op.op) {
    case Op::TLBWI: case Op::TLBWR:
      tlb_written(v, op);
      kind = MonitorEntry::TlbWrite;
      break;
    case Op::TLBP:
      if (v.cp0.raw(cp0::Index) & kIndexProbeFailed) {
        // The guest now believes the page is not cached: the interpreter dropped it from the
        // L2TLB (l2tlb.h's rules), and the machine TLB lets it go too.
        const uint32_t hi = v.cp0.raw(cp0::EntryHi);
        const auto [first, last] = mips::pages_of({.vpn2 = hi & kVpn2Mask});
        machine_tlb_.drop_range(owner_, first, last, true, 0);
      }
      kind = MonitorEntry::TlbRead;
      break;
    case Op::TLBR: kind = MonitorEntry::TlbRead; break;
    case Op::ERET: kind = MonitorEntry::Eret; break;
    case Op::WAIT: kind = MonitorEntry::Wait; break;
    case Op::CACHE: kind = MonitorEntry::Cache; break;
    default: break;
  }
  entered(v, kind, op.started, run_open_ && run_last_ < op.pc && run_last_ + 4 >= op.run_from);
  run_open_ = !op.in_delay_slot && op.op != Op::ERET && op.op != Op::WAIT;
  run_last_ = op.pc;
}

void VcpuMonitor::drop_machine(const TlbEntry& e) {
  const auto [first, last] = mips::pages_of(e);
  machine_tlb_.drop_range(owner_, first, last, e.global, e.asid);
}

void VcpuMonitor::tlb_written(mips::Vcpu& v, const mips::PrivilegedOp& op) {
  // The interpreter applied the L2TLB's rules; the machine TLB follows them.
  const TlbEntry& written = v.tlb.entry(op.index);
  if (op.op == Op::TLBWI) drop_machine(op.replaced);  // overwritten on purpose: it must stop translating
  if (op.l2tlb_cleared) machine_tlb_.drop_owner(owner_);
  drop_machine(written);
  // The trap that intercepted the write installs its machine pages at once (the paper's
  // section 4.2.2), so the access the guest retries after its ERET, and the other page of the
  // pair, do not trap again. Per half: the page of BadVAddr when it lies there (the faulting
  // access of a refill), else the half's first page.
  const uint32_t half_bytes = (written.mask + 0x2000u) / 2;
  const uint32_t bad = v.cp0.raw(cp0::BadVAddr);
  for (uint32_t h = 0; h < 2; ++h) {
    const uint32_t base = written.vpn2 + h * half_bytes;
    const uint32_t page = bad - base < half_bytes ? bad : base;
    if (mips::translate(written, page, false).fault == mips::TlbFault::None) install(v, page, written.asid, written);
  }
}

void VcpuMonitor::install(mips::Vcpu& v, uint32_t vaddr, uint8_t asid, const TlbEntry& e) {
  const mips::TlbTranslation t = mips::translate(e, vaddr, false);
  mips::MachineTlbEntry m{.owner = owner_,
                          .machine_asid = machine_tlb_.machine_asid(owner_, asid),
                          .guest_asid = asid,
                          .vpn = vaddr >> 12,
                          .guest_frame = t.paddr >> 12,
                          .writable = mips::translate(e, vaddr, true).fault == mips::TlbFault::None};
  if (t.paddr < pmap_.bytes()) m.machine_page = pmap_.machine_address(t.paddr, node_) >> 12;
  machine_tlb_.insert(m);
}

mips::TlbTranslation VcpuMonitor::translate(mips::Vcpu& v, uint32_t vaddr, bool store) {
  const uint8_t asid = static_cast<uint8_t>(v.cp0.raw(cp0::EntryHi) & kAsidMask);
  const mips::MachineTlbEntry* hit = machine_tlb_.lookup(vaddr >> 12, machine_tlb_.machine_asid(owner_, asid));
  if (hit != nullptr && (!store || hit->writable))
    return {.paddr = hit->guest_frame << 12 | (vaddr & 0xfffu), .page_bytes = 4096};
  // A miss of the real TLB traps to the monitor (a store through a clean entry too: only the
  // guest's TLB can say whether the guest sees a Mod or a refill).
  // The same access again before its fault was reflected: a compiled block's access failed and
  // the interpreter now executes the instruction to raise the exception. The hardware trapped
  // once, and nothing can have changed the TLBs in between.
  if (fault_pending_ && vaddr == fault_vaddr_ && store == fault_store_) return fault_;
  const uint64_t started = host_ticks();
  run_open_ = false;
  ++stats_.machine_tlb_misses;
  mips::TlbTranslation t{.fault = mips::TlbFault::Refill};
  if (const int index = v.tlb.match(vaddr, asid); index >= 0) {
    const TlbEntry& e = v.tlb.entry(static_cast<unsigned>(index));
    t = mips::translate(e, vaddr, store);
    if (t.fault == mips::TlbFault::None) {
      install(v, vaddr, asid, e);
      ++stats_.virtual_tlb_refills;
    }
  } else if (const TlbEntry* kept = v.l2tlb.lookup(vaddr, asid); kept != nullptr) {
    // Answered here only when it translates: a fault on it is the guest's to see, through a
    // refill that brings the entry back into its own TLB first.
    if (const mips::TlbTranslation k = mips::translate(*kept, vaddr, store); k.fault == mips::TlbFault::None) {
      t = k;
      install(v, vaddr, asid, *kept);
      ++stats_.l2tlb_hits;
    }
  }
  if (t.fault != mips::TlbFault::None) {
    ++stats_.guest_tlb_faults;
    fault_pending_ = true;  // reflected() is this same trap
    fault_vaddr_ = vaddr;
    fault_store_ = store;
    fault_ = t;
  }
  entered(v, MonitorEntry::TlbMiss, started);
  return t;
}

void VcpuMonitor::reflected(mips::Vcpu& v, const mips::StepResult& result) {
  const bool tlb = result.exc == mips::Exception::TlbLoad || result.exc == mips::Exception::TlbStore ||
                   result.exc == mips::Exception::TlbModified;
  const bool own = fault_pending_ && tlb;
  fault_pending_ = false;  // whatever the guest sees now, the next access traps anew
  run_open_ = false;
  if (own) return;
  entered(v, result.exc == mips::Exception::Interrupt ? MonitorEntry::Interrupt : MonitorEntry::Exception,
          host_ticks());
}

bool VcpuMonitor::hypercall(mips::Vcpu& v, const mips::Decoded&) {
  const uint64_t started = host_ticks();
  run_open_ = false;
  const HypercallResult r = serve_hypercall(v.gpr[kHypercallNumberReg], v.gpr[kHypercallArgReg], vm_);
  v.gpr[kHypercallResultReg] = r.value;
  v.gpr[kHypercallResult2Reg] = r.value2;
  if (r.zeroed) {
    ++stats_.pages_zeroed;
    interpreter_.invalidate_page(v.gpr[kHypercallArgReg]);
  }
  if (r.released) {
    ++stats_.pages_released;
    interpreter_.invalidate_page(v.gpr[kHypercallArgReg]);
  }
  entered(v, MonitorEntry::Hypercall, started);
  return r.idle;
}

}  // namespace disco
