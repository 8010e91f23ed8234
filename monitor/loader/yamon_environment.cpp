#include "monitor/loader/yamon_environment.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace disco::boot {

std::string initrd_command_line(uint32_t initrd_phys, uint32_t initrd_size, const std::string& append) {
  const uint64_t sign_extended = uint64_t(int64_t(int32_t(phys_to_kseg0(initrd_phys))));
  return strprintf("rd_start=0x%llx rd_size=%u %s", (unsigned long long)sign_extended, initrd_size, append.c_str());
}

Outcome<std::vector<uint8_t>> build_yamon_prom(const YamonArguments& args) {
  using R = Outcome<std::vector<uint8_t>>;
  if (!args.rng_seed_hex.empty() &&
      (args.rng_seed_hex.size() != 64 ||
       !std::all_of(args.rng_seed_hex.begin(), args.rng_seed_hex.end(), [](unsigned char c) { return std::isxdigit(c); })))
    return R::fail("rng seed must be exactly 64 hex digits (32 bytes)");
  if (args.ememsize > UINT32_MAX) return R::fail("ememsize does not fit the 32-bit YAMON environment");

  for (const auto& [what, text] : {std::pair{"kernel name", &args.kernel_name}, std::pair{"command line", &args.command_line}})
    if (text->size() >= kPromSlot)
      return R::fail(strprintf("%s is %zu bytes; a YAMON argument slot holds at most %u", what, text->size(), kPromSlot - 1));

  std::vector<std::string> strings = {args.kernel_name, args.command_line, "memsize", std::to_string(args.memsize),
                                      "ememsize", std::to_string(args.ememsize), "modetty0", "38400n8r"};
  if (!args.rng_seed_hex.empty()) strings.insert(strings.end(), {"rngseed", args.rng_seed_hex});

  std::vector<uint8_t> prom(kPromBytes, 0);  // the entry after the last string stays a NULL pointer
  for (uint32_t i = 0; i < strings.size(); ++i) {
    const uint32_t slot = kPromEntries * 4 + i * kPromSlot;
    const uint32_t pointer = kArgvVaddr + slot;
    for (int b = 0; b < 4; ++b) prom[4 * i + b] = uint8_t(pointer >> (8 * b));
    std::copy(strings[i].begin(), strings[i].end(), prom.begin() + slot);
  }
  return {std::move(prom)};
}

}  // namespace disco::boot
