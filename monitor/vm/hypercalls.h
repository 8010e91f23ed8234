// The monitor calls a guest kernel can make (the paper's section 4.2.1: "this page is zeroed",
// "this page is free", the idle loop), reached by HYPCALL: the Virtualization ASE's hypervisor
// call, an instruction the stock MIPS32r2 kernel never executes (bare mode raises Reserved
// Instruction for it, like a 24K without the ASE). The stock Linux need not use them; our own
// guest programs do (guest/programs), and a guest kernel that knows Disco could.
//
// Calling convention, from guest kernel mode (user mode raises Coprocessor Unusable):
//   v0 ($2)  the call number                  on return: the result (negative: an error)
//   a0 ($4)  the argument                     on return: v1 ($3) a second result
//
//   0 Version     v0 = kHypercallMagic ('DSCO'), v1 = the VM's id
//   1 ZeroPage    a0 = a page-aligned guest physical address of RAM: the monitor zeroes the page
//                 (the guest need not); v0 = 0, or kHypercallBadAddress
//   2 PageFree    a0 as for ZeroPage: the guest no longer needs the page; the monitor gives its
//                 machine page back to the host, and the page reads as zeros from then on
//   3 Idle        the vcpu is descheduled until its next interrupt (WAIT's meaning); v0 = 0
//   other         v0 = kHypercallUnknown
#pragma once

#include <cstdint>

namespace disco {

class VmServices;

inline constexpr unsigned kHypercallNumberReg = 2, kHypercallArgReg = 4, kHypercallResultReg = 2,
                          kHypercallResult2Reg = 3;
inline constexpr uint32_t kHypercallMagic = 0x4453434f;  // "DSCO"
inline constexpr uint32_t kHypercallUnknown = static_cast<uint32_t>(-38);     // -ENOSYS
inline constexpr uint32_t kHypercallBadAddress = static_cast<uint32_t>(-14);  // -EFAULT

enum class Hypercall : uint32_t { Version = 0, ZeroPage = 1, PageFree = 2, Idle = 3 };

struct HypercallResult {
  uint32_t value = 0, value2 = 0;
  bool idle = false;      // deschedule until the next interrupt
  bool zeroed = false;    // the page at the argument was zeroed
  bool released = false;  // the page at the argument was given back
};

HypercallResult serve_hypercall(uint32_t number, uint32_t argument, VmServices& vm);

}  // namespace disco
