#include "monitor/cpu/decoder.h"

#include "monitor/cpu/dispatch.h"

namespace disco::mips {
namespace {

// Built by the compiler into read-only data: nothing to initialise at run time, nothing mutable,
// and no thread-safe-static guard on the decode path as a function-local static would have.
constexpr auto kDispatch = build_dispatch<count_candidates(kIsa)>(kIsa);

constexpr std::array<std::string_view, kOpCount> kNames = {
    "Reserved",
#define INST(id, pattern, flags) #id,
#include "monitor/cpu/mips_isa.inc"
#undef INST
};

constexpr bool ops_follow_table_order() {
  for (std::size_t i = 0; i < kIsa.size(); ++i) {
    if (kIsa[i].op != static_cast<Op>(i + 1)) return false;
  }
  return true;
}
static_assert(ops_follow_table_order());

}  // namespace

std::string_view name(Op op) {
  const auto index = static_cast<std::size_t>(op);
  return index < kNames.size() ? kNames[index] : "?";
}

Decoded decode(uint32_t word) {
  Decoded d{
      .rs = static_cast<uint8_t>(kRsField.of(word)),
      .rt = static_cast<uint8_t>(kRtField.of(word)),
      .rd = static_cast<uint8_t>(kRdField.of(word)),
      .sa = static_cast<uint8_t>(kSaField.of(word)),
      .funct = static_cast<uint8_t>(kFunctField.of(word)),
      .imm = static_cast<uint16_t>(word),
      .simm = static_cast<int16_t>(word),
  };
  if (const uint16_t line = kDispatch.find(word); line != kDispatch.kNone) {
    d.op = kIsa[line].op;
    d.flags = kIsa[line].flags;
  }
  return d;
}

}  // namespace disco::mips
