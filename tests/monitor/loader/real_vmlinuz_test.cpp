// Debian's 4kc-malta vmlinuz, fetched here with scripts/fetch-guest as the launcher fetches it.
// The expected layout is read from the file (its ELF header, and the image its xz payload unpacks
// to), so a new kernel release does not break the test; what MALTA.md's boot contract fixes (a0-a3,
// sp, rd_start, the Malta's link address, the code head.S starts with) is checked as constants.
#include <chrono>
#include <fstream>

#include <gtest/gtest.h>

#include "monitor/loader/elf32.h"
#include "monitor/loader/malta_loader.h"
#include "monitor/loader/mips_code_scan.h"
#include "monitor/loader/xz_payload.h"
#include "tests/fetch_guest.h"
#include "tests/monitor/loader/loader_test_support.h"

namespace disco::boot {
namespace {

constexpr uint64_t kRam = 256u << 20;
constexpr uint8_t kUntouched = 0xee;  // guest RAM the loader never wrote reads as this
// The boot contract (MALTA.md): argc, argv, envp, RAM below 256 MiB; the stack below argv.
constexpr std::array<uint32_t, 4> kArgs{2, 0x80002000, 0x80002008, 0x10000000};
constexpr uint32_t kStack = 0x80001fc0;
constexpr uint32_t kMaltaLoad = 0x80100000;        // VMLINUX_LOAD_ADDRESS (arch/mips/mti-malta/Platform)
constexpr uint32_t kMoveS0A0 = 0x00808025;         // `start: move s0,a0` (arch/mips/boot/compressed/head.S)
constexpr uint32_t kMfc0T0Status = 0x40086000;     // kernel_entry's setup_c0_status_pri (arch/mips/kernel/head.S)
constexpr uint32_t kHeadJumpOffset = 0x400;        // head.S: 1 KiB of zeros, then `j kernel_entry`
constexpr uint32_t kVmlinuzAlign = 64u << 10;      // calc_vmlinuz_load_addr: the decompressor's alignment

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
uint32_t word_of(const std::vector<uint8_t>& b, size_t at) {
  return b[at] | b[at + 1] << 8 | b[at + 2] << 16 | uint32_t(b[at + 3]) << 24;
}

// What the file says, found without the loader's own scans: the ELF's segments, and the raw image
// whose head.S jumps to kernel_entry.
struct KernelFacts {
  std::vector<uint8_t> file;
  Elf32Image elf;
  std::vector<uint8_t> image;  // unpacked, linked at kMaltaLoad
  uint32_t kernel_entry = 0;
  std::string error;
};

KernelFacts read_facts() {
  KernelFacts f;
  f.file = read_file(test::kGuestKernel);
  const Outcome<Elf32Image> elf = parse_elf32_mips(f.file);
  if (!elf.value) return {.error = "not an ELF: " + elf.error};
  f.elf = *elf.value;
  const ElfSegment* seg = f.elf.segment_at(f.elf.entry);
  if (seg == nullptr) return {.error = "the entry is in no PT_LOAD"};
  const std::span<const uint8_t> data(f.file.data() + seg->offset, seg->filesz);
  const std::optional<XzPayload> payload = find_xz_payload(data);
  if (!payload) return {.error = "no xz payload"};
  f.image.reserve(payload->unpacked_size);
  const std::string unpacked = unpack_xz(data.subspan(payload->offset, payload->length), payload->unpacked_size,
                                         [&](uint32_t, std::span<const uint8_t> bytes) {
                                           f.image.insert(f.image.end(), bytes.begin(), bytes.end());
                                           return true;
                                         });
  if (!unpacked.empty()) return {.error = "unpacking: " + unpacked};
  const uint32_t j = word_of(f.image, kHeadJumpOffset);
  if (j >> 26 != 2) return {.error = "no `j kernel_entry` at 0x400 of the image"};
  f.kernel_entry = ((kMaltaLoad + kHeadJumpOffset + 4) & 0xf0000000u) | (j & 0x03ffffffu) << 2;
  return f;
}

class RealVmlinuz : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(test::fetch_guest(), "");
    static const KernelFacts facts = read_facts();
    ASSERT_EQ(facts.error, "") << test::kGuestKernel;
    f = &facts;
  }
  // Sampled pages of `bytes` (every 16th, and the last) are in `ram` at `paddr`.
  static void expect_in_ram(const testing::SparseRam& ram, uint32_t paddr, std::span<const uint8_t> bytes) {
    for (size_t at = 0; at < bytes.size(); at += 16 * kPageSize) {
      const size_t n = std::min<size_t>(kPageSize, bytes.size() - at);
      ASSERT_EQ(ram.read(uint32_t(paddr + at), n), std::vector<uint8_t>(bytes.begin() + at, bytes.begin() + at + n))
          << "at physical 0x" << std::hex << paddr + at;
    }
    const size_t last = bytes.size() - std::min<size_t>(bytes.size(), kPageSize);
    EXPECT_EQ(ram.read(uint32_t(paddr + last), bytes.size() - last), std::vector<uint8_t>(bytes.begin() + last, bytes.end()));
  }
  const KernelFacts* f = nullptr;
};

TEST_F(RealVmlinuz, TheDecompressorSitsRightAboveTheImage) {
  // What the loader's derivation of the load address rests on (calc_vmlinuz_load_addr).
  ASSERT_FALSE(f->elf.loads.empty());
  const uint32_t size = uint32_t(f->image.size());
  EXPECT_EQ(f->elf.segment_at(f->elf.entry)->vaddr, kMaltaLoad + size + (kVmlinuzAlign - size % kVmlinuzAlign));
  EXPECT_EQ(f->elf.entry >> 28, 8u) << "kseg0";
}

TEST_F(RealVmlinuz, AsShippedEntersTheDecompressor) {
  testing::SparseRam ram(kRam, kUntouched);
  const LoadResult r = load_malta_kernel({.kernel_path = test::kGuestKernel, .append = "console=ttyS0", .ram_bytes = kRam}, ram);
  ASSERT_TRUE(r.state) << r.error;
  std::cout << r.state->description << "\n";
  EXPECT_EQ(r.state->pc, f->elf.entry);
  EXPECT_EQ(r.state->a, kArgs);
  EXPECT_EQ(r.state->sp, kStack);
  EXPECT_EQ(r.state->image_start, kseg0_to_phys(kMaltaLoad)) << "where the decompressor unpacks to";
  uint32_t end = 0;
  for (const ElfSegment& s : f->elf.loads) {
    end = std::max(end, kseg0_to_phys(s.vaddr) + s.memsz);
    expect_in_ram(ram, kseg0_to_phys(s.vaddr), std::span(f->file).subspan(s.offset, s.filesz));
    if (s.memsz > s.filesz) {  // the decompressor's bss, zero-filled
      EXPECT_EQ(ram.word(kseg0_to_phys(s.vaddr) + s.filesz), 0u);
      EXPECT_EQ(ram.word(kseg0_to_phys(s.vaddr) + s.memsz - 4), 0u);
    }
  }
  EXPECT_EQ(r.state->image_end, end) << "the decompressor's own bss end";
  char entry[32];
  std::snprintf(entry, sizeof entry, "kernel_entry %#x", f->kernel_entry);
  EXPECT_NE(r.state->description.find(entry), std::string::npos) << r.state->description;
  EXPECT_EQ(ram.word(kseg0_to_phys(f->elf.entry)), kMoveS0A0);
  EXPECT_EQ(ram.at(kseg0_to_phys(kMaltaLoad)), kUntouched) << "the guest's decompressor writes the image";
}

TEST_F(RealVmlinuz, HostUnpackEntersKernelEntry) {
  std::vector<uint8_t> initrd(0x110000 + 123, 0x5a);  // puts rd_start where MALTA.md saw it
  const testing::TempFile initrd_file("real_initrd", initrd);
  testing::SparseRam ram(kRam, kUntouched);
  const auto started = std::chrono::steady_clock::now();
  const LoadResult r = load_malta_kernel(
      {.kernel_path = test::kGuestKernel, .initrd_path = initrd_file.path(), .append = "nokaslr", .ram_bytes = kRam, .host_unpack = true}, ram);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(r.state) << r.error;
  std::cout << r.state->description << "\n";
  RecordProperty("load_seconds", std::to_string(seconds));
  std::cout << "host unpack and load took " << seconds << " s\n";
  EXPECT_EQ(r.state->pc, f->kernel_entry);
  EXPECT_EQ(r.state->a, kArgs);
  EXPECT_EQ(r.state->sp, kStack);
  const uint32_t load = kseg0_to_phys(kMaltaLoad), size = uint32_t(f->image.size());
  EXPECT_EQ(r.state->image_start, load);
  EXPECT_EQ(r.state->initrd_start, 0x0fed0000u);
  EXPECT_EQ(r.state->initrd_size, initrd.size());
  expect_in_ram(ram, load, f->image);
  EXPECT_EQ(ram.read(load, kHeadJumpOffset), std::vector<uint8_t>(kHeadJumpOffset, 0));
  EXPECT_EQ(ram.word(kseg0_to_phys(f->kernel_entry)), kMfc0T0Status);
  EXPECT_EQ(ram.at(load + size), kUntouched) << "nothing written past the image: kernel_entry clears its bss";
  // The bss, read from kernel_entry's clearing loop, ends past the image, below the initrd, and
  // kernel_entry builds its last word's address (`PTR_LA t1, __bss_stop - LONGSIZE`).
  EXPECT_GT(r.state->image_end, load + size);
  EXPECT_LE(r.state->image_end, r.state->initrd_start);
  const size_t entry_offset = f->kernel_entry - kMaltaLoad;
  EXPECT_TRUE(materialises_constant(std::span(f->image).subspan(entry_offset, kBssScanWords * 4),
                                    phys_to_kseg0(r.state->image_end) - 4))
      << std::hex << "bss end 0x" << r.state->image_end;
  EXPECT_EQ(ram.string_at(ram.word(0x2004) - 0x80000000), "rd_start=0xffffffff8fed0000 rd_size=1114235 nokaslr");
  EXPECT_EQ(ram.word(kseg0_to_phys(f->elf.entry)), kUntouched * 0x01010101u) << "the decompressor is not loaded";
}

}  // namespace
}  // namespace disco::boot
