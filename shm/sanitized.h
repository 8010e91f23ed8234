// Whether this build is instrumented by a sanitizer, for the few waits and sizes that must know:
// under AddressSanitizer or ThreadSanitizer every thread runs several times slower and a process
// exits slower (the leak check stops its threads and scans its heap), and a stray access is the
// sanitizer's report, not a plain SIGSEGV.
#pragma once

namespace disco {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

#if defined(__SANITIZE_THREAD__)
inline constexpr bool kThreadSanitized = true;
#else
inline constexpr bool kThreadSanitized = false;
#endif

}  // namespace disco
