// What our bare-metal guests share (guest/baremetal/README.md): the COM1 console, power off, the
// monitor call (HYPCALL, monitor/vm/hypercalls.h), TLB entries, and catching the exceptions a
// probing access raises (crt.S). Freestanding: no libc.
#pragma once

#include <stdint.h>

#define BM_KSEG0 0x80000000u
#define BM_KSEG1 0xa0000000u
#define BM_COM1 (BM_KSEG1 + 0x18000000u + 0x3f8u)  // ISA port 0x3f8 through the PCI I/O window
#define BM_PM1_CONTROL (BM_KSEG1 + 0x18000000u + 0x1004u)  // PIIX4 PM1 control: SLP_EN powers off
#define BM_EXC_BUS_DATA 7u

struct bm_fault_record {
  uint32_t cause, bad_vaddr, count;
};
extern volatile struct bm_fault_record bm_fault;
extern volatile uint32_t bm_expecting;

void bm_putc(char c);
void bm_puts(const char* s);
void bm_puthex(uint32_t v);
void bm_putdec(uint32_t v);
void bm_poweroff(void);
void bm_unexpected(uint32_t cause, uint32_t epc);

// The ExcCode of the exception a load or store of `addr` raised, or -1 if it completed.
int bm_probe_load(uint32_t addr, uint32_t* value);
int bm_probe_store(uint32_t addr, uint32_t value);

// HYPCALL: v0 = number, a0 = argument; returns v0, and v1 in *second when given.
uint32_t bm_hypercall(uint32_t number, uint32_t argument, uint32_t* second);
// Whether a Disco monitor answers HYPCALL's Version (with the VM's id in *vm); in bare mode the
// call raises Reserved Instruction, caught here. *cause gets that exception's ExcCode.
int bm_monitor_present(uint32_t* vm, uint32_t* cause);

// Writes TLB entry `index`: the even page of the pair at `vaddr` (ASID 0) maps physical
// `paddr`, valid and dirty; the odd page is invalid.
void bm_tlb_map(unsigned index, uint32_t vaddr, uint32_t paddr);

// The program: `ram_bytes` as YAMON passed it.
void bm_main(uint32_t ram_bytes);
