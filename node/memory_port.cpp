#include "node/memory_port.h"

namespace disco {

void MemoryPort::account(MissClass how) {
  if (charge_ != nullptr) {
    const uint64_t cycles = charge_->cycles[static_cast<unsigned>(how)];
    *charge_->clock += cycles;
    charge_->charged[static_cast<unsigned>(how)] += cycles;
  }
  switch (how) {
    case MissClass::NodeHit:
      stats_.hits.add();
      return;
    case MissClass::Local:
      stats_.local_misses.add();
      stats_.miss_penalty_ps.add(uint64_t{timing_.local_miss_ns} * 1000);
      return;
    case MissClass::Remote2Hop:
      stats_.remote_2hop.add();
      stats_.miss_penalty_ps.add(uint64_t{timing_.remote_miss_ns} * 1000);
      return;
    case MissClass::Remote3Hop:
      stats_.remote_3hop.add();
      stats_.miss_penalty_ps.add(uint64_t{timing_.remote_dirty_ns} * 1000);
      return;
  }
}

}  // namespace disco
