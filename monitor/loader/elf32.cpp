#include "monitor/loader/elf32.h"

#include <cstring>

namespace disco::boot {
namespace {

// ELF constants (System V gABI, MIPS psABI).
constexpr uint8_t kElfMagic[4] = {0x7f, 'E', 'L', 'F'};
constexpr uint8_t kClass32 = 1, kClass64 = 2;
constexpr uint8_t kDataLsb = 1, kDataMsb = 2;
constexpr uint16_t kTypeExec = 2;
constexpr uint16_t kMachineMips = 8;
constexpr uint32_t kPtLoad = 1;
constexpr size_t kPhdrSize = 32;

uint16_t le16(std::span<const uint8_t> b, size_t at) { return uint16_t(b[at] | b[at + 1] << 8); }
uint32_t le32(std::span<const uint8_t> b, size_t at) {
  return uint32_t(b[at]) | uint32_t(b[at + 1]) << 8 | uint32_t(b[at + 2]) << 16 | uint32_t(b[at + 3]) << 24;
}

}  // namespace

const ElfSegment* Elf32Image::segment_at(uint32_t vaddr) const {
  for (const ElfSegment& s : loads)
    if (vaddr >= s.vaddr && vaddr - s.vaddr < s.memsz) return &s;
  return nullptr;
}

std::string check_elf32_mips_header(std::span<const uint8_t> file) {
  if (file.size() < 16 || std::memcmp(file.data(), kElfMagic, 4) != 0) return "not an ELF file (no \\x7fELF magic)";
  if (file[4] == kClass64) return "64-bit ELF: the Malta kernel must be ELF32";
  if (file[4] != kClass32) return strprintf("unknown ELF class %u", file[4]);
  if (file[5] == kDataMsb) return "big-endian ELF: this Malta is little-endian (mipsel)";
  if (file[5] != kDataLsb) return strprintf("unknown ELF data encoding %u", file[5]);
  if (file.size() < kElf32HeaderBytes) return strprintf("ELF header truncated: file is %zu bytes", file.size());
  if (uint16_t machine = le16(file, 18); machine != kMachineMips)
    return strprintf("ELF machine %u is not MIPS (%u)", machine, kMachineMips);
  if (uint16_t type = le16(file, 16); type != kTypeExec) return strprintf("ELF type %u is not an executable (ET_EXEC)", type);
  const uint16_t phentsize = le16(file, 42), phnum = le16(file, 44);
  if (phnum == 0) return "ELF has no program headers";
  if (phentsize != kPhdrSize) return strprintf("ELF program header size %u is not %zu", phentsize, kPhdrSize);
  if (phnum > kMaxProgramHeaders) return strprintf("ELF has %u program headers (at most %u)", phnum, kMaxProgramHeaders);
  return "";
}

Outcome<Elf32Image> parse_elf32_mips(std::span<const uint8_t> file) {
  using R = Outcome<Elf32Image>;
  if (std::string e = check_elf32_mips_header(file); !e.empty()) return R::fail(std::move(e));
  const uint32_t phoff = le32(file, 28);
  const uint16_t phnum = le16(file, 44);
  if (uint64_t{phoff} + uint64_t{phnum} * kPhdrSize > file.size())
    return R::fail(strprintf("ELF program headers (offset %#x, %u entries) run past the end of the %zu-byte file", phoff, phnum, file.size()));

  Elf32Image image{.entry = le32(file, 24)};
  for (uint16_t i = 0; i < phnum; ++i) {
    const size_t ph = phoff + size_t{i} * kPhdrSize;
    if (le32(file, ph) != kPtLoad) continue;
    ElfSegment s{.vaddr = le32(file, ph + 8), .offset = le32(file, ph + 4), .filesz = le32(file, ph + 16), .memsz = le32(file, ph + 20)};
    if (s.filesz > s.memsz) return R::fail(strprintf("PT_LOAD %u has filesz %#x > memsz %#x", i, s.filesz, s.memsz));
    if (uint64_t{s.offset} + s.filesz > file.size())
      return R::fail(strprintf("PT_LOAD %u is truncated: offset %#x + filesz %#x is past the end of the %zu-byte file", i, s.offset, s.filesz, file.size()));
    if (uint64_t{s.vaddr} + s.memsz > 0x1'0000'0000)
      return R::fail(strprintf("PT_LOAD %u at %#x + memsz %#x wraps the 32-bit address space", i, s.vaddr, s.memsz));
    if (s.memsz > 0) image.loads.push_back(s);
  }
  if (image.loads.empty()) return R::fail("ELF has no PT_LOAD segment to load");
  return {std::move(image)};
}

}  // namespace disco::boot
