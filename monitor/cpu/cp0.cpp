#include "monitor/cpu/cp0.h"

namespace disco::mips {
namespace {

constexpr uint32_t kConfigM = 1u << 31;  // "another Config register follows"

// Reset values are those of the 24Kf after a cold reset (ERL and BEV set: the boot ROM runs
// uncached from 0xbfc00000); a loader then sets what YAMON leaves behind.
constexpr Cp0RegisterInfo kRegisters[] = {
    {cp0::Index, "Index", 0, 0x0000000f},            // P (bit 31) only by TLBP; index bits by TLB size
    {cp0::Random, "Random", 15, 0},                  // read-only, follows the clock
    {cp0::EntryLo0, "EntryLo0", 0, 0x03ffffff},      // PFN (32-bit PA), C, D, V, G
    {cp0::EntryLo1, "EntryLo1", 0, 0x03ffffff},
    {cp0::Context, "Context", 0, 0xff800000},        // PTEBase; BadVPN2 is set by exceptions
    {cp0::UserLocal, "UserLocal", 0, 0xffffffff},    // Config3.ULRI: RDHWR $29 reads it
    {cp0::PageMask, "PageMask", 0, 0x1fffe000},      // 4 KiB .. 256 MiB pages
    {cp0::Wired, "Wired", 0, 0x0000000f},
    {cp0::HWREna, "HWREna", 0, 0x2000000f},          // ULR and the four architected RDHWR registers
    {cp0::BadVAddr, "BadVAddr", 0, 0},
    {cp0::Count, "Count", 0, 0xffffffff},
    {cp0::EntryHi, "EntryHi", 0, 0xffffe0ff},        // VPN2, ASID
    {cp0::Compare, "Compare", 0, 0xffffffff},
    {cp0::Status, "Status", StatusBits::BEV | StatusBits::ERL, 0x3678ff1f},
    {cp0::IntCtl, "IntCtl", 7u << 29, 0x000003e0},   // IPTI = 7: the timer is IP7 on Malta
    {cp0::SRSCtl, "SRSCtl", 0, 0},                   // one register set: no shadow sets
    {cp0::SRSMap, "SRSMap", 0, 0},
    {cp0::Cause, "Cause", 0, CauseBits::IV | CauseBits::DC | CauseBits::IP_SW},
    {cp0::EPC, "EPC", 0, 0xffffffff},
    {cp0::PRId, "PRId", 0x00019300, 0},              // MIPS Technologies, 24K
    {cp0::EBase, "EBase", 0x80000000, 0x3ffff000},   // exception base; CPUNum read-only
    {cp0::Config, "Config", kConfigM | (1u << 10) | (1u << 7) | 2u, 0x00000007},  // AR=1 (R2), MT=TLB, K0
    {cp0::Config1, "Config1",
     kConfigM | (15u << 25) | (3u << 19) | (1u << 16) | (3u << 10) | (1u << 7) | (1u << 2) | 1u, 0},
    {cp0::Config2, "Config2", kConfigM, 0},
    {cp0::Config3, "Config3", 1u << 13, 0},          // ULRI; no VInt, no VEIC (as QEMU's 24Kf)
    {cp0::LLAddr, "LLAddr", 0, 0},
    {cp0::ErrorEPC, "ErrorEPC", 0, 0xffffffff},
};
constexpr size_t kRegisterCount = std::size(kRegisters);
static_assert(kRegisterCount <= 32);

uint32_t index_bits(uint32_t tlb_entries) {
  uint32_t bits = 1;
  while (bits < tlb_entries) bits <<= 1;
  return bits - 1;
}

}  // namespace

std::span<const Cp0RegisterInfo> Cp0::registers() { return kRegisters; }

// (reg, sel) -> row of kRegisters, or -1: a dense table so every CP0 access is one load.
constinit const std::array<int8_t, 32 * 8> Cp0::kIndexByRegSel = [] {
  std::array<int8_t, 32 * 8> t{};
  for (auto& x : t) x = -1;
  for (size_t i = 0; i < kRegisterCount; ++i) t[kRegisters[i].id.reg * 8 + kRegisters[i].id.sel] = static_cast<int8_t>(i);
  return t;
}();

int Cp0::index_of(Cp0Id id) {
  if (id.reg >= 32 || id.sel >= 8) return -1;
  return kIndexByRegSel[id.reg * 8 + id.sel];
}

Cp0::Cp0(const Cp0Config& c) : config_(c) {
  for (size_t i = 0; i < kRegisterCount; ++i) {
    values_[i] = kRegisters[i].reset;
    masks_[i] = kRegisters[i].write_mask;
  }
  masks_[index_of(cp0::Index)] = index_bits(c.tlb_entries);
  masks_[index_of(cp0::Wired)] = index_bits(c.tlb_entries);
  uint32_t& config1 = raw(cp0::Config1);
  config1 = (config1 & ~(0x3fu << 25)) | ((c.tlb_entries - 1) << 25);
  if (!c.fpu) {
    config1 &= ~1u;
    masks_[index_of(cp0::Status)] &= ~(StatusBits::CU1 | StatusBits::FR);
  }
  raw(cp0::EBase) |= c.cpu_number & 0x3ff;
}


uint32_t Cp0::random(uint64_t cycles) const {
  // Random counts down from the top entry to Wired, one step per cycle, then wraps.
  const uint32_t wired = raw(cp0::Wired);
  const uint32_t top = config_.tlb_entries - 1;
  if (wired > top) return top;
  const uint64_t span = top - wired + 1;
  return top - static_cast<uint32_t>((cycles - random_base_) % span);
}

bool Cp0::read(Cp0Id id, uint64_t cycles, uint32_t& out) const {
  const int i = index_of(id);
  if (i < 0) {
    out = 0;
    return false;
  }
  if (id == cp0::Count)
    out = count(cycles);
  else if (id == cp0::Random)
    out = random(cycles);
  else
    out = values_[i];
  return true;
}

bool Cp0::write(Cp0Id id, uint32_t value, uint64_t cycles) {
  const int i = index_of(id);
  if (i < 0) return false;
  uint32_t& v = values_[i];
  v = (v & ~masks_[i]) | (value & masks_[i]);
  if (id == cp0::Count) {
    count_base_ = value;
    cycles_base_ = cycles;
  } else if (id == cp0::Compare) {
    // Writing Compare acknowledges the timer interrupt.
    timer_pending_ = false;
    raw(cp0::Cause) &= ~(CauseBits::TI | CauseBits::IP_TIMER);
  } else if (id == cp0::Wired) {
    random_base_ = cycles;  // Random restarts from the top entry
  }
  return true;
}

void Cp0::set_hw_interrupts(uint8_t ip7_2) {
  uint32_t& cause = raw(cp0::Cause);
  const uint32_t timer = timer_pending_ ? CauseBits::IP_TIMER : 0;
  cause = (cause & ~(CauseBits::IP & ~CauseBits::IP_SW)) | (uint32_t{ip7_2} << 10) | timer;
}

uint64_t Cp0::next_timer_cycle(uint64_t cycles) const {
  const uint32_t ticks = raw(cp0::Compare) - count(cycles);  // modulo 2^32: the next match
  const uint64_t to_tick = 2 - ((cycles - cycles_base_) & 1);  // the next Count increment
  return cycles + (ticks == 0 ? uint64_t{1} << 33 : to_tick + 2 * (uint64_t{ticks} - 1));
}

void Cp0::raise_timer() {
  timer_pending_ = true;
  raw(cp0::Cause) |= CauseBits::TI | CauseBits::IP_TIMER;
}

}  // namespace disco::mips
