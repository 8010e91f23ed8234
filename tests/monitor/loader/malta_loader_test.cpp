#include "monitor/loader/malta_loader.h"

#include <random>

#include <gtest/gtest.h>

#include "monitor/loader/yamon_environment.h"
#include "tests/monitor/loader/loader_test_support.h"

namespace disco::boot {
namespace {

using testing::SparseRam;
using testing::TempFile;

constexpr uint64_t kMiB = 1 << 20;

// A plain ELF kernel: 0x100 bytes of code at 0x80100000, 0x1000 bytes of bss.
std::vector<uint8_t> plain_elf(uint32_t vaddr = 0x80100000, uint32_t memsz = 0x1100) {
  return testing::build_elf(vaddr, {{.vaddr = vaddr, .data = std::vector<uint8_t>(0x100, 0x11), .memsz = memsz}});
}

LoadResult load(const std::vector<uint8_t>& kernel, SparseRam& ram, LoadRequest request = {}) {
  const TempFile file("kernel", kernel);
  request.kernel_path = file.path();
  if (request.ram_bytes == 0) request.ram_bytes = 64 * kMiB;
  return load_malta_kernel(request, ram);
}

TEST(MaltaLoader, PlainElfWithBootRegisters) {
  SparseRam ram(64 * kMiB, 0xee);  // bss must be zeroed over the old contents
  const LoadResult r = load(plain_elf(), ram, {.append = "console=ttyS0"});
  ASSERT_TRUE(r.state) << r.error;
  const BootState& s = *r.state;
  EXPECT_EQ(s.pc, 0x80100000u);
  EXPECT_EQ(s.a, (std::array<uint32_t, 4>{2, 0x80002000, 0x80002008, 64 << 20}));
  EXPECT_EQ(s.sp, 0x80001fc0u);
  EXPECT_EQ(s.image_start, 0x100000u);
  EXPECT_EQ(s.image_end, 0x101100u);
  EXPECT_EQ(s.initrd_start, 0u);
  EXPECT_EQ(s.initrd_size, 0u);
  EXPECT_EQ(ram.at(0x1000ff), 0x11);
  EXPECT_EQ(ram.at(0x100100), 0);
  EXPECT_EQ(ram.at(0x1010ff), 0);
  EXPECT_EQ(ram.at(0x101100), 0xee);
  EXPECT_EQ(ram.string_at(ram.word(0x2000) - 0x80000000), "loader_kernel");
  EXPECT_EQ(ram.string_at(ram.word(0x2004) - 0x80000000), "console=ttyS0");
  EXPECT_EQ(ram.string_at(ram.word(0x2008) - 0x80000000), "memsize");
  EXPECT_EQ(ram.string_at(ram.word(0x200c) - 0x80000000), "67108864");
  EXPECT_NE(s.description.find("ELF kernel"), std::string::npos) << s.description;
}

// The reference placement (MALTA.md): with 256 MiB, QEMU's rule (128 KiB headroom, then up to
// the page) puts an initrd of this size at 0x8fed0000.
TEST(MaltaLoader, InitrdAtTopOfLowRam) {
  std::vector<uint8_t> initrd(0x110000 + 123);
  for (size_t i = 0; i < initrd.size(); ++i) initrd[i] = uint8_t(i * 13);
  const TempFile initrd_file("initrd", initrd);
  SparseRam ram(512 * kMiB);
  const LoadResult r = load(plain_elf(), ram,
                            {.initrd_path = initrd_file.path(), .append = "quiet", .ram_bytes = 512 * kMiB, .rng_seed_hex = std::string(64, '0')});
  ASSERT_TRUE(r.state) << r.error;
  EXPECT_EQ(r.state->initrd_start, 0x0fed0000u);
  EXPECT_EQ(r.state->initrd_size, initrd.size());
  EXPECT_EQ(r.state->a[3], 256u << 20);  // RAM below 256 MiB
  EXPECT_EQ(ram.read(0x0fed0000, initrd.size()), initrd);
  EXPECT_EQ(ram.string_at(ram.word(0x2004) - 0x80000000), "rd_start=0xffffffff8fed0000 rd_size=1114235 quiet");
  EXPECT_EQ(ram.string_at(ram.word(0x200c) - 0x80000000), "268435456");
  EXPECT_EQ(ram.string_at(ram.word(0x2014) - 0x80000000), "536870912");
  EXPECT_EQ(ram.string_at(ram.word(0x2020) - 0x80000000), "rngseed");
  EXPECT_EQ(ram.word(0x2028), 0u);
}

TEST(MaltaLoader, InitrdPlacementIsPageAligned) {
  for (uint32_t size : {1u, 4095u, 4096u, 4097u, 1234567u}) {
    const TempFile initrd_file("initrd", std::vector<uint8_t>(size, 1));
    SparseRam ram(32 * kMiB);
    const LoadResult r = load(plain_elf(), ram, {.initrd_path = initrd_file.path(), .ram_bytes = 32 * kMiB});
    ASSERT_TRUE(r.state) << r.error;
    EXPECT_EQ(r.state->initrd_start % 4096, 0u);
    const uint32_t lowest = 32 * kMiB - size - kInitrdHeadroom;  // QEMU rounds this up to a page
    EXPECT_GE(r.state->initrd_start, lowest);
    EXPECT_LT(r.state->initrd_start, lowest + 4096);
  }
}

struct Rejected {
  const char* name;
  std::vector<uint8_t> kernel;
  LoadRequest request;
  const char* error_part;
};

void expect_error(const Rejected& c) {
  SCOPED_TRACE(c.name);
  SparseRam ram(2048 * kMiB);
  const LoadResult r = load(c.kernel, ram, c.request);
  EXPECT_FALSE(r.state);
  EXPECT_NE(r.error.find(c.error_part), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
}

TEST(MaltaLoader, ClearErrors) {
  const std::vector<uint8_t> good = plain_elf();
  const std::vector<uint8_t> big_initrd(20 * kMiB, 0);
  const TempFile big("big_initrd", big_initrd);
  const TempFile empty("empty_initrd", {});
  for (const Rejected& c : {
           Rejected{"garbage", std::vector<uint8_t>(1000, 0x42), {}, "not an ELF"},
           Rejected{"empty kernel", {}, {}, "is empty"},
           Rejected{"ram 0", good, {.ram_bytes = 1}, "between 16 MiB and 2 GiB"},
           Rejected{"ram small", good, {.ram_bytes = 8 * kMiB}, "between 16 MiB and 2 GiB"},
           Rejected{"ram huge", good, {.ram_bytes = 4096 * kMiB}, "between 16 MiB and 2 GiB"},
           Rejected{"ram odd", good, {.ram_bytes = 64 * kMiB + 512}, "multiple of 4 KiB"},
           Rejected{"outside kseg0", plain_elf(0x00100000), {}, "outside kseg0"},
           Rejected{"kseg1", plain_elf(0xa0100000), {}, "outside kseg0"},
           Rejected{"beyond ram", plain_elf(0x83ff0000, 0x20000), {}, "beyond the 64 MiB"},
           Rejected{"boot area", plain_elf(0x80001000, 0x2000), {}, "boot argument area"},
           Rejected{"entry outside", testing::build_elf(0x80200000, {{.vaddr = 0x80100000, .data = {1, 2, 3, 4}}}), {}, "entry point"},
           Rejected{"no payload", good, {.host_unpack = true}, "no xz payload"},
           Rejected{"initrd too big", good, {.initrd_path = big.path(), .ram_bytes = 16 * kMiB}, "does not fit"},
           Rejected{"initrd empty", good, {.initrd_path = empty.path()}, "is empty"},
           Rejected{"initrd missing", good, {.initrd_path = "/nonexistent/initrd"}, "missing"},
           Rejected{"overlap", plain_elf(0x80100000, 15 * kMiB), {.initrd_path = big.path(), .ram_bytes = 32 * kMiB}, "overlaps the initrd"},
           Rejected{"bad seed", good, {.rng_seed_hex = "xyz"}, "64 hex digits"},
           Rejected{"long command line", good, {.append = std::string(300, 'a')}, "command line"},
       })
    expect_error(c);
  SparseRam ram(64 * kMiB);
  const LoadResult r = load_malta_kernel({.kernel_path = "/nonexistent/vmlinuz", .ram_bytes = 64 * kMiB}, ram);
  EXPECT_NE(r.error.find("missing"), std::string::npos) << r.error;
}

TEST(MaltaLoader, SelfExtractingAsShipped) {
  const testing::SyntheticVmlinuz v = testing::make_vmlinuz();
  SparseRam ram(64 * kMiB);
  const LoadResult r = load(v.file, ram);
  ASSERT_TRUE(r.state) << r.error;
  EXPECT_EQ(r.state->pc, v.vmlinuz);
  EXPECT_EQ(r.state->image_start, v.load - 0x80000000);                            // the guest unpacks there
  const uint32_t segment_bytes = uint32_t(v.file.size()) - 96;  // after the ELF and program headers, 16-aligned
  EXPECT_EQ(r.state->image_end, v.vmlinuz - 0x80000000 + segment_bytes + 0x2000);  // the decompressor and its bss
  EXPECT_EQ(ram.at(v.load - 0x80000000), 0);                                     // nothing unpacked here
  EXPECT_NE(r.state->description.find("kernel_entry " + strprintf("%#x", v.entry)), std::string::npos) << r.state->description;
}

TEST(MaltaLoader, SelfExtractingUnpackedOnTheHost) {
  const testing::SyntheticVmlinuz v = testing::make_vmlinuz();
  SparseRam ram(64 * kMiB);
  const LoadResult r = load(v.file, ram, {.host_unpack = true});
  ASSERT_TRUE(r.state) << r.error;
  EXPECT_EQ(r.state->pc, v.entry);
  EXPECT_EQ(r.state->a, (std::array<uint32_t, 4>{2, 0x80002000, 0x80002008, 64 << 20}));
  EXPECT_EQ(r.state->image_start, v.load - 0x80000000);
  EXPECT_EQ(r.state->image_end, v.bss_end - 0x80000000);
  EXPECT_EQ(ram.read(v.load - 0x80000000, v.raw.size()), v.raw);
  EXPECT_EQ(ram.at(v.vmlinuz - 0x80000000), 0);  // the decompressor is not loaded
}

TEST(MaltaLoader, HostUnpackRejectsACorruptPayload) {
  testing::SyntheticVmlinuz v = testing::make_vmlinuz();
  v.file[v.payload_offset + 200] ^= 0xff;
  SparseRam ram(64 * kMiB);
  const LoadResult r = load(v.file, ram, {.host_unpack = true});
  EXPECT_FALSE(r.state);
  EXPECT_NE(r.error.find("xz payload"), std::string::npos) << r.error;
}

// Habit 9: random bit flips over a whole synthetic vmlinuz, in both modes: an error or a state
// inside RAM, never a crash.
TEST(MaltaLoader, SurvivesBitFlips) {
  const testing::SyntheticVmlinuz v = testing::make_vmlinuz(0x80100000, 0x4000);
  std::mt19937 rng(7);
  SCOPED_TRACE("seed 7");
  const TempFile initrd("flip_initrd", std::vector<uint8_t>(5000, 3));
  int loaded = 0;
  for (int round = 0; round < 300; ++round) {
    std::vector<uint8_t> f = v.file;
    for (int flips = 1 + int(rng() % 3); flips > 0; --flips) {
      const size_t at = rng() % 2 ? rng() % 256 : rng() % f.size();  // the headers more often
      f[at] ^= uint8_t(1u << (rng() % 8));
    }
    SparseRam ram(32 * kMiB);
    const LoadResult r = load(f, ram, {.initrd_path = initrd.path(), .ram_bytes = 32 * kMiB, .host_unpack = round % 2 == 1});
    EXPECT_NE(r.state.has_value(), !r.error.empty());
    if (r.state) {
      ++loaded;
      EXPECT_LE(r.state->image_end, r.state->initrd_start);
      EXPECT_LE(r.state->initrd_start + r.state->initrd_size, 32 * kMiB);
    }
  }
  EXPECT_GT(loaded, 0);
}

}  // namespace
}  // namespace disco::boot
