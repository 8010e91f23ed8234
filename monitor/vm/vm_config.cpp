#include "monitor/vm/vm_config.h"

#include <fmt/format.h>

#include "monitor/loader/malta_loader.h"
#include "monitor/cpu/l2tlb.h"
#include "node/strict_json.h"

namespace disco {

std::string_view name(VmMode m) { return m == VmMode::Bare ? "bare" : "monitored"; }

nlohmann::json to_json(const VmConfig& c) {
  return {{"id", c.id},
          {"node", c.node},
          {"mode", name(c.mode)},
          {"kernel", c.kernel},
          {"initrd", c.initrd},
          {"append", c.append},
          {"ram_bytes", c.ram_bytes},
          {"placement", name(c.placement)},
          {"host_unpack", c.host_unpack},
          {"cpu_mhz", c.cpu_mhz},
          {"rtc_epoch_seconds", c.rtc_epoch_seconds},
          {"isa_io_ns", c.isa_io_ns},
          {"max_instructions", c.max_instructions},
          {"compile", c.compile},
          {"perf_map", c.perf_map},
          {"idle_in_real_time", c.idle_in_real_time},
          {"l2tlb_entries", c.l2tlb_entries},
          {"console", c.console_path},
          {"input_fifo", c.input_fifo}};
}

VmConfig vm_config_from_json(const nlohmann::json& j) {
  VmConfig c;
  StrictObject o(j, "vm");
  std::string mode(name(c.mode)), placement(name(c.placement));
  o.get("id", c.id);
  o.get("node", c.node);
  o.get("mode", mode);
  o.get("kernel", c.kernel);
  o.get("initrd", c.initrd);
  o.get("append", c.append);
  o.get("ram_bytes", c.ram_bytes);
  o.get("placement", placement);
  o.get("host_unpack", c.host_unpack);
  o.get("cpu_mhz", c.cpu_mhz);
  o.get("rtc_epoch_seconds", c.rtc_epoch_seconds);
  o.get("isa_io_ns", c.isa_io_ns);
  o.get("max_instructions", c.max_instructions);
  o.get("compile", c.compile);
  o.get("perf_map", c.perf_map);
  o.get("idle_in_real_time", c.idle_in_real_time);
  o.get("l2tlb_entries", c.l2tlb_entries);
  o.get("console", c.console_path);
  o.get("input_fifo", c.input_fifo);
  o.finish();
  if (mode != "bare" && mode != "monitored") throw std::runtime_error(fmt::format("config: vm.mode '{}' is not bare or monitored", mode));
  c.mode = mode == "bare" ? VmMode::Bare : VmMode::Monitored;
  const auto p = parse_placement(placement);
  if (!p) throw std::runtime_error(fmt::format("config: vm.placement '{}' is not local, interleave or first-touch", placement));
  c.placement = *p;
  if (const std::string e = check(c); !e.empty()) throw std::runtime_error("config: " + e);
  return c;
}

std::string check(const VmConfig& c) {
  if (c.kernel.empty()) return fmt::format("VM {} needs a kernel", c.id);
  return check_shape(c);
}

std::string check_shape(const VmConfig& c) {
  if (c.ram_bytes < boot::kMinRamBytes || c.ram_bytes > boot::kLowRamLimit || c.ram_bytes % kPageBytes)
    return fmt::format("VM {}: memory must be a multiple of 4KiB from {} MiB to {} MiB (the Malta's low RAM window)",
                       c.id, boot::kMinRamBytes >> 20, boot::kLowRamLimit >> 20);
  if (c.cpu_mhz == 0 || c.cpu_mhz > 100000) return fmt::format("VM {}: the vcpu clock must be 1..100000 MHz", c.id);
  if (!mips::L2Tlb::valid_size(c.l2tlb_entries))
    return fmt::format("VM {}: the L2TLB needs 0 entries or a multiple of 4 whose quarter is a power of two, up to {}", c.id,
                       mips::L2Tlb::kMaxEntries);
  if (c.mode == VmMode::Monitored && c.placement != Placement::Local)
    return fmt::format("VM {}: under the monitor the VM's memory is placed by its node (--vm-placement)", c.id);
  return {};
}

}  // namespace disco
