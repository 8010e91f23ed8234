// A pcpu's inbox for TLB shootdowns: the monitor's inter-processor interrupt (the paper uses
// IPIs "for TLB shootdowns"). Another thread (the node's engine serving a TlbShootdown) posts a
// machine page; the pcpu drops its machine TLB entries for it between two slices and then calls
// the post's `done`. A pcpu that is not running vcpus (none placed, or all ended) has no entries:
// a post to its closed inbox is done at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "monitor/cpu/machine_tlb.h"

namespace disco {

class ShootdownMailbox {
 public:
  void post(uint64_t machine_page, std::function<void()> done);
  // On the pcpu: serves every post so far against `tlb`.
  void drain(mips::MachineTlb& tlb);
  bool pending() const { return pending_.load(std::memory_order_acquire); }
  // The pcpu starts (open) or stops (close, after a last drain) running vcpus.
  void open();
  void close(mips::MachineTlb& tlb);

 private:
  struct Post {
    uint64_t machine_page;
    std::function<void()> done;
  };
  std::mutex mutex_;
  std::vector<Post> posts_;
  bool open_ = false;
  std::atomic<bool> pending_{false};
};

}  // namespace disco
