// A reader for 32-bit little-endian MIPS ELF executables: the header and the PT_LOAD segments,
// everything bounds-checked against the file, nothing interpreted beyond that (where the
// segments may go in the guest is malta_loader's business).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "monitor/loader/boot_types.h"

namespace disco::boot {

struct ElfSegment {
  uint32_t vaddr = 0;
  uint32_t offset = 0;  // in the file; offset + filesz is inside the file
  uint32_t filesz = 0;
  uint32_t memsz = 0;   // >= filesz: the rest is zero-filled (bss)
};

struct Elf32Image {
  uint32_t entry = 0;
  std::vector<ElfSegment> loads;  // PT_LOAD segments with memsz > 0, in file order; never empty

  // The segment whose memory holds vaddr, or nullptr.
  const ElfSegment* segment_at(uint32_t vaddr) const;
};

inline constexpr uint32_t kMaxProgramHeaders = 64;  // real kernels have 2-3; bounds the parse
inline constexpr size_t kElf32HeaderBytes = 52;

// Checks the ELF header alone (the first kElf32HeaderBytes of the file suffice): "" for an ELF32
// little-endian MIPS executable with a usable program header table, else what is wrong, as
// parse_elf32_mips says it. Lets a file be judged without reading all of it.
std::string check_elf32_mips_header(std::span<const uint8_t> file);

// Parses `file` (the whole ELF file). Errors name what is wrong: not ELF, wrong class,
// endianness or machine, program headers out of the file, truncated segments, no PT_LOAD.
Outcome<Elf32Image> parse_elf32_mips(std::span<const uint8_t> file);

}  // namespace disco::boot
