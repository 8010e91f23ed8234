#include "monitor/vm/hypercalls.h"

#include "monitor/vm/vcpu_monitor.h"

namespace disco {

HypercallResult serve_hypercall(uint32_t number, uint32_t argument, VmServices& vm) {
  switch (static_cast<Hypercall>(number)) {
    case Hypercall::Version:
      return {.value = kHypercallMagic, .value2 = vm.vm_id()};
    case Hypercall::ZeroPage:
      if (argument % kPageBytes != 0 || !vm.zero_page(argument)) return {.value = kHypercallBadAddress};
      return {.zeroed = true};
    case Hypercall::PageFree:
      if (argument % kPageBytes != 0 || !vm.release_page(argument)) return {.value = kHypercallBadAddress};
      return {.released = true};
    case Hypercall::Idle:
      return {.idle = true};
  }
  return {.value = kHypercallUnknown};
}

}  // namespace disco
