#include "baremetal.h"

volatile struct bm_fault_record bm_fault;
volatile uint32_t bm_expecting;

static volatile uint8_t* const com1 = (volatile uint8_t*)BM_COM1;

void bm_putc(char c) {
  while (!(com1[5] & 0x20)) {  // LSR.THRE
  }
  com1[0] = (uint8_t)c;
}

void bm_puts(const char* s) {
  while (*s) {
    if (*s == '\n') bm_putc('\r');
    bm_putc(*s++);
  }
}

void bm_puthex(uint32_t v) {
  bm_puts("0x");
  for (int shift = 28; shift >= 0; shift -= 4) bm_putc("0123456789abcdef"[(v >> shift) & 15]);
}

void bm_putdec(uint32_t v) {
  char digits[12];
  int n = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) bm_putc(digits[--n]);
}

// A PCI configuration write through the GT-64120 (after YAMON: registers at 0x1be00000).
static void pci_config_write(uint32_t devfn, uint32_t reg, uint32_t value) {
  *(volatile uint32_t*)(BM_KSEG1 + 0x1be00cf8u) = 0x80000000u | devfn << 8 | reg;
  *(volatile uint32_t*)(BM_KSEG1 + 0x1be00cfcu) = value;
}

void bm_poweroff(void) {
  // The PIIX4's power management function (slot 10, function 3) decodes its I/O space at PMBA
  // once PMREGMISC enables it, as Linux's PIIX4 quirk sets it up: then SLP_EN powers off.
  const uint32_t pm = 10u << 3 | 3u;
  pci_config_write(pm, 0x40, 0x1000 | 1);  // PMBA: I/O 0x1000
  pci_config_write(pm, 0x80, 1);           // PMREGMISC: PMIOSE
  *(volatile uint16_t*)BM_PM1_CONTROL = 0x2000;  // SLP_EN, soft off
  for (;;) {
  }
}

void bm_unexpected(uint32_t cause, uint32_t epc) {
  bm_puts("FAIL unexpected exception, cause ");
  bm_puthex(cause);
  bm_puts(" at ");
  bm_puthex(epc);
  bm_puts("\n");
  bm_poweroff();
}

int bm_probe_load(uint32_t addr, uint32_t* value) {
  const uint32_t before = bm_fault.count;
  uint32_t v = 0xdeadbeef;
  bm_expecting = 1;
  __asm__ volatile(".set push\n.set noreorder\nlw %0, 0(%1)\nnop\n.set pop" : "+r"(v) : "r"(addr) : "memory");
  bm_expecting = 0;
  if (bm_fault.count != before) return (int)((bm_fault.cause >> 2) & 31);
  *value = v;
  return -1;
}

int bm_probe_store(uint32_t addr, uint32_t value) {
  const uint32_t before = bm_fault.count;
  bm_expecting = 1;
  __asm__ volatile(".set push\n.set noreorder\nsw %0, 0(%1)\nnop\n.set pop" : : "r"(value), "r"(addr) : "memory");
  bm_expecting = 0;
  return bm_fault.count != before ? (int)((bm_fault.cause >> 2) & 31) : -1;
}

uint32_t bm_hypercall(uint32_t number, uint32_t argument, uint32_t* second) {
  register uint32_t v0 __asm__("$2") = number;
  register uint32_t v1 __asm__("$3") = 0;
  register uint32_t a0 __asm__("$4") = argument;
  __asm__ volatile(".set push\n.set mips32r5\n.set virt\nhypcall\n.set pop" : "+r"(v0), "+r"(v1) : "r"(a0) : "memory");
  if (second) *second = v1;
  return v0;
}

int bm_monitor_present(uint32_t* vm, uint32_t* cause) {
  const uint32_t before = bm_fault.count;
  bm_expecting = 1;
  const uint32_t magic = bm_hypercall(0, 0, vm);
  bm_expecting = 0;
  *cause = bm_fault.count != before ? (bm_fault.cause >> 2) & 31 : 0;
  return bm_fault.count == before && magic == 0x4453434fu;
}

void bm_tlb_map(unsigned index, uint32_t vaddr, uint32_t paddr) {
  const uint32_t lo0 = (paddr >> 12) << 6 | 2u << 3 | 1u << 2 | 1u << 1;  // PFN, C=2 (uncached), D, V
  __asm__ volatile(
      ".set push\n.set noreorder\n"
      "mtc0 %0, $0\n"   // Index
      "mtc0 %1, $10\n"  // EntryHi: VPN2, ASID 0
      "mtc0 %2, $2\n"   // EntryLo0
      "mtc0 $0, $3\n"   // EntryLo1: invalid
      "mtc0 $0, $5\n"   // PageMask: 4 KiB
      "ehb\n"
      "tlbwi\n"
      "ehb\n"
      ".set pop"
      :
      : "r"(index), "r"(vaddr & 0xffffe000u), "r"(lo0)
      : "memory");
}
