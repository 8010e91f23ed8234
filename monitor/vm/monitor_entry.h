// The monitor's entries: every way a de-privileged guest enters Disco, counted per vcpu with the
// host time spent and the guest time charged (the paper's Table 2 and Figure 5 on our machine).
//
// Guest-time cost model, in cycles of the guest's clock. One entry is one trap into the monitor
// and back. The paper's Table 2 gives the cost of one directly: a UTLB miss (one TLB write) takes
// 0.035 us on IRIX, and the emulation of its TLB write adds 1.22 of that on Disco, so one emulated
// TLB write, trap and return included, takes 1.22 x 35 ns = 43 ns. The paper's machine was
// simulated at "twice the clock rate" of the R10000 and states no MHz; the R10000 of 1997 (SGI's
// Origin 2000) ran at 195 MHz, so the simulated CPU ran at 390 MHz and 43 ns was 17 of its
// cycles. Every entry kind is charged those 17 cycles (Table 2 gives no other kind's cost alone):
// the model is the paper's, not a parameter. The monitor's own work beyond the trap (copying a
// page, say) is charged where it happens.
//
// A run of privileged instructions is one trap. When the instructions between two privileged
// ones are only no-ops and special-page moves (`tlbwr; ehb; eret` ending the TLB refill handler,
// the 32 CACHE instructions of one unrolled cache-flush loop), the trap taken by the first
// emulates them all and returns after the last, as the patched code of the paragraph below
// would: the later ones are counted as `in_run`, with their host time, and cost no trap.
//
// What does not enter the monitor: privileged register accesses with no side effect beyond the
// register (most MFC0, MTC0 of EPC or EntryLo, an MTC0 of Status or DI/EI that changes only
// Status.IE). The paper changed IRIX's HAL to do exactly these as loads and stores to a special
// page instead of traps (section 4.3.3), and noted it could be automated by patching the
// instruction when it first traps; our binary translator does that for the unmodified kernel, so
// they cost what the load or store costs and are counted as special-page accesses, not entries.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace disco {

enum class MonitorEntry : uint8_t {
  TlbWrite,     // TLBWI, TLBWR: the guest's entry goes to the virtual TLB, the L2TLB is kept right
  TlbRead,      // TLBP, TLBR
  TlbMiss,      // a miss of the machine TLB: refilled from the virtual TLB or the L2TLB, or reflected
  Cp0,          // MFC0/MTC0 with a side effect (Status mode bits, Cause, Count, Compare, EntryHi, Wired...)
  Eret,         // ERET: the return from the guest's exception level
  Exception,    // an exception the guest raised (syscall, break, address or bus error...), reflected
  Interrupt,    // a device or timer interrupt, reflected into the guest
  Wait,         // WAIT: the vcpu idles until its next interrupt
  Cache,        // CACHE
  Hypercall,    // HYPCALL: a monitor call (hypercalls.h)
};
inline constexpr unsigned kMonitorEntryKinds = 10;
std::string_view name(MonitorEntry e);

// Guest cycles one entry costs (see the file comment).
inline constexpr uint32_t kTrapCycles = 17;

struct MonitorEntryStats {
  uint64_t count = 0;       // traps
  uint64_t in_run = 0;      // instructions emulated in the trap of an earlier one of their run
  uint64_t host_ticks = 0;  // the host's time stamp counter (converted to ns when reported)
};
using MonitorEntryTable = std::array<MonitorEntryStats, kMonitorEntryKinds>;

}  // namespace disco
