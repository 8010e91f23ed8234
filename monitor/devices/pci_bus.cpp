#include "monitor/devices/pci_bus.h"

namespace disco::malta {

namespace {
// Type-0 header offsets (PCI 2.2 §6.1).
enum : unsigned {
  kVendor = 0x00, kDevice = 0x02, kCommand = 0x04, kStatus = 0x06, kRevision = 0x08, kClass = 0x09,
  kHeaderType = 0x0e, kBar0 = 0x10, kInterruptLine = 0x3c, kInterruptPin = 0x3d,
};
constexpr uint16_t kCommandWritable = 0x015f;     // I/O, memory, master, special cycles, MWI, parity, SERR
constexpr uint16_t kStatusMediumDevsel = 0x0200, kStatusFastBackToBack = 0x0080;
constexpr uint16_t kStatusErrorBits = 0xf900;     // write 1 to clear
constexpr unsigned kPiix4PmBase = 0x40, kPiix4PmRegMisc = 0x80, kPiix4SmbBase = 0x90;

constexpr unsigned devfn(unsigned slot, unsigned function) { return slot << 3 | function; }
}  // namespace

PciFunction::PciFunction(const Identity& id) {
  set(kVendor, 2, id.vendor, 0);
  set(kDevice, 2, id.device, 0);
  set(kCommand, 2, 0, kCommandWritable);
  set(kStatus, 2, kStatusMediumDevsel | kStatusFastBackToBack, 0);
  for (unsigned i = kStatus; i < kStatus + 2; ++i) write_one_clears_[i] = uint8_t(kStatusErrorBits >> (8 * (i - kStatus)));
  set(kRevision, 1, id.revision, 0);
  set(kClass, 3, id.class_code, 0);
  set(kHeaderType, 1, id.multifunction ? 0x80 : 0x00, 0);
  set(kInterruptLine, 1, 0, 0xff);
  set(kInterruptPin, 1, id.interrupt_pin, 0);
}

void PciFunction::set(unsigned offset, unsigned bytes, uint32_t value, uint32_t writable) {
  for (unsigned i = 0; i < bytes; ++i) {
    config_[offset + i] = uint8_t(value >> (8 * i));
    writable_[offset + i] = uint8_t(writable >> (8 * i));
  }
}

void PciFunction::add_bar(unsigned bar, uint32_t size, bool io, uint32_t reset_base, bool prefetchable) {
  const uint32_t type = io ? 0x1 : (prefetchable ? 0x8 : 0x0);
  const uint32_t address_bits = ~(size - 1) & (io ? 0xfffffffcu : 0xfffffff0u);
  set(kBar0 + 4 * bar, 4, (reset_base & address_bits) | type, address_bits);
}

void PciFunction::add_register(unsigned offset, unsigned bytes, uint32_t reset, uint32_t writable) {
  set(offset, bytes, reset, writable);
}

uint32_t PciFunction::read_field(unsigned offset, unsigned bytes) const {
  uint32_t v = 0;
  for (unsigned i = 0; i < bytes; ++i) v |= uint32_t(config_[offset + i]) << (8 * i);
  return v;
}

uint32_t PciFunction::read(unsigned dword) const { return read_field(4 * (dword & 63), 4); }

void PciFunction::write(unsigned dword, uint32_t value, uint32_t byte_lanes) {
  for (unsigned i = 0; i < 4; ++i) {
    if (!(byte_lanes >> (8 * i) & 0xff)) continue;
    const unsigned offset = 4 * (dword & 63) + i;
    const uint8_t byte = uint8_t(value >> (8 * i));
    config_[offset] = uint8_t((config_[offset] & ~writable_[offset]) | (byte & writable_[offset]));
    config_[offset] &= ~(byte & write_one_clears_[offset]);
  }
}

PciBus::PciBus() {
  // GT64120 (GT-64120 data sheet §17.16): BARs for SDRAM banks SCS[1:0], SCS[3:2], device chip
  // selects CS[2:0], CS[3]/Boot, sized by the PCI bank-size registers' reset values, and its
  // internal registers in memory and I/O space.
  auto gt = std::make_unique<PciFunction>(PciFunction::Identity{
      .vendor = 0x11ab, .device = 0x4620, .revision = 0x10, .class_code = 0x060000});
  gt->add_bar(0, 16 << 20, false, 0x00000000, true);
  gt->add_bar(1, 16 << 20, false, 0x01000000, true);
  gt->add_bar(2, 32 << 20, false, 0x1c000000, true);
  gt->add_bar(3, 16 << 20, false, 0x1f000000, true);
  gt->add_bar(4, 4 << 10, false, 0x14000000);
  gt->add_bar(5, 4 << 10, true, 0x14000000);
  functions_[devfn(0, 0)] = std::move(gt);

  // PIIX4 function 0, the PCI-to-ISA bridge. PIRQ[A-D] routed to IRQ 10, 10, 11, 11 as YAMON
  // leaves them; the remaining device-specific registers (0x40-0xff) keep what is written.
  auto isa = std::make_unique<PciFunction>(PciFunction::Identity{
      .vendor = 0x8086, .device = 0x7110, .revision = 0x02, .class_code = 0x060100, .multifunction = true});
  isa->add_register(kCommand, 2, 0x0007, kCommandWritable);  // I/O, memory and master on after reset
  for (unsigned r = 0x40; r < 0x100; r += 4) isa->add_register(r, 4, 0, 0xffffffff);
  isa->add_register(0x4c, 1, 0x4d, 0xff);        // IORT
  isa->add_register(0x4e, 2, 0x0003, 0xffff);    // XBCS
  isa->add_register(0x60, 4, 0x0b0b0a0a, 0x8f8f8f8f);  // PIRQRC[A:D]
  isa->add_register(0x64, 1, 0x10, 0xff);        // SERIRQC
  isa->add_register(0x69, 1, 0x02, 0xfe);        // TOM
  isa->add_register(0x76, 2, 0x0c0c, 0x8f8f);    // MBDMA
  isa->add_register(0xcb, 1, 0x21, 0xff);        // RTCCFG: RTC enabled
  functions_[devfn(kPiix4Slot, 0)] = std::move(isa);

  // Function 1, IDE: legacy-mode channels at the fixed ISA ports; bus-master registers at BAR4.
  auto ide = std::make_unique<PciFunction>(PciFunction::Identity{
      .vendor = 0x8086, .device = 0x7111, .revision = 0x01, .class_code = 0x010180});
  ide->add_bar(4, 16, true);
  for (unsigned r = 0x40; r < 0x4c; r += 4) ide->add_register(r, 4, 0, 0xffffffff);  // IDETIM, SIDETIM
  functions_[devfn(kPiix4Slot, 1)] = std::move(ide);

  // Function 2, USB (UHCI): I/O registers at BAR4, interrupt on PIRQD.
  auto usb = std::make_unique<PciFunction>(PciFunction::Identity{
      .vendor = 0x8086, .device = 0x7112, .revision = 0x01, .class_code = 0x0c0300, .interrupt_pin = 4});
  usb->add_bar(4, 32, true);
  usb->add_register(0x60, 1, 0x10, 0);           // SBRN: USB 1.0
  usb->add_register(0xc0, 2, 0x2000, 0xbfff);    // LEGSUP
  functions_[devfn(kPiix4Slot, 2)] = std::move(usb);

  // Function 3, power management: the PM block at PMBA (64 bytes), SMBus at SMBBA (16 bytes),
  // each with bit 0 reading 1 (I/O space) as BARs do; neither is a standard BAR.
  auto pm = std::make_unique<PciFunction>(PciFunction::Identity{
      .vendor = 0x8086, .device = 0x7113, .revision = 0x02, .class_code = 0x068000, .interrupt_pin = 1});
  for (unsigned r = 0x40; r < 0x100; r += 4) pm->add_register(r, 4, 0, 0xffffffff);
  pm->add_register(kPiix4PmBase, 4, 0x00000001, 0x0000ffc0);
  pm->add_register(kPiix4PmRegMisc, 1, 0x00, 0x01);
  pm->add_register(kPiix4SmbBase, 4, 0x00000001, 0x0000fff0);
  functions_[devfn(kPiix4Slot, 3)] = std::move(pm);
  pm_io_base_ = decode_pm_io_base();
}

const PciFunction* PciBus::function(unsigned bus, unsigned devfn) const {
  if (bus != 0 || devfn >= functions_.size()) return nullptr;
  return functions_[devfn].get();
}

std::optional<uint32_t> PciBus::config_read(unsigned bus, unsigned devfn, unsigned reg) const {
  const PciFunction* f = function(bus, devfn);
  if (!f) return std::nullopt;
  return f->read(reg);
}

bool PciBus::config_write(unsigned bus, unsigned devfn, unsigned reg, uint32_t value, uint32_t byte_lanes) {
  if (!function(bus, devfn)) return false;
  functions_[devfn]->write(reg, value, byte_lanes);
  pm_io_base_ = decode_pm_io_base();
  return true;
}

std::optional<uint16_t> PciBus::decode_pm_io_base() const {
  const PciFunction& pm = *functions_[devfn(kPiix4Slot, 3)];
  if (!(pm.read_field(kPiix4PmRegMisc, 1) & 0x01)) return std::nullopt;
  return uint16_t(pm.read_field(kPiix4PmBase, 2) & 0xffc0);
}

}  // namespace disco::malta
