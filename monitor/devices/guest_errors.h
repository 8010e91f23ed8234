// What a Malta device does with guest behaviour the hardware leaves undefined (a reserved
// register, an unsupported access size, a command it does not know): the device keeps going
// with the data sheet's result, counts it here and logs each distinct (device, offset) once
// (STYLE habit 2: QEMU's LOG_GUEST_ERROR, without the flood).
#pragma once

#include <cstdint>
#include <set>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

namespace disco::malta {

class GuestErrors {
 public:
  explicit GuestErrors(std::string_view device) : device_(device) {}

  void report(uint32_t offset, std::string_view what) {
    ++count_;
    // A guest sweeping addresses must not grow the set without bound: past the limit, stay quiet.
    if (logged_.size() > kMaxLogged || !logged_.insert(offset).second) return;
    if (logged_.size() > kMaxLogged) {
      spdlog::warn("malta {}: more than {} distinct offsets; no longer logging new ones", device_, kMaxLogged);
      return;
    }
    spdlog::warn("malta {}: {} at offset {:#x} (logged once)", device_, what, offset);
  }
  uint64_t count() const { return count_; }

 private:
  static constexpr size_t kMaxLogged = 1024;
  std::string_view device_;  // a string literal naming the device
  std::set<uint32_t> logged_;
  uint64_t count_ = 0;
};

}  // namespace disco::malta
