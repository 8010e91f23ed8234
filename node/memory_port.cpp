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
    case MissClass::Local: stats_.local_misses.add(); break;
    case MissClass::Remote2Hop: stats_.remote_2hop.add(); break;
    case MissClass::Remote3Hop: stats_.remote_3hop.add(); break;
  }
  stats_.miss_penalty_ps.add(uint64_t{miss_latency_ns(timing_, how)} * 1000);
}

}  // namespace disco
