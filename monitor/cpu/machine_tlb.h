// The real TLB of one pcpu under the Disco monitor (the paper's section 4.2.2): the hardware
// structure that translates a running guest's mapped addresses. Only the monitor fills it, with
// the machine page behind each guest physical page (the guest's own TLB writes are intercepted
// and go to the virtual TLB), and every vcpu scheduled on the pcpu shares it. The pcpu is the same
// 24Kf the guest sees, so the TLB holds what its 16-entry JTLB holds, 32 pages of 4 KiB (Disco
// mapped only 4 KiB pages too): fully associative like the JTLB, the victim chosen round-robin
// (the JTLB's Random register also just counts), so that a run is repeatable. Bare mode and the
// monitor thus have the same hardware TLB; what the monitor adds is the L2TLB behind it.
//
// Address spaces (`--tlb-switch`): in Flush mode the machine ASID is the guest's own and the pcpu
// flushes the TLB whenever it switches vcpus (what Disco did); in Asid mode every (vcpu, guest
// ASID) gets a machine ASID of its own, so entries survive switches, and running out of the 255
// machine ASIDs flushes the TLB and starts a new generation of them (as Linux does with its own).
//
// Call sequence: the monitor asks machine_asid() for the running vcpu's address space, then
// lookup()s, and insert()s what it resolved on a miss. Every entry that leaves (eviction, drop,
// flush) is passed to the drop callback first, so whoever caches translations of this TLB (the
// vcpus' soft TLBs) forgets them too.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace disco::mips {

enum class TlbSwitch : uint8_t { Flush, Asid };
std::string_view name(TlbSwitch s);

struct MachineTlbEntry {
  static constexpr uint16_t kNone = 0xffff;
  static constexpr uint64_t kNotRam = ~uint64_t{0};
  uint16_t owner = kNone;     // the vcpu it was filled for (the pcpu's numbering); kNone: empty
  uint8_t machine_asid = 0;
  uint8_t guest_asid = 0;
  uint32_t vpn = 0;           // virtual address >> 12
  uint32_t guest_frame = 0;   // guest physical address >> 12 (what the vcpu's soft TLB keeps)
  uint64_t machine_page = kNotRam;  // machine address >> 12; kNotRam for a device page
  bool writable = false;      // the guest's D bit: a store through a clean entry is the guest's Mod
};

class MachineTlb {
 public:
  static constexpr unsigned kEntries = 32;
  using DropCallback = std::function<void(const MachineTlbEntry&)>;

  explicit MachineTlb(TlbSwitch mode = TlbSwitch::Flush) : mode_(mode) {}
  void set_drop_callback(DropCallback cb) { on_drop_ = std::move(cb); }
  TlbSwitch mode() const { return mode_; }

  // The machine ASID of `owner`'s guest address space `guest_asid` (see the file comment).
  uint8_t machine_asid(uint16_t owner, uint8_t guest_asid);
  // One compare per entry of a packed key (the hardware compares them all at once).
  const MachineTlbEntry* lookup(uint32_t vpn, uint8_t machine_asid) const {
    const uint64_t k = key(vpn, machine_asid);
    for (unsigned i = 0; i < kEntries; ++i)
      if (keys_[i] == k) return &entries_[i];
    return nullptr;
  }
  // Installs `e` (replacing an entry of the same page and ASID, else the next victim).
  void insert(const MachineTlbEntry& e);
  // Drops `owner`'s entries with vpn in [first, last] (any ASID when `any_asid`, else guest_asid).
  void drop_range(uint16_t owner, uint32_t first_vpn, uint32_t last_vpn, bool any_asid, uint8_t guest_asid);
  void drop_owner(uint16_t owner);
  // Every entry that maps machine page `machine_page` (a shootdown: the page is moving).
  void drop_machine_page(uint64_t machine_page);
  // Everything; a pcpu switching vcpus in Flush mode.
  void flush();

  uint64_t flushes() const { return flushes_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static uint64_t key(uint32_t vpn, uint8_t machine_asid) { return uint64_t{vpn} << 8 | machine_asid; }
  void drop(unsigned i);

  TlbSwitch mode_;
  std::array<MachineTlbEntry, kEntries> entries_{};
  std::array<uint64_t, kEntries> keys_ = [] {
    std::array<uint64_t, kEntries> k{};
    k.fill(kEmpty);
    return k;
  }();
  unsigned victim_ = 0;
  DropCallback on_drop_;
  // Asid mode: per (owner, guest ASID), the machine ASID and the generation it belongs to.
  struct AsidSlot {
    uint8_t machine = 0;
    uint32_t generation = 0;
  };
  std::vector<AsidSlot> asids_;
  uint32_t generation_ = 1;
  unsigned next_asid_ = 1;  // machine ASID 0 is never handed out in Asid mode
  uint64_t flushes_ = 0;
};

}  // namespace disco::mips
