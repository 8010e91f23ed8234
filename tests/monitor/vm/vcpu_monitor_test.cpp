// Trap-and-emulate (monitor/vm/vcpu_monitor.h): small code sequences of a de-privileged guest
// kernel on flat memory, and what the monitor made of them: entries by kind, special-page
// accesses, the virtual TLB, the machine TLB, the L2TLB, and exceptions reflected at the guest's
// own vectors.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "monitor/cpu/interpreter_run.h"
#include "monitor/vm/hypercalls.h"
#include "monitor/vm/vcpu_monitor.h"
#include "tests/monitor/kseg_memory.h"

namespace disco {
namespace {

using namespace mips;
using namespace mips::test;

constexpr uint32_t kCode = 0x80001000;     // kseg0, physical 0x1000
constexpr uint32_t kPageA = 0x00400000, kPageB = 0x00800000;  // kuseg pages the code maps
constexpr uint32_t kFrameA = 0x200000, kFrameB = 0x300000;    // their physical frames
constexpr uint8_t kAsid = 5;
constexpr uint32_t t0 = 8, t1 = 9, t2 = 10, t3 = 11, v0 = 2, v1 = 3;

uint32_t lui(uint32_t rt, uint32_t imm) { return i_type(0b001111, 0, rt, imm); }
uint32_t ori(uint32_t rt, uint32_t rs, uint32_t imm) { return i_type(0b001101, rs, rt, imm); }
uint32_t li(uint32_t rt, uint32_t value) { return ori(rt, 0, value); }  // values below 0x10000
constexpr uint32_t kHypcall = 0x42000028;
uint32_t entry_lo(uint32_t frame) { return (frame >> 12) << EntryLoBits::PfnShift | EntryLoBits::D | EntryLoBits::V; }

// Loads a 32-bit constant into rt.
void load(std::vector<uint32_t>& code, uint32_t rt, uint32_t value) {
  code.push_back(lui(rt, value >> 16));
  code.push_back(ori(rt, rt, value & 0xffff));
}

// A guest kernel on an 8 MiB flat machine whose pmap puts guest physical at machine 0x1000000.
struct Guest : VmServices {
  KsegMemory memory;
  Vcpu v;
  Interpreter interpreter;
  MachineTlb machine_tlb;
  Pmap pmap{kMemorySize, 1};
  VcpuMonitor monitor{interpreter, machine_tlb, 0, pmap, 0, *this};
  std::vector<uint32_t> zeroed;

  Guest() {
    v.l2tlb = L2Tlb(1024);
    v.cp0.raw(cp0::Status) = 0;  // kernel mode, out of the reset state (ERL, BEV): as YAMON leaves it
    memory.set_word(0x80000000u, kWait);  // the refill and general vectors: stop there
    memory.set_word(0x80000180u, kWait);
    pmap.map_range(0, kMemorySize / kPageBytes, 0x1000000, 0);
    interpreter.set_trap_handler(&monitor);
    machine_tlb.set_drop_callback([this](const MachineTlbEntry& e) { interpreter.forget_translation(e.vpn << 12, e.guest_asid); });
  }
  uint32_t vm_id() const override { return 3; }
  bool zero_page(uint32_t gpa) override {
    if (gpa >= kMemorySize) return false;
    zeroed.push_back(gpa);
    std::memset(memory.data() + gpa, 0, kPageBytes);
    return true;
  }
  bool release_page(uint32_t gpa) override { return gpa < kMemorySize; }

  // Places `code` at kCode followed by a WAIT, runs it to the WAIT (or the one at the refill
  // vector), and returns why run() last stopped.
  RunExit run(std::vector<uint32_t> code) {
    code.push_back(kWait);
    uint32_t at = kCode;
    for (uint32_t w : code) {
      memory.set_word(at, w);
      at += 4;
    }
    interpreter.invalidate_page(kCode & 0x1fffffffu);
    v.jump_to(kCode);
    RunStats stats;
    RunExit exit = RunExit::Until;
    for (int i = 0; i < 100 && exit != RunExit::Waiting; ++i)  // on past timer writes
      exit = interpreter.run(v, memory, v.cycles + 10000, stats);
    return exit;
  }
  // Code that writes a TLB entry mapping `page` to `frame` in kAsid (Index/Random as `op` uses).
  static void tlb_write(std::vector<uint32_t>& code, uint32_t page, uint32_t frame, uint32_t op, uint32_t index = 0) {
    load(code, t0, page | kAsid);
    code.push_back(mtc0(t0, cp0::EntryHi));
    load(code, t1, entry_lo(frame));
    code.push_back(mtc0(t1, cp0::EntryLo0));
    code.push_back(mtc0(0, cp0::EntryLo1));
    code.push_back(mtc0(0, cp0::PageMask));
    code.push_back(li(t2, index));
    code.push_back(mtc0(t2, cp0::Index));
    code.push_back(op);
  }
  // Code after which page A's entry has left the guest's TLB (by TLBWR) for the L2TLB: with
  // Wired = 15 Random can only be 15, so the second TLBWR evicts the first.
  static void evict_a_to_the_l2tlb(std::vector<uint32_t>& code) {
    code.push_back(li(t0, 15));
    code.push_back(mtc0(t0, cp0::Wired));
    tlb_write(code, kPageA, kFrameA, kTlbwr);
    tlb_write(code, kPageB, kFrameB, kTlbwr);
  }
  // Code that loads the word at `vaddr` into t2 in address space kAsid.
  static std::vector<uint32_t> load_in_asid(uint32_t vaddr) {
    std::vector<uint32_t> code;
    load(code, t0, kAsid);
    code.push_back(mtc0(t0, cp0::EntryHi));
    load(code, t3, vaddr);
    code.push_back(lw(t2, t3, 0));
    return code;
  }
  uint64_t entries(MonitorEntry kind) const { return monitor.stats().entries[static_cast<unsigned>(kind)].count; }
};

TEST(VcpuMonitor, RegisterAccessesWithoutSideEffectsAreSpecialPageAccesses) {
  Guest g;
  std::vector<uint32_t> code{mfc0(t0, cp0::Status), mtc0(t0, cp0::EPC), di(t1), ei(t1), mtc0(t0, cp0::Status)};
  load(code, t2, StatusBits::UM | StatusBits::EXL | StatusBits::IE | 0x8000);
  code.push_back(mtc0(t2, cp0::Status));  // user KSU under EXL, IM7: still kernel mode
  code.push_back(mtc0(t0, cp0::Status));  // and back
  load(code, t2, StatusBits::CU0);
  code.push_back(mtc0(t2, cp0::Status));  // CP0 usable in user mode: still every CP0 instruction traps
  code.push_back(mtc0(t0, cp0::Status));
  load(code, t2, 0x12346000);             // a new VPN2 in the same address space (ASID 0)
  code.push_back(mtc0(t2, cp0::EntryHi));
  code.push_back(mtc0(t2, cp0::UserLocal));
  EXPECT_EQ(g.run(code), RunExit::Waiting);
  EXPECT_EQ(g.monitor.stats().special_page, 11u);
  EXPECT_EQ(g.entries(MonitorEntry::Cp0), 0u);
  EXPECT_EQ(g.entries(MonitorEntry::Wait), 1u);
  EXPECT_EQ(g.v.cp0.raw(cp0::EPC), g.v.cp0.raw(cp0::Status)) << "emulated on the virtual CP0";
  EXPECT_EQ(g.v.cp0.raw(cp0::EntryHi), 0x12346000u);
  EXPECT_EQ(g.v.cp0.raw(cp0::UserLocal), 0x12346000u);
}

TEST(VcpuMonitor, WritesWithSideEffectsTrapAndCostGuestTime) {
  Guest g;
  std::vector<uint32_t> code;
  load(code, t0, 0x1234);
  code.push_back(mtc0(t0, cp0::Compare));
  code.push_back(li(t1, kAsid));
  code.push_back(mtc0(t1, cp0::EntryHi));  // a new ASID
  code.push_back(li(t3, 0));
  code.push_back(mfc0(t2, cp0::Count));
  load(code, t3, StatusBits::CU1);
  code.push_back(mtc0(t3, cp0::Status));  // the FPU enabled
  code.push_back(li(t3, 0));               // each apart, so that each is a trap (not one run)
  g.run(code);
  EXPECT_EQ(g.entries(MonitorEntry::Cp0), 4u) << "Compare, EntryHi, reading Count, Status.CU1";
  EXPECT_EQ(g.v.cp0.raw(cp0::Compare), 0x1234u);
  EXPECT_EQ(g.v.cp0.raw(cp0::EntryHi) & 0xff, kAsid);
  // Five entries (four CP0 and the WAIT) at 17 cycles each.
  EXPECT_EQ(g.monitor.stats().monitor_cycles, 5u * kTrapCycles);
  EXPECT_GT(g.monitor.stats().entries[static_cast<unsigned>(MonitorEntry::Cp0)].host_ticks, 0u);
}

TEST(VcpuMonitor, AGuestTlbWriteReachesTheVirtualTlbAndTheMachineTlbAtOnce) {
  Guest g;
  std::memcpy(g.memory.data() + kFrameA + 8, "\x78\x56\x34\x12", 4);
  std::vector<uint32_t> code;
  Guest::tlb_write(code, kPageA, kFrameA, kTlbwi, 3);
  load(code, t3, kPageA);
  code.push_back(lw(t2, t3, 8));
  g.run(code);
  EXPECT_EQ(g.v.gpr[t2], 0x12345678u);
  EXPECT_EQ(g.entries(MonitorEntry::TlbWrite), 1u);
  EXPECT_EQ(g.v.tlb.entry(3).vpn2, kPageA) << "the guest's TLB as the guest wrote it";
  EXPECT_EQ(g.monitor.stats().machine_tlb_misses, 0u) << "the write's own trap installed it";
  const MachineTlbEntry* m = g.machine_tlb.lookup(kPageA >> 12, kAsid);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->guest_frame, kFrameA >> 12);
  EXPECT_EQ(m->machine_page, (0x1000000u + kFrameA) >> 12) << "the machine page, from the pmap";
  EXPECT_EQ(g.machine_tlb.lookup((kPageA >> 12) + 1, kAsid), nullptr) << "the pair's odd half is invalid";
}

TEST(VcpuMonitor, AfterASwitchTheGuestsOwnTlbRefillsTheMachineTlb) {
  Guest g;
  std::vector<uint32_t> code;
  Guest::tlb_write(code, kPageA, kFrameA, kTlbwi, 3);
  g.run(code);
  g.machine_tlb.flush();  // a vcpu switch
  g.run(Guest::load_in_asid(kPageA + 8));
  EXPECT_EQ(g.monitor.stats().machine_tlb_misses, 1u);
  EXPECT_EQ(g.monitor.stats().virtual_tlb_refills, 1u);
  EXPECT_EQ(g.monitor.stats().guest_tlb_faults, 0u);
  EXPECT_NE(g.machine_tlb.lookup(kPageA >> 12, kAsid), nullptr);
}

TEST(VcpuMonitor, ARefillInstallsBothPagesOfThePairAndTheFaultingPageOfALargeOne) {
  Guest g;
  std::vector<uint32_t> code;
  load(code, t0, kPageA | kAsid);
  code.push_back(mtc0(t0, cp0::EntryHi));
  load(code, t1, entry_lo(kFrameA));
  code.push_back(mtc0(t1, cp0::EntryLo0));
  load(code, t1, entry_lo(kFrameA + kPageBytes) & ~EntryLoBits::D);  // the odd page clean
  code.push_back(mtc0(t1, cp0::EntryLo1));
  code.push_back(mtc0(0, cp0::PageMask));
  code.push_back(kTlbwr);
  // A pair of 64 KiB pages at page B, written while BadVAddr names the odd half's third 4 KiB page.
  load(code, t0, kPageB | kAsid);
  code.push_back(mtc0(t0, cp0::EntryHi));
  load(code, t1, entry_lo(kFrameB));
  code.push_back(mtc0(t1, cp0::EntryLo0));
  load(code, t1, entry_lo(kFrameB + 0x10000));
  code.push_back(mtc0(t1, cp0::EntryLo1));
  load(code, t2, 0x1e000);  // PageMask of 64 KiB pages
  code.push_back(mtc0(t2, cp0::PageMask));
  code.push_back(kTlbwr);
  g.v.cp0.raw(cp0::BadVAddr) = kPageB + 0x10000 + 2 * kPageBytes + 4;  // read-only to the guest
  g.run(code);
  const MachineTlbEntry* even = g.machine_tlb.lookup(kPageA >> 12, kAsid);
  const MachineTlbEntry* odd = g.machine_tlb.lookup((kPageA >> 12) + 1, kAsid);
  ASSERT_NE(even, nullptr);
  ASSERT_NE(odd, nullptr);
  EXPECT_TRUE(even->writable);
  EXPECT_FALSE(odd->writable) << "a store must still trap for the guest's Mod";
  EXPECT_EQ(odd->guest_frame, (kFrameA >> 12) + 1);
  EXPECT_NE(g.machine_tlb.lookup(kPageB >> 12, kAsid), nullptr) << "the even half's first page";
  const MachineTlbEntry* faulting = g.machine_tlb.lookup((kPageB + 0x10000 + 2 * kPageBytes) >> 12, kAsid);
  ASSERT_NE(faulting, nullptr);
  EXPECT_EQ(faulting->guest_frame, (kFrameB + 0x10000 + 2 * kPageBytes) >> 12);
  EXPECT_EQ(g.machine_tlb.lookup((kPageB + 0x10000) >> 12, kAsid), nullptr);
}

TEST(VcpuMonitor, TheL2TlbAnswersForAnEntryTheGuestsTlbLetGo) {
  Guest g;
  std::vector<uint32_t> code;
  code.push_back(li(t0, 15));
  code.push_back(mtc0(t0, cp0::Wired));  // Random can only be 15: each TLBWR evicts the last one
  Guest::tlb_write(code, kPageA, kFrameA, kTlbwr);
  Guest::tlb_write(code, kPageB, kFrameB, kTlbwr);
  g.run(code);
  ASSERT_EQ(g.v.tlb.entry(15).vpn2, kPageB);
  std::memcpy(g.memory.data() + kFrameA, "\x01\x00\x00\x00", 4);
  g.machine_tlb.flush();  // a vcpu switch
  std::vector<uint32_t> use;
  load(use, t3, kPageA);
  use.push_back(lw(t2, t3, 0));
  EXPECT_EQ(g.run(use), RunExit::Waiting);
  EXPECT_EQ(g.v.gpr[t2], 1u) << "translated without the guest";
  EXPECT_EQ(g.monitor.stats().l2tlb_hits, 1u);
  EXPECT_EQ(g.monitor.stats().guest_tlb_faults, 0u);
}

TEST(VcpuMonitor, AnAccessAskedAgainBeforeItsFaultIsReflectedIsOneTrap) {
  // A compiled block's access that faults is executed again by the interpreter, which raises the
  // exception: the monitor sees two translations of one trap.
  Guest g;
  g.v.cp0.raw(cp0::EntryHi) = kAsid;
  EXPECT_EQ(g.monitor.translate(g.v, kPageA, false).fault, TlbFault::Refill);
  EXPECT_EQ(g.monitor.translate(g.v, kPageA, false).fault, TlbFault::Refill);
  EXPECT_EQ(g.entries(MonitorEntry::TlbMiss), 1u);
  EXPECT_EQ(g.monitor.stats().guest_tlb_faults, 1u);
  EXPECT_EQ(g.monitor.stats().monitor_cycles, kTrapCycles);
  EXPECT_EQ(g.monitor.translate(g.v, kPageA, true).fault, TlbFault::Refill) << "a store is another access";
  EXPECT_EQ(g.entries(MonitorEntry::TlbMiss), 2u);
  g.monitor.reflected(g.v, StepResult{.exc = Exception::TlbStore});
  EXPECT_EQ(g.entries(MonitorEntry::Exception), 0u) << "the reflection is the miss's own trap";
  EXPECT_EQ(g.monitor.translate(g.v, kPageA, true).fault, TlbFault::Refill);
  EXPECT_EQ(g.entries(MonitorEntry::TlbMiss), 3u) << "after the reflection, the guest's retry traps anew";
  // A TLB write between two tries: the second asks the TLBs again and finds the entry.
  std::vector<uint32_t> code;
  Guest::tlb_write(code, kPageA, kFrameA, kTlbwi, 3);
  g.run(code);
  g.machine_tlb.flush();
  EXPECT_EQ(g.monitor.translate(g.v, kPageA, true).fault, TlbFault::None);
  EXPECT_EQ(g.monitor.stats().virtual_tlb_refills, 1u);
}

TEST(VcpuMonitor, AProbeThatMissesDropsTheL2TlbsCopyAndTheRefillGoesToTheGuest) {
  Guest g;
  std::vector<uint32_t> code;
  Guest::evict_a_to_the_l2tlb(code);
  load(code, t0, kPageA | kAsid);
  code.push_back(mtc0(t0, cp0::EntryHi));
  code.push_back(kTlbp);  // the guest believes page A is not cached: it must not be
  g.run(code);
  EXPECT_EQ(g.entries(MonitorEntry::TlbRead), 1u);
  std::vector<uint32_t> use;
  load(use, t3, kPageA);
  const uint32_t lw_at = kCode + 4 * static_cast<uint32_t>(use.size());
  use.push_back(lw(t2, t3, 0));
  g.run(use);
  EXPECT_EQ(g.v.pc, 0x80000004u) << "the guest's refill vector (EBase + 0), past its WAIT";
  EXPECT_EQ(g.v.cp0.raw(cp0::EPC), lw_at);
  EXPECT_EQ(g.v.cp0.raw(cp0::BadVAddr), kPageA);
  EXPECT_EQ((g.v.cp0.raw(cp0::Cause) & CauseBits::ExcCode) >> 2, exc_code(Exception::TlbLoad));
  EXPECT_EQ(g.monitor.stats().guest_tlb_faults, 1u);
  EXPECT_EQ(g.entries(MonitorEntry::TlbMiss), 1u);
  EXPECT_EQ(g.entries(MonitorEntry::Exception), 0u) << "the refill's reflection is the miss's own trap";
}

TEST(VcpuMonitor, InvalidatingTheWholeTlbClearsTheL2Tlb) {
  Guest g;
  std::vector<uint32_t> code;
  Guest::evict_a_to_the_l2tlb(code);
  code.push_back(mtc0(0, cp0::Wired));
  code.push_back(mtc0(0, cp0::EntryLo0));
  for (uint32_t i = 0; i < 16; ++i) {  // Linux's local_flush_tlb_all: a unique kseg0 VPN2 per entry
    load(code, t0, 0x80000000u + (i << 13));
    code.push_back(mtc0(t0, cp0::EntryHi));
    code.push_back(li(t2, i));
    code.push_back(mtc0(t2, cp0::Index));
    code.push_back(kTlbwi);
  }
  g.run(code);
  EXPECT_EQ(g.interpreter.l2tlb_clears(), 1u);
  g.run(Guest::load_in_asid(kPageA));
  EXPECT_EQ(g.v.pc, 0x80000004u) << "a refill: nothing of page A is cached any more";
  EXPECT_EQ(g.monitor.stats().l2tlb_hits, 0u);
}

TEST(VcpuMonitor, AUserSyscallIsReflectedAtTheGuestsVector) {
  Guest g;
  map_kuseg_identity(g.v);  // user code at kuseg addresses, through global 256 MiB entries
  g.memory.set_word(kPageA, kSyscall);
  g.interpreter.invalidate_page(kPageA);
  g.v.cp0.raw(cp0::Status) = StatusBits::UM;
  g.v.jump_to(kPageA);
  RunStats stats;
  g.interpreter.run(g.v, g.memory, g.v.cycles + 1, stats);
  EXPECT_EQ(g.v.pc, 0x80000180u);
  EXPECT_EQ(g.v.cp0.raw(cp0::EPC), kPageA);
  EXPECT_EQ((g.v.cp0.raw(cp0::Cause) & CauseBits::ExcCode) >> 2, exc_code(Exception::Syscall));
  EXPECT_EQ(g.entries(MonitorEntry::Exception), 1u);
  EXPECT_EQ(g.entries(MonitorEntry::TlbMiss), 1u) << "the user page's first fetch missed the machine TLB";
  EXPECT_EQ(g.interpreter.exceptions_by_cause()[static_cast<unsigned>(Exception::Syscall)], 1u);
}

TEST(VcpuMonitor, HypercallsReachTheMonitor) {
  Guest g;
  g.run({li(v0, 0), kHypcall, ori(t0, v0, 0), ori(t1, v1, 0)});
  EXPECT_EQ(g.v.gpr[t0], kHypercallMagic);
  EXPECT_EQ(g.v.gpr[t1], 3u) << "the VM's id";
  std::memset(g.memory.data() + 0x5000, 0xab, kPageBytes);
  std::vector<uint32_t> zero{li(v0, 1)};
  load(zero, 4, 0x5000);
  zero.push_back(kHypcall);
  g.run(zero);
  EXPECT_EQ(g.v.gpr[v0], 0u);
  EXPECT_EQ(g.zeroed, std::vector<uint32_t>{0x5000});
  EXPECT_EQ(g.memory.data()[0x5000 + 77], 0);
  g.run({li(v0, 99), kHypcall});
  EXPECT_EQ(g.v.gpr[v0], kHypercallUnknown);
  std::vector<uint32_t> bad{li(v0, 1)};
  load(bad, 4, 0x5004);
  bad.push_back(kHypcall);
  g.run(bad);
  EXPECT_EQ(g.v.gpr[v0], kHypercallBadAddress) << "unaligned";
  EXPECT_EQ(g.entries(MonitorEntry::Hypercall), 4u);
  EXPECT_EQ(g.run({li(v0, 3), kHypcall, kNop}), RunExit::Waiting) << "Idle: as WAIT";
}

TEST(VcpuMonitor, WithoutAMonitorHypcallIsAReservedInstruction) {
  KsegCpu cpu(0, false, kCode);
  cpu.code({kHypcall});
  EXPECT_EQ(cpu.step().exc, Exception::ReservedInstruction);
}

TEST(VcpuMonitor, EretTlbrAndCacheTrapAndUserTimeIsCounted) {
  Guest g;
  map_kuseg_identity(g.v);
  g.memory.set_word(kPageA, kSyscall);  // the user code ERET goes to
  std::vector<uint32_t> code;
  code.push_back(li(t0, 2));
  code.push_back(mtc0(t0, cp0::Index));
  code.push_back(kTlbr);                 // reads the guest's own entry 2
  code.push_back(li(t1, 0));
  code.push_back(cache(0b10000, 0));     // Hit_Invalidate_I
  load(code, t0, kPageA);
  code.push_back(mtc0(t0, cp0::EPC));
  load(code, t0, StatusBits::UM | StatusBits::EXL);
  code.push_back(mtc0(t0, cp0::Status));  // still kernel mode under EXL: the special page
  code.push_back(kEret);                  // user mode
  g.run(code);
  EXPECT_EQ(g.entries(MonitorEntry::TlbRead), 1u);
  EXPECT_EQ(g.entries(MonitorEntry::Cache), 1u);
  EXPECT_EQ(g.entries(MonitorEntry::Cp0), 0u);
  EXPECT_EQ(g.entries(MonitorEntry::Eret), 1u);
  EXPECT_EQ(g.v.cp0.raw(cp0::EntryHi) & 0xffffe000u, g.v.tlb.entry(2).vpn2) << "TLBR on the virtual TLB";
  EXPECT_EQ(g.entries(MonitorEntry::Exception), 1u) << "the user syscall after ERET";
  EXPECT_EQ(g.v.pc, 0x80000184u) << "the general vector, past its WAIT";
  EXPECT_GT(g.interpreter.user_cycles(g.v), 0u);
}

// A run of privileged instructions, past no-ops and special-page moves only, is one trap; the
// same whether the block runs interpreted or compiled.
class VcpuMonitorRuns : public testing::TestWithParam<bool> {};

TEST_P(VcpuMonitorRuns, ARunOfPrivilegedInstructionsIsOneTrap) {
  Guest g;
  g.interpreter.set_compiling(GetParam(), 0);
  map_kuseg_identity(g.v);
  g.memory.set_word(kPageA, kSyscall);  // the user code ERET goes to
  constexpr uint32_t kEhb = 3 << 6;     // sll $0, $0, 3
  std::vector<uint32_t> code;
  for (int i = 0; i < 4; ++i) code.push_back(cache(0b10101, 0));  // one unrolled flush loop: one trap
  code.push_back(li(t1, 0));
  code.push_back(cache(0b10101, 0));  // after an ordinary instruction: a trap of its own
  code.push_back(beq(0, 0, 2));
  code.push_back(cache(0b10101, 0));  // in a delay slot: control does not go straight on
  code.push_back(kNop);
  code.push_back(cache(0b10101, 0));  // so a trap
  load(code, t0, kPageA);
  code.push_back(mtc0(t0, cp0::EPC));
  load(code, t0, StatusBits::UM | StatusBits::EXL);
  code.push_back(mtc0(t0, cp0::Status));
  code.push_back(li(t2, 3));
  code.push_back(mtc0(t2, cp0::Index));
  code.push_back(kTlbwi);                 // the end of a refill handler: one trap for the three
  code.push_back(kEhb);
  code.push_back(mfc0(t3, cp0::EntryLo0));
  code.push_back(kEret);
  g.run(code);
  const auto& e = g.monitor.stats().entries;
  EXPECT_EQ(e[static_cast<unsigned>(MonitorEntry::Cache)].count, 4u);
  EXPECT_EQ(e[static_cast<unsigned>(MonitorEntry::Cache)].in_run, 3u);
  EXPECT_EQ(e[static_cast<unsigned>(MonitorEntry::TlbWrite)].count, 1u);
  EXPECT_EQ(e[static_cast<unsigned>(MonitorEntry::Eret)].count, 0u);
  EXPECT_EQ(e[static_cast<unsigned>(MonitorEntry::Eret)].in_run, 1u);
  EXPECT_GT(e[static_cast<unsigned>(MonitorEntry::Eret)].host_ticks, 0u);
  EXPECT_EQ(g.entries(MonitorEntry::Exception), 1u) << "the user syscall after ERET";
  EXPECT_EQ(g.entries(MonitorEntry::Wait), 1u) << "at the general vector: a new trap after the reflection";
  EXPECT_EQ(g.entries(MonitorEntry::TlbMiss), 1u) << "the user code's page, from the guest's TLB";
  // Traps only: 4 CACHE, the TLBWI, the user page's TLB miss, the syscall, the WAIT.
  EXPECT_EQ(g.monitor.stats().monitor_cycles, 8u * kTrapCycles);
  EXPECT_EQ(g.v.pc, 0x80000184u);
}

INSTANTIATE_TEST_SUITE_P(InterpretedAndCompiled, VcpuMonitorRuns, testing::Bool());

// The rule itself, on the instructions the interpreter reports: a run goes on only straight
// from an instruction control leaves by pc + 4, and anything that traps between ends it.
TEST(VcpuMonitor, ARunGoesOnOnlyStraightOnAndUntilTheNextTrap) {
  Guest g;
  const auto cache_at = [&](uint32_t pc, uint32_t run_from, bool in_delay_slot = false) {
    g.monitor.privileged(g.v, {.op = Op::CACHE, .pc = pc, .in_delay_slot = in_delay_slot, .run_from = run_from});
  };
  cache_at(kCode, kCode);
  cache_at(kCode + 8, kCode + 4);   // past a no-op: the same trap
  cache_at(kCode + 20, kCode + 16);  // past something else at +12: a new one
  cache_at(kCode + 24, kCode + 24, true);  // in a delay slot: control goes to the branch's target
  cache_at(kCode + 32, kCode + 28);  // so even past a no-op, a new trap
  cache_at(kCode + 32, kCode + 28);  // itself again (a loop back): a new trap
  g.monitor.reflected(g.v, {.exc = Exception::Interrupt});
  cache_at(kCode + 36, kCode + 36);  // after a trap of another kind: a new one
  EXPECT_EQ(g.entries(MonitorEntry::Cache), 5u);
  EXPECT_EQ(g.monitor.stats().entries[static_cast<unsigned>(MonitorEntry::Cache)].in_run, 2u);
}

TEST(VcpuMonitor, AnInterruptIsReflectedAtTheGuestsVector) {
  Guest g;
  g.v.cp0.raw(cp0::Status) = StatusBits::IE | 0x8000;  // IM7: the timer
  g.v.cp0.raw(cp0::Cause) |= CauseBits::IV;
  g.v.cp0.raw(cp0::EBase) = 0x80004000;
  g.v.cp0.raise_timer();
  g.memory.set_word(0x80004200, kWait);
  g.memory.set_word(kCode, kNop);
  g.interpreter.invalidate_page(kCode & 0x1fffffff);
  g.v.jump_to(kCode);
  RunStats stats;
  g.interpreter.run(g.v, g.memory, g.v.cycles + 100, stats);
  EXPECT_EQ(g.entries(MonitorEntry::Interrupt), 1u);
  EXPECT_EQ(g.v.cp0.raw(cp0::EPC), kCode) << "taken before the first block";
  EXPECT_EQ(g.v.pc, 0x80004204u) << "EBase + 0x200 (Cause.IV), past its WAIT";
}

}  // namespace
}  // namespace disco
