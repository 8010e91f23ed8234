// isolation: a guest that tries to reach memory that is not its own (monitor/vm/guest_bus.h).
// Every access above its RAM, up to the end of the Malta's 256 MiB RAM window, through kseg0,
// kseg1 and TLB entries it writes itself, must be a bus error; its own RAM must work, and must
// hold nothing of another VM's (guest/baremetal/pattern.c's words, which it looks for).
// Prints PASS isolation or FAIL isolation: <why>, then powers off.
#include "baremetal.h"

#define PATTERN_MAGIC 0x5a17c0deu  // pattern.c writes (magic ^ address) into its memory
#define RAM_WINDOW (256u << 20)
#define STEP (1u << 20)
#define PROBE_VADDR 0x00400000u  // kuseg, through a TLB entry (ERL is clear after YAMON)

extern char _end[];  // the end of our image (the linker's)

static unsigned failures;

static void fail(const char* what, uint32_t addr, int got) {
  if (failures++ < 8) {
    bm_puts("FAIL isolation: ");
    bm_puts(what);
    bm_puts(" at ");
    bm_puthex(addr);
    bm_puts(got < 0 ? " completed" : " raised ExcCode ");
    if (got >= 0) bm_putdec((uint32_t)got);
    bm_puts("\n");
  }
}

static void expect_bus_error(const char* what, uint32_t vaddr, uint32_t paddr) {
  uint32_t v;
  int e = bm_probe_load(vaddr, &v);
  if (e != (int)BM_EXC_BUS_DATA) fail(what, paddr, e);
  e = bm_probe_store(vaddr, 0x0bad0bad);
  if (e != (int)BM_EXC_BUS_DATA) fail(what, paddr, e);
}

void bm_main(uint32_t ram_bytes) {
  uint32_t vm = 0, cause = 0;
  const int monitored = bm_monitor_present(&vm, &cause);
  const uint32_t faults_before = bm_fault.count;
  bm_puts("isolation: ");
  bm_putdec(ram_bytes >> 20);
  bm_puts(" MiB of RAM");
  if (monitored) {
    bm_puts(", VM ");
    bm_putdec(vm);
  }
  bm_puts("\n");

  // Above our RAM: through kseg0, kseg1 and a TLB entry, loads and stores are bus errors.
  unsigned probed = 0;
  for (uint32_t pa = ram_bytes; pa < RAM_WINDOW; pa += STEP) {
    expect_bus_error("kseg0", BM_KSEG0 + pa, pa);
    expect_bus_error("kseg1", BM_KSEG1 + pa, pa);
    bm_tlb_map(1, PROBE_VADDR, pa);
    expect_bus_error("mapped", PROBE_VADDR, pa);
    ++probed;
  }
  // The last page below the window too (a page, not only each MiB).
  bm_tlb_map(1, PROBE_VADDR, RAM_WINDOW - 4096);
  expect_bus_error("mapped", PROBE_VADDR, RAM_WINDOW - 4096);

  // Our own RAM works, mapped and unmapped alike, and holds nothing of another VM.
  const uint32_t own = (ram_bytes - 8192) & ~4095u;
  bm_tlb_map(1, PROBE_VADDR, own);
  uint32_t back = 0;
  if (bm_probe_store(PROBE_VADDR, 0x600dcafe) >= 0 || bm_probe_load(BM_KSEG0 + own, &back) >= 0 || back != 0x600dcafe)
    fail("own RAM through a TLB entry", own, -1);
  unsigned foreign = 0;
  for (uint32_t pa = ((uint32_t)_end - BM_KSEG0 + 4095) & ~4095u; pa < ram_bytes; pa += 4) {
    const uint32_t w = *(volatile uint32_t*)(BM_KSEG0 + pa);
    if ((w ^ pa) == PATTERN_MAGIC || (w & 0xffff0000u) == (PATTERN_MAGIC & 0xffff0000u)) ++foreign;
  }
  if (foreign) fail("another VM's words in our RAM", foreign, -1);

  bm_puts("isolation: probed ");
  bm_putdec(probed);
  bm_puts(" MiB above our RAM, ");
  bm_putdec(bm_fault.count - faults_before);
  bm_puts(" bus errors\n");
  if (failures == 0) bm_puts("PASS isolation\n");
}
