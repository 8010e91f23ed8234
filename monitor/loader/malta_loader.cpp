#include "monitor/loader/malta_loader.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <span>
#include <vector>

#include "monitor/loader/boot_files.h"
#include "monitor/loader/elf32.h"
#include "monitor/loader/mips_code_scan.h"
#include "monitor/loader/xz_payload.h"
#include "monitor/loader/yamon_environment.h"

namespace disco::boot {
namespace {

constexpr uint32_t kStreamChunk = 1u << 20;
constexpr uint32_t kVmlinuzAlign = 64u << 10;  // arch/mips/boot/compressed/calc_vmlinuz_load_addr.c
constexpr uint32_t kBootAreaStart = kseg0_to_phys(kBootStackVaddr);
constexpr uint32_t kBootAreaEnd = kPromPhys + kPromBytes;

uint64_t round_up(uint64_t v, uint64_t align) { return (v + align - 1) / align * align; }

Outcome<std::vector<uint8_t>> read_kernel(const std::string& path) {
  using R = Outcome<std::vector<uint8_t>>;
  const Outcome<uint64_t> size = boot_file_size("kernel", path, kMaxKernelFileBytes);
  if (!size.value) return R::fail(size.error);
  std::vector<uint8_t> bytes(*size.value);
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size())))
    return R::fail(strprintf("cannot read kernel '%s': short read", path.c_str()));
  return {std::move(bytes)};
}

// Writes `bytes` at `paddr`, or says where guest RAM refused them.
std::string write(PhysicalWriter& memory, uint32_t paddr, std::span<const uint8_t> bytes) {
  if (memory.write(paddr, bytes)) return "";
  return strprintf("guest RAM refused %zu bytes at physical %#x", bytes.size(), paddr);
}

std::string write_zeros(PhysicalWriter& memory, uint32_t paddr, uint32_t size) {
  static constexpr std::array<uint8_t, 64 << 10> kZeros{};
  for (uint32_t done = 0; done < size;) {
    const uint32_t n = std::min<uint32_t>(size - done, kZeros.size());
    if (std::string e = write(memory, paddr + done, std::span(kZeros.data(), n)); !e.empty()) return e;
    done += n;
  }
  return "";
}

// Where the segments may go: inside kseg0, inside low RAM, clear of the argument table.
std::string check_segments(const Elf32Image& elf, uint32_t ram_low) {
  for (const ElfSegment& s : elf.loads) {
    const uint32_t last = s.vaddr + s.memsz - 1;
    if (!in_kseg0(s.vaddr) || !in_kseg0(last))
      return strprintf("PT_LOAD %#x-%#x is outside kseg0 (0x80000000-0x9fffffff)", s.vaddr, last);
    const uint32_t start = kseg0_to_phys(s.vaddr), end = kseg0_to_phys(last) + 1;
    if (end > ram_low) return strprintf("PT_LOAD %#x-%#x is beyond the %u MiB of low RAM", s.vaddr, last, ram_low >> 20);
    if (start < kBootAreaEnd && end > kBootAreaStart)
      return strprintf("PT_LOAD %#x-%#x overlaps the boot argument area (physical %#x-%#x)", s.vaddr, last, kBootAreaStart, kBootAreaEnd);
  }
  if (!elf.segment_at(elf.entry)) return strprintf("entry point %#x is not inside a PT_LOAD segment", elf.entry);
  return "";
}

// The raw kernel inside a self-extracting vmlinuz (arch/mips/boot/compressed).
struct InnerImage {
  std::span<const uint8_t> stream;  // the xz stream in the file
  uint32_t load = 0;                // kseg0 address it unpacks to (VMLINUX_LOAD_ADDRESS)
  uint32_t size = 0;                // unpacked bytes, bss not included
  uint32_t entry = 0;               // kernel_entry
};

// Reads the inner image's facts from the file. The decompressor is linked right above the raw
// image: its address is load + size rounded up to the next 64 KiB boundary, always moving
// (calc_vmlinuz_load_addr), which gives the load address; the decompressor's code must build
// that constant (it passes it to __decompress). kernel_entry is the target of head.S's
// `PTR_LI t9, KERNEL_ENTRY; jalr t9` that lands inside the raw image.
Outcome<InnerImage> locate_inner_image(std::span<const uint8_t> file, const Elf32Image& elf) {
  using R = Outcome<InnerImage>;
  const ElfSegment& seg = *elf.segment_at(elf.entry);
  const std::span<const uint8_t> data = file.subspan(seg.offset, seg.filesz);
  const std::optional<XzPayload> payload = find_xz_payload(data);
  if (!payload) return R::fail("no xz payload (CRC-valid stream header and footer, then a 4-byte size) in the kernel's PT_LOAD data");
  InnerImage inner{.stream = data.subspan(payload->offset, payload->length), .size = payload->unpacked_size};
  const uint64_t footprint = uint64_t{inner.size} + (kVmlinuzAlign - inner.size % kVmlinuzAlign);
  if (inner.size == 0 || footprint > seg.vaddr - kKseg0Base)
    return R::fail(strprintf("xz payload's size trailer (%u bytes) does not fit below the decompressor at %#x", inner.size, seg.vaddr));
  inner.load = seg.vaddr - uint32_t(footprint);

  const std::span<const uint8_t> code = data.first(payload->offset);
  if (!materialises_constant(code, inner.load))
    return R::fail(strprintf("the decompressor's code never builds the load address %#x its layout implies", inner.load));
  const uint32_t entry_offset = elf.entry - seg.vaddr;
  const std::optional<uint32_t> entry =
      entry_offset < code.size()
          ? find_t9_jump(code.subspan(entry_offset), [&](uint32_t t) { return t >= inner.load && t - inner.load < inner.size; })
          : std::nullopt;
  if (!entry) return R::fail(strprintf("no jump into the unpacked image (lui/addiu|ori/jr t9) in the decompressor at %#x", elf.entry));
  inner.entry = *entry;
  return {inner};
}

struct Placed {
  uint32_t pc = 0, image_start = 0, image_end = 0;
  std::string description;
};

// Default mode: the ELF as shipped; the guest runs the decompressor.
Outcome<Placed> place_elf(std::span<const uint8_t> file, const Elf32Image& elf, PhysicalWriter& memory) {
  using R = Outcome<Placed>;
  Placed placed{.pc = elf.entry, .image_start = UINT32_MAX};
  for (const ElfSegment& s : elf.loads) {
    const uint32_t paddr = kseg0_to_phys(s.vaddr);
    if (std::string e = write(memory, paddr, file.subspan(s.offset, s.filesz)); !e.empty()) return R::fail(e);
    if (std::string e = write_zeros(memory, paddr + s.filesz, s.memsz - s.filesz); !e.empty()) return R::fail(e);
    placed.image_start = std::min(placed.image_start, paddr);
    placed.image_end = std::max(placed.image_end, paddr + s.memsz);
  }
  const Outcome<InnerImage> inner = locate_inner_image(file, elf);
  if (!inner.value) {
    placed.description = strprintf("ELF kernel, %zu segment(s) at physical %#x-%#x, entry %#x", elf.loads.size(),
                                   placed.image_start, placed.image_end, elf.entry);
    return {placed};
  }
  // The guest's decompressor will also write the raw image (its bss, which only unpacking
  // reveals, is cleared by kernel_entry later and is not counted here).
  const uint32_t load = kseg0_to_phys(inner.value->load);
  placed.image_start = std::min(placed.image_start, load);
  placed.image_end = std::max(placed.image_end, load + inner.value->size);
  placed.description = strprintf("self-extracting vmlinuz: decompressor entered at %#x; its xz payload (%zu bytes) unpacks to "
                                 "%u bytes at %#x, kernel_entry %#x",
                                 elf.entry, inner.value->stream.size(), inner.value->size, inner.value->load, inner.value->entry);
  return {placed};
}

// host_unpack mode: the raw image unpacked here, entered at kernel_entry. kernel_entry zeroes its
// own bss, so nothing is cleared here; the bss range read from its code extends image_end.
Outcome<Placed> place_unpacked(std::span<const uint8_t> file, const Elf32Image& elf, uint32_t ram_low, PhysicalWriter& memory) {
  using R = Outcome<Placed>;
  const Outcome<InnerImage> located = locate_inner_image(file, elf);
  if (!located.value) return R::fail("host unpack: " + located.error);
  const InnerImage& inner = *located.value;
  const uint32_t load = kseg0_to_phys(inner.load);
  if (uint64_t{load} + inner.size > ram_low)
    return R::fail(strprintf("unpacked kernel (%u bytes at %#x) is beyond the %u MiB of low RAM", inner.size, inner.load, ram_low >> 20));
  if (load < kBootAreaEnd) return R::fail(strprintf("unpacked kernel at %#x overlaps the boot argument area", inner.load));

  std::vector<uint8_t> entry_code;  // the start of kernel_entry, captured as it streams past
  const uint32_t entry_offset = inner.entry - inner.load;
  const auto started = std::chrono::steady_clock::now();
  const std::string error = unpack_xz(inner.stream, inner.size, [&](uint32_t offset, std::span<const uint8_t> bytes) {
    const uint64_t want_end = uint64_t{entry_offset} + kBssScanWords * 4;
    if (offset + bytes.size() > entry_offset && offset < want_end) {
      const size_t from = entry_offset > offset ? entry_offset - offset : 0;
      const size_t to = std::min<uint64_t>(bytes.size(), want_end - offset);
      entry_code.insert(entry_code.end(), bytes.begin() + from, bytes.begin() + to);
    }
    return memory.write(load + offset, bytes);
  });
  if (!error.empty()) return R::fail("host unpack: " + error);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  Placed placed{.pc = inner.entry, .image_start = load, .image_end = load + inner.size};
  const std::optional<BssRange> bss = find_bss_clear(entry_code);
  const bool bss_plausible = bss && bss->start >= inner.load + inner.size && kseg0_to_phys(bss->end) <= ram_low && in_kseg0(bss->start);
  if (bss_plausible) placed.image_end = kseg0_to_phys(bss->end);
  placed.description = strprintf("vmlinuz unpacked on the host in %.2f s: %u bytes at %#x, %s, entering kernel_entry %#x", seconds,
                                 inner.size, inner.load,
                                 bss_plausible ? strprintf("bss %#x-%#x", bss->start, bss->end).c_str() : "bss not found in kernel_entry",
                                 inner.entry);
  return {placed};
}

}  // namespace

LoadResult load_malta_kernel(const LoadRequest& request, PhysicalWriter& memory) {
  auto fail = [](std::string why) { return LoadResult{std::nullopt, std::move(why)}; };
  if (request.ram_bytes < kMinRamBytes || request.ram_bytes > kMaxRamBytes || request.ram_bytes % kPageSize != 0)
    return fail(strprintf("RAM size %llu bytes: must be a multiple of 4 KiB between 16 MiB and 2 GiB", (unsigned long long)request.ram_bytes));
  const uint32_t ram_low = uint32_t(std::min<uint64_t>(request.ram_bytes, kLowRamLimit));

  const Outcome<std::vector<uint8_t>> file = read_kernel(request.kernel_path);
  if (!file.value) return fail(file.error);
  const Outcome<Elf32Image> elf = parse_elf32_mips(*file.value);
  if (!elf.value) return fail(strprintf("kernel '%s': %s", request.kernel_path.c_str(), elf.error.c_str()));
  if (std::string e = check_segments(*elf.value, ram_low); !e.empty()) return fail(strprintf("kernel '%s': %s", request.kernel_path.c_str(), e.c_str()));

  // The initrd's place depends only on its size: check it before writing anything.
  BootState state;
  if (!request.initrd_path.empty()) {
    const Outcome<uint64_t> size = boot_file_size("initrd", request.initrd_path, ram_low);
    if (!size.value) return fail(size.error);
    if (*size.value + kInitrdHeadroom > ram_low)
      return fail(strprintf("initrd '%s' (%llu bytes) does not fit in %u MiB of low RAM", request.initrd_path.c_str(),
                            (unsigned long long)*size.value, ram_low >> 20));
    state.initrd_size = uint32_t(*size.value);
    state.initrd_start = uint32_t(round_up(ram_low - state.initrd_size - kInitrdHeadroom, kPageSize));
  }

  const Outcome<Placed> placed = request.host_unpack ? place_unpacked(*file.value, *elf.value, ram_low, memory)
                                                     : place_elf(*file.value, *elf.value, memory);
  if (!placed.value) return fail(strprintf("kernel '%s': %s", request.kernel_path.c_str(), placed.error.c_str()));
  state.pc = placed.value->pc;
  state.image_start = placed.value->image_start;
  state.image_end = placed.value->image_end;
  state.description = placed.value->description;

  std::string command_line = request.append;
  if (state.initrd_size > 0) {
    if (state.image_end > state.initrd_start)
      return fail(strprintf("kernel (physical %#x-%#x) overlaps the initrd (%#x-%#x): give the guest more RAM", state.image_start,
                            state.image_end, state.initrd_start, state.initrd_start + state.initrd_size));
    std::ifstream in(request.initrd_path, std::ios::binary);
    std::vector<uint8_t> chunk(kStreamChunk);
    for (uint32_t done = 0; done < state.initrd_size;) {
      const uint32_t n = std::min<uint32_t>(state.initrd_size - done, kStreamChunk);
      if (!in.read(reinterpret_cast<char*>(chunk.data()), n))
        return fail(strprintf("cannot read initrd '%s': short read at byte %u", request.initrd_path.c_str(), done));
      if (std::string e = write(memory, state.initrd_start + done, std::span(chunk.data(), n)); !e.empty()) return fail(e);
      done += n;
    }
    command_line = initrd_command_line(state.initrd_start, state.initrd_size, request.append);
    state.description += strprintf("; initrd %u bytes at %#x", state.initrd_size, phys_to_kseg0(state.initrd_start));
  }

  const Outcome<std::vector<uint8_t>> prom = build_yamon_prom({
      .kernel_name = std::filesystem::path(request.kernel_path).filename().string(),
      .command_line = command_line,
      .memsize = ram_low,
      .ememsize = request.ram_bytes,
      .rng_seed_hex = request.rng_seed_hex,
  });
  if (!prom.value) return fail(prom.error);
  if (std::string e = write(memory, kPromPhys, *prom.value); !e.empty()) return fail(e);

  state.a = {kBootArgc, kArgvVaddr, kEnvpVaddr, ram_low};
  state.sp = kBootStackVaddr;
  return {std::move(state), ""};
}

}  // namespace disco::boot
