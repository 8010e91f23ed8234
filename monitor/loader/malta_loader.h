// The YAMON-style loader of a MIPS Malta Linux kernel: puts the kernel (Debian's self-extracting
// vmlinuz as shipped, or its inner image unpacked on the host), the initrd and the YAMON
// argv/envp into guest RAM through a PhysicalWriter, and returns the registers to start the CPU
// with. Call sequence: load_malta_kernel(request, memory) -> BootState; then the board programs
// the GT-64120 as YAMON leaves it (MALTA.md) and the vcpu starts at pc with a0-a3 and sp.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "monitor/loader/boot_types.h"

namespace disco::boot {

struct LoadRequest {
  std::string kernel_path;
  std::string initrd_path;   // empty: no initrd
  std::string append;        // the user's command line
  uint64_t ram_bytes = 0;    // guest RAM (the Malta's low RAM window is at most 256 MiB)
  bool host_unpack = false;  // unpack the xz payload on the host and enter kernel_entry of the inner image directly
  std::string rng_seed_hex;  // optional 64 hex digits for the YAMON env `rngseed` (empty: no rngseed)
};

struct BootState {
  uint32_t pc = 0;                             // entry point (kseg0 virtual)
  std::array<uint32_t, 4> a{};                 // a0..a3: argc, argv, envp, RAM size below 256 MiB
  uint32_t sp = 0;                             // just below the argument table
  uint32_t image_start = 0, image_end = 0;     // physical range the kernel occupies (incl. bss)
  uint32_t initrd_start = 0, initrd_size = 0;  // physical; 0/0 without initrd
  std::string description;                     // one line for the log: which kind of image, entry, sizes
};

struct LoadResult {
  std::optional<BootState> state;
  std::string error;  // one line when state is empty; guest RAM may then hold a partial load
};

inline constexpr uint64_t kMinRamBytes = 16u << 20;      // the unpacked kernel alone is ~17 MiB
inline constexpr uint64_t kMaxRamBytes = 2048ull << 20;  // the Malta's RAM limit (QEMU's too)
inline constexpr uint64_t kMaxKernelFileBytes = 256u << 20;  // read whole into host memory
// Free space QEMU leaves above the initrd (hw/mips/malta.c): keeps rd_start equal to the
// reference runs' (MALTA.md: 0x8fed0000 with 256 MiB).
inline constexpr uint32_t kInitrdHeadroom = 128u << 10;

LoadResult load_malta_kernel(const LoadRequest& request, PhysicalWriter& memory);

}  // namespace disco::boot
