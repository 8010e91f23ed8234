#include "monitor/loader/elf32.h"

#include <random>

#include <gtest/gtest.h>

#include "tests/monitor/loader/loader_test_support.h"

namespace disco::boot {
namespace {

using testing::build_elf;

std::vector<uint8_t> good_elf() {
  return build_elf(0x80100010, {{.vaddr = 0x80100000, .data = std::vector<uint8_t>(64, 0xab), .memsz = 0x200}});
}

TEST(Elf32, ParsesSegmentsAndEntry) {
  const std::vector<uint8_t> f = good_elf();
  const Outcome<Elf32Image> elf = parse_elf32_mips(f);
  ASSERT_TRUE(elf.value) << elf.error;
  EXPECT_EQ(elf.value->entry, 0x80100010u);
  ASSERT_EQ(elf.value->loads.size(), 1u);
  EXPECT_EQ(elf.value->loads[0].vaddr, 0x80100000u);
  EXPECT_EQ(elf.value->loads[0].filesz, 64u);
  EXPECT_EQ(elf.value->loads[0].memsz, 0x200u);
  EXPECT_EQ(elf.value->segment_at(0x801001ff), &elf.value->loads[0]);
  EXPECT_EQ(elf.value->segment_at(0x80100200), nullptr);
}

struct BadElf {
  const char* name;
  void (*mutate)(std::vector<uint8_t>&);
  const char* error_part;
};

class Elf32Rejects : public ::testing::TestWithParam<BadElf> {};

TEST_P(Elf32Rejects, WithOneClearLine) {
  std::vector<uint8_t> f = good_elf();
  GetParam().mutate(f);
  const Outcome<Elf32Image> elf = parse_elf32_mips(f);
  EXPECT_FALSE(elf.value);
  EXPECT_NE(elf.error.find(GetParam().error_part), std::string::npos) << elf.error;
  EXPECT_EQ(elf.error.find('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Elf32Rejects,
    ::testing::Values(
        BadElf{"Empty", [](auto& f) { f.clear(); }, "not an ELF"},
        BadElf{"Garbage", [](auto& f) { f.assign(4096, 0x5a); }, "not an ELF"},
        BadElf{"Class64", [](auto& f) { f[4] = 2; }, "64-bit"},
        BadElf{"BigEndian", [](auto& f) { f[5] = 2; }, "big-endian"},
        BadElf{"NotMips", [](auto& f) { f[18] = 62; }, "not MIPS"},
        BadElf{"NotExec", [](auto& f) { f[16] = 3; }, "ET_EXEC"},
        BadElf{"HeaderTruncated", [](auto& f) { f.resize(40); }, "truncated"},
        BadElf{"NoProgramHeaders", [](auto& f) { f[44] = 0; }, "no program headers"},
        BadElf{"PhdrsOutOfFile", [](auto& f) { testing::put32(f, 28, 0xfffffff0); }, "past the end"},
        BadElf{"TooManyPhdrs", [](auto& f) { f[44] = 0xff; }, "program headers (at most"},
        BadElf{"NoPtLoad", [](auto& f) { f[52] = 4; }, "no PT_LOAD"},
        BadElf{"SegmentTruncated", [](auto& f) { f.resize(f.size() - 8); }, "truncated"},
        BadElf{"FileszOverMemsz", [](auto& f) { testing::put32(f, 52 + 20, 8); }, "filesz"},
        BadElf{"Wraps", [](auto& f) { testing::put32(f, 52 + 8, 0xffffff00); }, "wraps"}),
    [](const auto& info) { return std::string(info.param.name); });

// Habit 9: random bit flips of a good file give a parse or an error, never a crash.
TEST(Elf32, SurvivesBitFlips) {
  const std::vector<uint8_t> good = good_elf();
  std::mt19937 rng(20240601);
  SCOPED_TRACE("seed 20240601");
  for (int round = 0; round < 20000; ++round) {
    std::vector<uint8_t> f = good;
    for (int flips = 1 + int(rng() % 4); flips > 0; --flips) f[rng() % 128 % f.size()] ^= uint8_t(1u << (rng() % 8));
    const Outcome<Elf32Image> elf = parse_elf32_mips(f);
    EXPECT_NE(elf.value.has_value(), !elf.error.empty());
    if (elf.value) {
      for (const ElfSegment& s : elf.value->loads) EXPECT_LE(uint64_t{s.offset} + s.filesz, f.size());
    }
  }
}

}  // namespace
}  // namespace disco::boot
