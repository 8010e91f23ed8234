// pattern: a guest whose memory holds a known pattern while another VM runs beside it (the
// isolation test's victim). It fills its free RAM with (magic ^ physical address), keeps
// checking it while it runs (idling between rounds with the monitor's Idle call when there is a
// monitor), and prints PASS pattern or FAIL pattern: <where>, then powers off.
#include "baremetal.h"

#define PATTERN_MAGIC 0x5a17c0deu
#define ROUNDS 2

extern char _end[];

void bm_main(uint32_t ram_bytes) {
  const uint32_t first = ((uint32_t)_end - BM_KSEG0 + 4095) & ~4095u;
  bm_puts("pattern: filling ");
  bm_putdec((ram_bytes - first) >> 10);
  bm_puts(" KiB\n");
  for (uint32_t pa = first; pa < ram_bytes; pa += 4) *(volatile uint32_t*)(BM_KSEG0 + pa) = PATTERN_MAGIC ^ pa;
  uint32_t vm = 0, cause = 0;
  const int monitored = bm_monitor_present(&vm, &cause);
  for (unsigned round = 0; round < ROUNDS; ++round) {
    for (uint32_t pa = first; pa < ram_bytes; pa += 4) {
      if (*(volatile uint32_t*)(BM_KSEG0 + pa) != (PATTERN_MAGIC ^ pa)) {
        bm_puts("FAIL pattern: changed at ");
        bm_puthex(pa);
        bm_puts("\n");
        return;
      }
    }
    if (monitored) bm_hypercall(3, 0, 0);  // Idle: give the pcpu to the other VM a while
  }
  bm_puts("PASS pattern\n");
}
