// Helpers for loader_tests: a sparse guest RAM, MIPS instruction encoders, an ELF builder, a
// synthetic self-extracting vmlinuz laid out as arch/mips/boot/compressed lays out the real one.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <lzma.h>

#include "monitor/loader/boot_types.h"

namespace disco::boot::testing {

// Guest RAM as 4 KiB pages created on write; unwritten bytes read as `fill`.
class SparseRam : public PhysicalWriter {
 public:
  explicit SparseRam(uint64_t size, uint8_t fill = 0) : size_(size), fill_(fill) {}
  bool write(uint32_t paddr, std::span<const uint8_t> bytes) override {
    if (uint64_t{paddr} + bytes.size() > size_) return false;
    for (size_t i = 0; i < bytes.size(); ++i) page(paddr + i)[(paddr + i) % kPageSize] = bytes[i];
    return true;
  }
  uint8_t at(uint32_t paddr) const {
    auto it = pages_.find(paddr / kPageSize);
    return it == pages_.end() ? fill_ : it->second[paddr % kPageSize];
  }
  std::vector<uint8_t> read(uint32_t paddr, size_t n) const {
    std::vector<uint8_t> out(n);
    for (size_t i = 0; i < n; ++i) out[i] = at(uint32_t(paddr + i));
    return out;
  }
  uint32_t word(uint32_t paddr) const { return at(paddr) | at(paddr + 1) << 8 | at(paddr + 2) << 16 | uint32_t(at(paddr + 3)) << 24; }
  std::string string_at(uint32_t paddr) const {
    std::string s;
    for (uint8_t c; (c = at(paddr)) != 0; ++paddr) s += char(c);
    return s;
  }
  bool touched() const { return !pages_.empty(); }

 private:
  std::vector<uint8_t>& page(uint64_t paddr) {
    auto& p = pages_[uint32_t(paddr / kPageSize)];
    if (p.empty()) p.assign(kPageSize, fill_);
    return p;
  }
  uint64_t size_;
  uint8_t fill_;
  std::map<uint32_t, std::vector<uint8_t>> pages_;
};

// MIPS32 encodings used by the synthetic code.
enum Reg : uint32_t { kZero = 0, kV0 = 2, kA0 = 4, kT0 = 8, kT1 = 9, kT9 = 25 };
inline uint32_t lui(uint32_t rt, uint32_t imm) { return 0x0fu << 26 | rt << 16 | (imm & 0xffff); }
inline uint32_t addiu(uint32_t rt, uint32_t rs, uint32_t imm) { return 0x09u << 26 | rs << 21 | rt << 16 | (imm & 0xffff); }
inline uint32_t ori(uint32_t rt, uint32_t rs, uint32_t imm) { return 0x0du << 26 | rs << 21 | rt << 16 | (imm & 0xffff); }
inline uint32_t sw(uint32_t rt, uint32_t base, uint32_t off) { return 0x2bu << 26 | base << 21 | rt << 16 | (off & 0xffff); }
inline uint32_t bne(uint32_t rs, uint32_t rt, int32_t off) { return 0x05u << 26 | rs << 21 | rt << 16 | (uint32_t(off) & 0xffff); }
inline uint32_t jalr_t9() { return 0x0320f809; }
inline uint32_t jr(uint32_t rs) { return rs << 21 | 0x08; }
inline constexpr uint32_t kNop = 0;
inline uint32_t hi_addiu(uint32_t v) { return (v + 0x8000) >> 16; }  // %hi for an addiu pair

inline void put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  if (b.size() < at + 4) b.resize(at + 4);
  for (int i = 0; i < 4; ++i) b[at + i] = uint8_t(v >> (8 * i));
}
inline void append_code(std::vector<uint8_t>& b, std::initializer_list<uint32_t> words) {
  for (uint32_t w : words) put32(b, b.size(), w);
}

struct TestSegment {
  uint32_t vaddr = 0;
  std::vector<uint8_t> data;
  uint32_t memsz = 0;  // 0: data.size()
};

// An ELF32 executable: header, program headers, then each segment's bytes 16-aligned.
inline std::vector<uint8_t> build_elf(uint32_t entry, const std::vector<TestSegment>& segments, uint16_t machine = 8) {
  std::vector<uint8_t> f(52 + 32 * segments.size(), 0);
  const uint8_t ident[] = {0x7f, 'E', 'L', 'F', 1, 1, 1};
  std::memcpy(f.data(), ident, sizeof ident);
  auto put16 = [&](size_t at, uint16_t v) { f[at] = uint8_t(v), f[at + 1] = uint8_t(v >> 8); };
  put16(16, 2), put16(18, machine), put32(f, 20, 1), put32(f, 24, entry), put32(f, 28, 52);
  put16(40, 52), put16(42, 32), put16(44, uint16_t(segments.size()));
  for (size_t i = 0; i < segments.size(); ++i) {
    const TestSegment& s = segments[i];
    const size_t offset = (f.size() + 15) / 16 * 16, ph = 52 + 32 * i;
    put32(f, ph, 1), put32(f, ph + 4, uint32_t(offset)), put32(f, ph + 8, s.vaddr), put32(f, ph + 12, s.vaddr);
    put32(f, ph + 16, uint32_t(s.data.size())), put32(f, ph + 20, s.memsz ? s.memsz : uint32_t(s.data.size())), put32(f, ph + 24, 7);
    f.resize(offset);
    f.insert(f.end(), s.data.begin(), s.data.end());
  }
  return f;
}

inline std::vector<uint8_t> xz_compress(std::span<const uint8_t> raw) {
  std::vector<uint8_t> out(lzma_stream_buffer_bound(raw.size()));
  size_t pos = 0;
  EXPECT_EQ(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, nullptr, raw.data(), raw.size(), out.data(), &pos, out.size()), LZMA_OK);
  out.resize(pos);
  return out;
}

// A small self-extracting vmlinuz: the raw image (linked at `load`, kernel_entry at `entry` with
// head.S's bss loop clearing [bss_start, bss_end)) xz-packed with its size appended, inside a
// decompressor linked 64 KiB-aligned above it whose start code jumps through t9 first to itself,
// then to kernel_entry. The decompressor's strings hold a bare xz magic, as the real one does.
struct SyntheticVmlinuz {
  std::vector<uint8_t> raw, file;
  uint32_t load = 0, entry = 0, bss_start = 0, bss_end = 0, vmlinuz = 0;
  size_t payload_offset = 0;  // in the file
};

inline SyntheticVmlinuz make_vmlinuz(uint32_t load = 0x80100000, uint32_t raw_size = 0x30000) {
  SyntheticVmlinuz v{.load = load};
  v.raw.resize(raw_size);
  for (uint32_t i = 0; i < raw_size; ++i) v.raw[i] = uint8_t(i * 7 + (i >> 9));
  v.entry = load + raw_size / 2;
  v.bss_start = load + raw_size + 0x20;
  v.bss_end = v.bss_start + 0x1000;
  std::vector<uint8_t> head;
  append_code(head, {lui(kT0, hi_addiu(v.entry + 12)), addiu(kT0, kT0, v.entry + 12), jr(kT0), kNop,
                     lui(kT0, hi_addiu(v.bss_start)), addiu(kT0, kT0, v.bss_start), sw(kZero, kT0, 0),
                     lui(kT1, hi_addiu(v.bss_end - 4)), addiu(kT1, kT1, v.bss_end - 4), addiu(kT0, kT0, 4),
                     sw(kZero, kT0, 0), bne(kT0, kT1, -3), kNop});
  std::copy(head.begin(), head.end(), v.raw.begin() + (v.entry - load));

  v.vmlinuz = load + raw_size + (0x10000 - raw_size % 0x10000);
  std::vector<uint8_t> seg;
  append_code(seg, {lui(kT9, hi_addiu(v.vmlinuz + 0x40)), addiu(kT9, kT9, v.vmlinuz + 0x40), jalr_t9(), kNop,
                    lui(kT9, v.entry >> 16), ori(kT9, kT9, v.entry), jalr_t9(), kNop,
                    lui(kA0, v.load >> 16), ori(kA0, kA0, v.load), kNop, kNop, kNop, kNop, kNop, kNop});
  const uint8_t magic[8] = {0xfd, '7', 'z', 'X', 'Z', 0, 0, 0};
  seg.insert(seg.end(), magic, magic + 8);
  const size_t payload_in_seg = seg.size();
  const std::vector<uint8_t> xz = xz_compress(v.raw);
  seg.insert(seg.end(), xz.begin(), xz.end());
  put32(seg, seg.size(), raw_size);
  seg.resize((seg.size() + 15) / 16 * 16);
  v.file = build_elf(v.vmlinuz, {{.vaddr = v.vmlinuz, .data = seg, .memsz = uint32_t(seg.size()) + 0x2000}});
  v.payload_offset = v.file.size() - seg.size() + payload_in_seg;
  return v;
}

// A file holding `bytes`, named loader_<name> in a folder of this test process (ctest runs the
// tests of this program in parallel processes, which must not share a path); removed with the
// object, and the folder with its last file.
class TempFile {
 public:
  TempFile(const std::string& name, std::span<const uint8_t> bytes)
      : dir_(::testing::TempDir() + "loader-" + std::to_string(::getpid())), path_(dir_ + "/loader_" + name) {
    std::filesystem::create_directories(dir_);
    std::ofstream(path_, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
    std::filesystem::remove(dir_, ec);  // fails, harmlessly, while other files remain
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace disco::boot::testing
