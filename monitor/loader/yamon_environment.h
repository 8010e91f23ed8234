// The boot arguments a YAMON-style firmware hands a MIPS Malta kernel, laid out as QEMU's malta
// board does (hw/mips/malta.c, prom_set): at physical kPromPhys a table of kPromEntries 32-bit
// kseg0 pointers, then one kPromSlot-byte string slot per entry. argv is the table's first two
// entries, envp the rest (name, value, ..., NULL): one table serves both, a1 and a2 point into it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "monitor/loader/boot_types.h"

namespace disco::boot {

inline constexpr uint32_t kPromPhys = 0x2000;
inline constexpr uint32_t kPromEntries = 16;
inline constexpr uint32_t kPromSlot = 256;  // a string holds at most kPromSlot - 1 characters
inline constexpr uint32_t kPromBytes = kPromEntries * (4 + kPromSlot);
inline constexpr uint32_t kArgvVaddr = kKseg0Base + kPromPhys;      // a1
inline constexpr uint32_t kEnvpVaddr = kArgvVaddr + 8;              // a2: after argv[0], argv[1]
inline constexpr uint32_t kBootStackVaddr = kArgvVaddr - 64;        // sp, just below the table
inline constexpr uint32_t kBootArgc = 2;                            // a0

struct YamonArguments {
  std::string kernel_name;   // argv[0]
  std::string command_line;  // argv[1]
  uint32_t memsize = 0;      // low RAM (below 256 MiB): `memsize`
  uint64_t ememsize = 0;     // all RAM: `ememsize`
  std::string rng_seed_hex;  // `rngseed` when not empty: exactly 64 hex digits
};

// argv[1] with an initrd, as QEMU prints it: the address is the kseg0 one sign-extended to 64
// bits (YAMON and QEMU are 64-bit-clean), the size in decimal, then the user's command line.
std::string initrd_command_line(uint32_t initrd_phys, uint32_t initrd_size, const std::string& append);

// The kPromBytes to write at kPromPhys; errors for a string longer than its slot or a bad seed.
Outcome<std::vector<uint8_t>> build_yamon_prom(const YamonArguments& args);

}  // namespace disco::boot
