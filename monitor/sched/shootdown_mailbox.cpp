#include "monitor/sched/shootdown_mailbox.h"

namespace disco {

void ShootdownMailbox::post(uint64_t machine_page, std::function<void()> done) {
  {
    std::lock_guard lock(mutex_);
    if (open_) {
      posts_.push_back({machine_page, std::move(done)});
      pending_.store(true, std::memory_order_release);
      return;
    }
  }
  done();  // nothing runs here: no machine TLB holds the page
}

void ShootdownMailbox::drain(mips::MachineTlb& tlb) {
  std::vector<Post> posts;
  {
    std::lock_guard lock(mutex_);
    posts.swap(posts_);
    pending_.store(false, std::memory_order_release);
  }
  for (Post& p : posts) {
    tlb.drop_machine_page(p.machine_page);
    p.done();
  }
}

void ShootdownMailbox::open() {
  std::lock_guard lock(mutex_);
  open_ = true;
}

void ShootdownMailbox::close(mips::MachineTlb& tlb) {
  {
    std::lock_guard lock(mutex_);
    open_ = false;
  }
  drain(tlb);
}

}  // namespace disco
