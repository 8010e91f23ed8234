// Vocabulary of the Malta loader (library disco_boot): guest address helpers, the sink the
// loader writes guest RAM through, and the value-or-error result every loading step returns.
// Call sequence: see malta_loader.h.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>

namespace disco::boot {

inline constexpr uint32_t kKseg0Base = 0x80000000;  // cached, unmapped window onto physical 0..512 MiB
inline constexpr uint32_t kKseg0Size = 0x20000000;
inline constexpr uint32_t kLowRamLimit = 256u << 20;  // Malta's low RAM window: RAM above it sits behind the I/O hole
inline constexpr uint32_t kPageSize = 4096;

constexpr bool in_kseg0(uint32_t vaddr) { return vaddr >= kKseg0Base && vaddr - kKseg0Base < kKseg0Size; }
constexpr uint32_t kseg0_to_phys(uint32_t vaddr) { return vaddr - kKseg0Base; }
constexpr uint32_t phys_to_kseg0(uint32_t paddr) { return paddr + kKseg0Base; }

// Where the loader writes: guest physical addresses (the loader converts kseg0 addresses to physical).
class PhysicalWriter {
 public:
  virtual ~PhysicalWriter() = default;
  virtual bool write(uint32_t paddr, std::span<const uint8_t> bytes) = 0;  // false: outside RAM
};

// A step's value, or one line saying why there is none (kernel files are untrusted input, so a
// bad one is an expected outcome, not a bug).
template <class T>
struct Outcome {
  std::optional<T> value;
  std::string error;

  static Outcome fail(std::string why) { return {std::nullopt, std::move(why)}; }
};

// printf into a std::string: the project has no std::format (GCC 12) and disco_boot links only
// liblzma; the attribute lets -Wformat check every message.
[[gnu::format(printf, 1, 2)]] inline std::string strprintf(const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list again;
  va_copy(again, args);
  const int n = std::vsnprintf(nullptr, 0, format, args);
  va_end(args);
  std::string out(n > 0 ? size_t(n) : 0, '\0');
  std::vsnprintf(out.data(), out.size() + 1, format, again);
  va_end(again);
  return out;
}

}  // namespace disco::boot
