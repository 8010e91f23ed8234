// The real TLB of one pcpu under the Disco monitor (the paper's section 4.2.2): the hardware
// structure that translates a running guest's mapped addresses. Only the monitor fills it, with
// the machine page behind each guest physical page (the guest's own TLB writes are intercepted
// and go to the virtual TLB), and every vcpu scheduled on the pcpu shares it. It holds 4 KiB pages
// (Disco mapped only 4 KiB pages too); victims are chosen round-robin per set, so a run repeats.
//
// Its size (`--machine-tlb-entries`) is the hardware's reach. The default, 1024 pages, is what bare
// mode's hardware reaches too: the 24Kf's 16-entry JTLB (32 pages) plus the 1024 entries QEMU and
// our bare mode keep behind it without the guest knowing (l2tlb.h). So bare mode and the monitor
// run on the same hardware, and a monitor entry is what the monitor adds: a page translated for
// the first time, or again after a vcpu switch flushed it. 32 models the bare 24Kf's JTLB alone
// (fully associative, as the JTLB is); above 32 the TLB is 4-way set associative by page.
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

#include <bit>
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
  static constexpr unsigned kDefaultEntries = 1024;
  static constexpr unsigned kMaxEntries = 1u << 16;
  static constexpr unsigned kFullyAssociativeUpTo = 32;  // entries; above it, 4 ways per set
  using DropCallback = std::function<void(const MachineTlbEntry&)>;

  // A power of two from 1 to kMaxEntries.
  static bool valid_size(uint32_t entries) { return std::has_single_bit(entries) && entries <= kMaxEntries; }
  explicit MachineTlb(TlbSwitch mode = TlbSwitch::Flush, unsigned entries = kDefaultEntries);
  void set_drop_callback(DropCallback cb) { on_drop_ = std::move(cb); }
  TlbSwitch mode() const { return mode_; }

  // The machine ASID of `owner`'s guest address space `guest_asid` (see the file comment).
  uint8_t machine_asid(uint16_t owner, uint8_t guest_asid);
  unsigned entries() const { return static_cast<unsigned>(keys_.size()); }
  // One compare per way of the page's set, of a packed key (the hardware compares them at once).
  const MachineTlbEntry* lookup(uint32_t vpn, uint8_t machine_asid) const {
    const uint64_t k = key(vpn, machine_asid);
    const unsigned first = first_way(vpn);
    for (unsigned i = first; i < first + ways_; ++i)
      if (keys_[i] == k) return &entries_[i];
    return nullptr;
  }
  // Installs `e` (replacing an entry of the same page and ASID, else an empty way of its set,
  // else the set's next victim).
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
  unsigned set_of(uint32_t vpn) const { return vpn & set_mask_; }
  unsigned first_way(uint32_t vpn) const { return set_of(vpn) * ways_; }  // the set's first entry
  void drop(unsigned i);

  TlbSwitch mode_;
  unsigned ways_;
  uint32_t set_mask_;
  std::vector<MachineTlbEntry> entries_;
  std::vector<uint64_t> keys_;
  std::vector<uint8_t> victims_;  // per set: the way the next full-set insert replaces
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
