// The pause a thread makes between two looks at memory another CPU will write: it tells the core
// that this is a spin-wait (no memory-order mis-speculation when the write lands, the sibling
// hyper-thread runs meanwhile).
#pragma once

#include <atomic>

namespace disco {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

}  // namespace disco
