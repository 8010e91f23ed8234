// hypercalls: the monitor calls (monitor/vm/hypercalls.h) from a guest kernel. Under the monitor
// each call does what it says; in bare mode HYPCALL is a Reserved Instruction exception. Prints
// PASS hypercalls (or "hypercalls: no monitor" then PASS in bare mode), or FAIL lines.
#include "baremetal.h"

#define EXC_RI 10u

static unsigned failures;

static void check(int ok, const char* what) {
  if (!ok && failures++ < 8) {
    bm_puts("FAIL hypercalls: ");
    bm_puts(what);
    bm_puts("\n");
  }
}

static uint32_t count(void) {
  uint32_t c;
  __asm__ volatile("mfc0 %0, $9" : "=r"(c));
  return c;
}

void bm_main(uint32_t ram_bytes) {
  // Version: bare mode raises RI instead.
  uint32_t vm = 0, cause = 0;
  if (!bm_monitor_present(&vm, &cause)) {
    check(cause == EXC_RI, "HYPCALL without a monitor raises Reserved Instruction");
    bm_puts("hypercalls: no monitor\n");
    if (failures == 0) bm_puts("PASS hypercalls\n");
    return;
  }
  bm_puts("hypercalls: VM ");
  bm_putdec(vm);
  bm_puts("\n");

  // ZeroPage: the monitor zeroes a page we dirtied.
  const uint32_t page = (ram_bytes / 2) & ~4095u;
  volatile uint32_t* p = (volatile uint32_t*)(BM_KSEG0 + page);
  for (unsigned i = 0; i < 1024; ++i) p[i] = 0xabababab;
  check(bm_hypercall(1, page, 0) == 0, "ZeroPage of a RAM page succeeds");
  unsigned nonzero = 0;
  for (unsigned i = 0; i < 1024; ++i) nonzero += p[i] != 0;
  check(nonzero == 0, "ZeroPage leaves the page zero");
  check(bm_hypercall(1, page + 4, 0) == (uint32_t)-14, "ZeroPage of an unaligned address fails");
  check(bm_hypercall(1, ram_bytes, 0) == (uint32_t)-14, "ZeroPage beyond RAM fails");

  // PageFree: the page is given back and reads zero from then on.
  for (unsigned i = 0; i < 1024; ++i) p[i] = 0xcdcdcdcd;
  check(bm_hypercall(2, page, 0) == 0, "PageFree of a RAM page succeeds");
  nonzero = 0;
  for (unsigned i = 0; i < 1024; ++i) nonzero += p[i] != 0;
  check(nonzero == 0, "a freed page reads zero");
  p[0] = 7;
  check(p[0] == 7, "a freed page can be used again");

  // Idle: the vcpu sleeps until its next interrupt (the CP0 timer, armed here; interrupts stay
  // masked, so it only wakes the vcpu), and guest time moves on meanwhile.
  const uint32_t start = count();
  __asm__ volatile("mtc0 %0, $11" : : "r"(start + 100000));  // Compare
  check(bm_hypercall(3, 0, 0) == 0, "Idle returns 0");
  check(count() - start >= 100000, "Idle sleeps until the timer");

  check(bm_hypercall(99, 0, 0) == (uint32_t)-38, "an unknown call returns -ENOSYS");
  if (failures == 0) bm_puts("PASS hypercalls\n");
}
