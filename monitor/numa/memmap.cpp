#include "monitor/numa/memmap.h"

namespace disco {

Memmap::Memmap(NodeId node, const MachineGeometry& g)
    : node_(node), base_(MachineAddr{node} * g.mem_per_node), node_pages_(g.mem_per_node / kPageBytes), uses_(node_pages_) {
  if (node_pages_) free_[0] = node_pages_;
}

std::vector<PageRange> Memmap::allocate(uint32_t vm, uint64_t first_guest_page, uint64_t pages, size_t max_ranges) {
  std::lock_guard lock(mutex_);
  std::vector<PageRange> out;
  uint64_t guest = first_guest_page;
  while (pages > 0 && !free_.empty() && out.size() < max_ranges) {
    // First fit: the lowest range that holds all of it, else the lowest range, whole.
    auto it = free_.begin();
    for (auto r = free_.begin(); r != free_.end(); ++r)
      if (r->second >= pages) {
        it = r;
        break;
      }
    const uint64_t first = it->first, take = std::min(pages, it->second), left = it->second - take;
    free_.erase(it);
    if (left) free_[first + take] = left;
    for (uint64_t i = 0; i < take; ++i) uses_[first + i] = {.vm = vm, .guest_page = static_cast<uint32_t>(guest + i)};
    out.push_back({.first = base_ + first * kPageBytes, .pages = take});
    pages -= take;
    guest += take;
  }
  return out;
}

bool Memmap::owns(const PageRange& r) const {
  return r.first >= base_ && r.first % kPageBytes == 0 && r.pages <= node_pages_ &&
         index(r.first) <= node_pages_ - r.pages;
}

bool Memmap::free(uint32_t vm, const PageRange& range) {
  std::lock_guard lock(mutex_);
  if (!owns(range) || range.pages == 0) return false;
  const uint64_t first = index(range.first);
  for (uint64_t i = 0; i < range.pages; ++i)
    if (uses_[first + i].vm != vm) return false;
  for (uint64_t i = 0; i < range.pages; ++i) uses_[first + i] = {};
  // Coalesce with the free neighbours.
  uint64_t start = first, count = range.pages;
  auto next = free_.lower_bound(first);
  if (next != free_.end() && next->first == first + count) {
    count += next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == start) {
      start = prev->first;
      count += prev->second;
      free_.erase(prev);
    }
  }
  free_[start] = count;
  return true;
}

uint64_t Memmap::free_all(uint32_t vm) {
  std::vector<PageRange> held;
  {
    std::lock_guard lock(mutex_);
    for (uint64_t i = 0; i < node_pages_;) {
      if (uses_[i].vm != vm) {
        ++i;
        continue;
      }
      uint64_t n = 0;
      while (i + n < node_pages_ && uses_[i + n].vm == vm) ++n;
      held.push_back({.first = base_ + i * kPageBytes, .pages = n});
      i += n;
    }
  }
  uint64_t freed = 0;
  for (const PageRange& r : held)
    if (free(vm, r)) freed += r.pages;
  return freed;
}

Memmap::PageUse Memmap::use(MachineAddr page) const {
  std::lock_guard lock(mutex_);
  if (page < base_ || index(page) >= node_pages_) return {};
  return uses_[index(page)];
}

uint64_t Memmap::free_pages() const {
  std::lock_guard lock(mutex_);
  uint64_t n = 0;
  for (const auto& [first, count] : free_) n += count;
  return n;
}

uint64_t Memmap::pages_of(uint32_t vm) const {
  std::lock_guard lock(mutex_);
  uint64_t n = 0;
  for (const PageUse& u : uses_) n += u.vm == vm;
  return n;
}

}  // namespace disco
