#include "monitor/devices/gt64120.h"

#include <string_view>

namespace disco::malta {

namespace {
// Register offsets the board decodes or Linux uses (arch/mips/include/asm/gt64120.h).
enum : uint32_t {
  kPci0IoLow = 0x048, kPci0IoHigh = 0x050, kPci0Mem0Low = 0x058, kPci0Mem0High = 0x060, kIsd = 0x068,
  kPci0Mem1Low = 0x080, kPci0Mem1High = 0x088, kPci0IoRemap = 0x0f0, kPci0Mem0Remap = 0x0f8,
  kPci0Mem1Remap = 0x100, kIntrCause = 0xc18, kIntrMask = 0xc1c, kPci0IcMask = 0xc24, kPci0Iack = 0xc34,
  kPci0ConfigAddress = 0xcf8, kPci0ConfigData = 0xcfc,
};
constexpr uint32_t kDecodeShift = 21;  // decode registers hold address bits 35:21
constexpr uint32_t kLowDecodeBits = 0x7fff, kHighDecodeBits = 0x7f, kRemapBits = 0x7ff;
constexpr uint32_t kCauseMasterAbort = 1u << 18;
constexpr uint32_t kConfigEnable = 0x80000000, kConfigAddressBits = 0x80fffffc;

// One row per register: data-sheet reset value and writable bits (STYLE habit 2).
struct RegisterInfo {
  uint32_t offset;
  std::string_view name;
  uint32_t reset;
  uint32_t writable;
};
constexpr RegisterInfo kRegisters[] = {
    {0x000, "CPU", 0x00001000, 0x0000ffff},  // bit 12: little-endian CPU bus
    {0x008, "SCS10LD", 0x000, kLowDecodeBits}, {0x010, "SCS10HD", 0x07, kHighDecodeBits},
    {0x018, "SCS32LD", 0x008, kLowDecodeBits}, {0x020, "SCS32HD", 0x0f, kHighDecodeBits},
    {0x028, "CS20LD", 0x0e0, kLowDecodeBits},  {0x030, "CS20HD", 0x70, kHighDecodeBits},
    {0x038, "CS3BOOTLD", 0x0f8, kLowDecodeBits}, {0x040, "CS3BOOTHD", 0x7f, kHighDecodeBits},
    {kPci0IoLow, "PCI0IOLD", 0x080, kLowDecodeBits}, {kPci0IoHigh, "PCI0IOHD", 0x0f, kHighDecodeBits},
    {kPci0Mem0Low, "PCI0M0LD", 0x090, kLowDecodeBits}, {kPci0Mem0High, "PCI0M0HD", 0x1f, kHighDecodeBits},
    {kIsd, "ISD", 0x0a0, kLowDecodeBits},
    {0x070, "CPUERR_ADDRLO", 0, 0}, {0x078, "CPUERR_ADDRHI", 0, 0},
    {kPci0Mem1Low, "PCI0M1LD", 0x790, kLowDecodeBits}, {kPci0Mem1High, "PCI0M1HD", 0x1f, kHighDecodeBits},
    {0x0d0, "SCS10AR", 0x000, kRemapBits}, {0x0d8, "SCS32AR", 0x008, kRemapBits},
    {0x0e0, "CS20R", 0x0e0, kRemapBits}, {0x0e8, "CS3BOOTR", 0x0f8, kRemapBits},
    {kPci0IoRemap, "PCI0IOREMAP", 0x080, kRemapBits}, {kPci0Mem0Remap, "PCI0M0REMAP", 0x090, kRemapBits},
    {kPci0Mem1Remap, "PCI0M1REMAP", 0x790, kRemapBits},
    {0x400, "SCS0LD", 0x00, 0xff}, {0x404, "SCS0HD", 0x07, 0xff}, {0x408, "SCS1LD", 0x08, 0xff},
    {0x40c, "SCS1HD", 0x0f, 0xff}, {0x410, "SCS2LD", 0x10, 0xff}, {0x414, "SCS2HD", 0x17, 0xff},
    {0x418, "SCS3LD", 0x18, 0xff}, {0x41c, "SCS3HD", 0x1f, 0xff}, {0x420, "CS0LD", 0xc0, 0xff},
    {0x424, "CS0HD", 0xc7, 0xff}, {0x428, "CS1LD", 0xc8, 0xff}, {0x42c, "CS1HD", 0xcf, 0xff},
    {0x430, "CS2LD", 0xd0, 0xff}, {0x434, "CS2HD", 0xdf, 0xff}, {0x438, "CS3LD", 0xf0, 0xff},
    {0x43c, "CS3HD", 0xfb, 0xff}, {0x440, "BOOTLD", 0xfc, 0xff}, {0x444, "BOOTHD", 0xff, 0xff},
    {0xc00, "PCI0_CMD", 0x00000001, 0xffffffff},  // MByteSwap set: no swapping on a little-endian board
    {0xc04, "PCI0_TOR", 0x0000070f, 0xffffffff},
    {0xc08, "PCI0_BS_SCS10", 0x00fff000, 0x0ffff000}, {0xc0c, "PCI0_BS_SCS32", 0x00fff000, 0x0ffff000},
    {0xc10, "PCI0_BS_CS20", 0x01fff000, 0x0ffff000}, {0xc14, "PCI0_BS_CS3BT", 0x00fff000, 0x0ffff000},
    {kIntrCause, "INTRCAUSE", 0, 0}, {kIntrMask, "INTRMASK", 0, 0x3ffffffe},
    {kPci0IcMask, "PCI0_ICMASK", 0, 0x3ffffffe}, {kPci0Iack, "PCI0_IACK", 0, 0},
    {0xc3c, "PCI0_BARE", 0x0000000f, 0x000001ff}, {0xc40, "PCI0_PREFMBR", 0x00000040, 0xffffffff},
    {kPci0ConfigAddress, "PCI0_CFGADDR", 0, kConfigAddressBits}, {kPci0ConfigData, "PCI0_CFGDATA", 0, 0},
};

uint32_t lane_mask(uint32_t offset, unsigned size) {
  const uint32_t bytes = size >= 4 ? 0xffffffffu : ((1u << (8 * size)) - 1);
  return bytes << (8 * (offset & 3));
}
}  // namespace

Gt64120::Gt64120(PciBus& bus, std::function<uint8_t()> interrupt_acknowledge)
    : bus_(bus), interrupt_acknowledge_(std::move(interrupt_acknowledge)) {
  for (const RegisterInfo& r : kRegisters) {
    regs_[r.offset / 4] = r.reset;
    writable_[r.offset / 4] = r.writable;
    known_[r.offset / 4] = true;
  }
  decode_windows();
}

uint32_t Gt64120::isd_base() const { return (reg(kIsd) & kRemapBits) << kDecodeShift; }

void Gt64120::decode_windows() {
  struct Registers {
    uint32_t low_decode, high_decode, remap;
    Space space;
  };
  static constexpr Registers kWindows[] = {
      {kPci0IoLow, kPci0IoHigh, kPci0IoRemap, Space::Io},
      {kPci0Mem0Low, kPci0Mem0High, kPci0Mem0Remap, Space::Memory},
      {kPci0Mem1Low, kPci0Mem1High, kPci0Mem1Remap, Space::Memory},
  };
  for (size_t i = 0; i < windows_.size(); ++i) {
    const Registers& w = kWindows[i];
    DecodedWindow& d = windows_[i];
    const uint32_t low = reg(w.low_decode);
    // The high decode register supplies bits 27:21; the bits above come from the low register.
    const uint32_t high = (low & ~kHighDecodeBits) | (reg(w.high_decode) & kHighDecodeBits);
    d.start = low << kDecodeShift;
    d.end = d.start;
    // Above 4 GiB the window is unreachable from a 32-bit CPU address.
    if (!(low & ~kRemapBits) && high >= low) d.end = (uint64_t(high) + 1) << kDecodeShift;
    d.pci_base = (reg(w.remap) & kRemapBits) << kDecodeShift;
    d.space = w.space;
  }
}

void Gt64120::master_abort() { reg(kIntrCause) |= kCauseMasterAbort; }

uint32_t Gt64120::read_register(uint32_t offset) {
  switch (offset) {
    case kIntrCause: {
      const uint32_t cause = reg(kIntrCause);
      // The summary bits: IntSum and CPUIntSum (bits 0, 30) for the CPU mask, PCIIntSum (31).
      const bool cpu = cause & reg(kIntrMask), pci = cause & reg(kPci0IcMask);
      return cause | (cpu ? 0x40000001u : 0) | (pci ? 0x80000000u : 0);
    }
    case kPci0Iack: return interrupt_acknowledge_();
    case kPci0ConfigData: {
      const uint32_t address = reg(kPci0ConfigAddress);
      if (!(address & kConfigEnable)) {
        errors_.report(offset, "config data read with ConfigEn clear");
        return 0xffffffff;
      }
      if (auto v = bus_.config_read(address >> 16 & 0xff, address >> 8 & 0xff, address >> 2 & 0x3f)) return *v;
      master_abort();
      return 0xffffffff;
    }
    default: return reg(offset);
  }
}

void Gt64120::write_register(uint32_t offset, uint32_t value, uint32_t byte_lanes) {
  switch (offset) {
    case kIntrCause:
      // Software clears a cause bit by writing 0 to it; 1 leaves it alone.
      reg(kIntrCause) &= value | ~byte_lanes;
      return;
    case kPci0ConfigData: {
      const uint32_t address = reg(kPci0ConfigAddress);
      if (!(address & kConfigEnable)) {
        errors_.report(offset, "config data write with ConfigEn clear");
        return;
      }
      if (!bus_.config_write(address >> 16 & 0xff, address >> 8 & 0xff, address >> 2 & 0x3f, value, byte_lanes)) {
        master_abort();
      }
      return;
    }
    default: break;
  }
  const uint32_t mask = writable_[offset / 4] & byte_lanes;
  reg(offset) = (reg(offset) & ~mask) | (value & mask);
  // Writing a PCI window's low decode register also loads its remap register (data sheet,
  // "PCI_0 I/O and Memory Remap"), so a window maps 1:1 until software remaps it.
  if (offset == kPci0IoLow || offset == kPci0Mem0Low || offset == kPci0Mem1Low) {
    const uint32_t remap = offset == kPci0IoLow ? kPci0IoRemap : offset == kPci0Mem0Low ? kPci0Mem0Remap : kPci0Mem1Remap;
    reg(remap) = reg(offset) & kRemapBits;
  }
  decode_windows();
}

uint32_t Gt64120::read(uint32_t offset, unsigned size) {
  const uint32_t word_offset = offset & ~3u;
  if (!known_[word_offset / 4]) {
    errors_.report(word_offset, "read of an unmodelled register");
    return 0;
  }
  const uint32_t word = read_register(word_offset);
  return (word & lane_mask(offset, size)) >> (8 * (offset & 3));
}

void Gt64120::write(uint32_t offset, unsigned size, uint32_t value) {
  const uint32_t word_offset = offset & ~3u;
  if (!known_[word_offset / 4]) {
    errors_.report(word_offset, "write to an unmodelled register");
    return;
  }
  write_register(word_offset, value << (8 * (offset & 3)), lane_mask(offset, size));
}

void Gt64120::apply_yamon_state() {
  const auto set = [this](uint32_t offset, uint32_t value) { write_register(offset, value, 0xffffffff); };
  set(kIsd, 0x1be00000 >> kDecodeShift);
  set(kPci0IoLow, 0x18000000 >> kDecodeShift);  // I/O 0x18000000-0x181fffff
  set(kPci0IoHigh, (0x181fffff >> kDecodeShift) & kHighDecodeBits);
  set(kPci0IoRemap, 0);  // ISA port N at 0x18000000 + N
  set(kPci0Mem0Low, 0x10000000 >> kDecodeShift);  // MEM0 0x10000000-0x17ffffff
  set(kPci0Mem0High, (0x17ffffff >> kDecodeShift) & kHighDecodeBits);
  set(kPci0Mem1Low, 0x18200000 >> kDecodeShift);  // MEM1 0x18200000-0x1bdfffff
  set(kPci0Mem1High, (0x1bdfffff >> kDecodeShift) & kHighDecodeBits);
}

}  // namespace disco::malta
