// The memmap of one node (the paper's section 4.2.3): for every machine page of the node's
// memory, which VM uses it and as which of its guest physical pages, and the allocator that
// hands the node's pages to VMs (all VMs share it). The monitor of the node owns it; other nodes
// ask for pages with messages (monitor.h), never by touching it.
//
// Pages are handed out in ranges, first fit from the lowest address, so a VM that fits gets one
// contiguous range (its pmap is then linear, which compiled code reaches fastest). Thread-safe:
// the node's pcpus and its engine (answering other nodes) allocate concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "shm/machine_types.h"

namespace disco {

inline constexpr uint32_t kNoVm = ~0u;

struct PageRange {
  MachineAddr first = 0;  // machine address of the first page
  uint64_t pages = 0;
  bool operator==(const PageRange&) const = default;
};

class Memmap {
 public:
  struct PageUse {
    uint32_t vm = kNoVm;     // the owner, kNoVm when free
    uint32_t guest_page = 0; // its guest physical page number in that VM
  };

  Memmap(NodeId node, const MachineGeometry& g);

  // Up to `pages` pages for `vm`'s guest pages from `first_guest_page` on, in at most `max_ranges`
  // ranges (fewer pages when the node has fewer free: the caller borrows the rest elsewhere).
  std::vector<PageRange> allocate(uint32_t vm, uint64_t first_guest_page, uint64_t pages, size_t max_ranges = SIZE_MAX);
  // Gives back pages of `vm` (false, nothing freed, if a page of the range is not vm's).
  bool free(uint32_t vm, const PageRange& range);
  // Every page `vm` holds here.
  uint64_t free_all(uint32_t vm);

  PageUse use(MachineAddr page) const;
  uint64_t free_pages() const;
  uint64_t pages_of(uint32_t vm) const;
  NodeId node() const { return node_; }
  // Whether `range` lies in this node's memory.
  bool owns(const PageRange& range) const;

 private:
  uint64_t index(MachineAddr a) const { return (a - base_) / kPageBytes; }

  const NodeId node_;
  const MachineAddr base_;
  const uint64_t node_pages_;
  mutable std::mutex mutex_;
  std::map<uint64_t, uint64_t> free_;  // first page index -> count, coalesced
  std::vector<PageUse> uses_;
};

}  // namespace disco
