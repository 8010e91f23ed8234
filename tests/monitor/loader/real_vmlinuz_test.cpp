// Debian's 6.1 4kc-malta vmlinuz (scripts/fetch-guest): the facts MALTA.md measured for -50 are
// re-derived from the file. Skips when the guest cache is absent.
#include <chrono>
#include <filesystem>

#include <gtest/gtest.h>

#include "monitor/loader/malta_loader.h"
#include "tests/monitor/loader/loader_test_support.h"

namespace disco::boot {
namespace {

constexpr uint64_t kRam = 256u << 20;

class RealVmlinuz : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(DISCO_VMLINUZ)) GTEST_SKIP() << DISCO_VMLINUZ << " is absent: run scripts/fetch-guest";
  }
};

TEST_F(RealVmlinuz, AsShippedEntersTheDecompressor) {
  testing::SparseRam ram(kRam);
  const LoadResult r = load_malta_kernel({.kernel_path = DISCO_VMLINUZ, .append = "console=ttyS0", .ram_bytes = kRam}, ram);
  ASSERT_TRUE(r.state) << r.error;
  std::cout << r.state->description << "\n";
  EXPECT_EQ(r.state->pc, 0x810f0000u);
  EXPECT_EQ(r.state->a, (std::array<uint32_t, 4>{2, 0x80002000, 0x80002008, 0x10000000}));
  EXPECT_EQ(r.state->sp, 0x80001fc0u);
  EXPECT_EQ(r.state->image_start, 0x00100000u);  // where the decompressor unpacks to
  EXPECT_EQ(r.state->image_end, 0x010f0000u + 0x9adb80u);  // the decompressor's own bss end
  EXPECT_NE(r.state->description.find("kernel_entry 0x80b174bc"), std::string::npos) << r.state->description;
  EXPECT_EQ(ram.word(0x10f0000), 0x00808025u);  // start: move s0,a0
}

TEST_F(RealVmlinuz, HostUnpackEntersKernelEntry) {
  std::vector<uint8_t> initrd(0x110000 + 123, 0x5a);  // puts rd_start where MALTA.md saw it
  const testing::TempFile initrd_file("real_initrd", initrd);
  testing::SparseRam ram(kRam);
  const auto started = std::chrono::steady_clock::now();
  const LoadResult r = load_malta_kernel(
      {.kernel_path = DISCO_VMLINUZ, .initrd_path = initrd_file.path(), .append = "nokaslr", .ram_bytes = kRam, .host_unpack = true}, ram);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(r.state) << r.error;
  std::cout << r.state->description << "\n";
  RecordProperty("load_seconds", std::to_string(seconds));
  std::cout << "host unpack and load took " << seconds << " s\n";
  EXPECT_EQ(r.state->pc, 0x80b174bcu);  // kernel_entry of 6.1.0-50
  EXPECT_EQ(r.state->a, (std::array<uint32_t, 4>{2, 0x80002000, 0x80002008, 0x10000000}));
  EXPECT_EQ(r.state->image_start, 0x00100000u);  // linked at 0x80100000
  EXPECT_EQ(r.state->image_end, 0x011415a0u);    // bss end, read from kernel_entry's loop
  EXPECT_EQ(r.state->initrd_start, 0x0fed0000u);
  EXPECT_EQ(r.state->initrd_size, initrd.size());
  // The unpacked image: 1 KiB of zeros, then head.S's `j kernel_entry`; kernel_entry's mfc0 t0,Status.
  EXPECT_EQ(ram.read(0x100000, 0x400), std::vector<uint8_t>(0x400, 0));
  EXPECT_EQ(ram.word(0x100400), 0x082c5d2fu);
  EXPECT_EQ(ram.word(0xb174bc), 0x40086000u);
  EXPECT_EQ(ram.word(0xb174d8), 0x3c0880b1u);  // lui t0,0x80b1: kernel_entry addresses itself
  EXPECT_EQ(ram.at(0x100000 + 0xfe8170), 0);   // nothing written past the image
  EXPECT_EQ(ram.string_at(ram.word(0x2004) - 0x80000000), "rd_start=0xffffffff8fed0000 rd_size=1114235 nokaslr");
  EXPECT_EQ(ram.word(0x10f0000), 0u);  // the decompressor is not loaded
}

}  // namespace
}  // namespace disco::boot
