#include "node/line_cache_model.h"

#include <fmt/format.h>

namespace disco {

std::string CacheConfig::check(uint32_t line_bytes, uint32_t pcpus) const {
  if (ways == 0 || ways > 64) return fmt::format("--cache-ways {}: the associativity must be 1..64", ways);
  // Each other pcpu may pin one way of a set with an upgrade in flight; a fill needs one more.
  if (ways < pcpus)
    return fmt::format("--cache-ways {}: the associativity must be at least --cpus-per-node ({})", ways, pcpus);
  if (size_bytes < uint64_t{line_bytes} * ways || size_bytes % (uint64_t{line_bytes} * ways) != 0)
    return fmt::format("--cache-size {}: must be a multiple of line size x ways ({})", size_bytes,
                       uint64_t{line_bytes} * ways);
  if (filter_entries == 0 || (filter_entries & (filter_entries - 1)) != 0)
    return fmt::format("filter entries {} must be a power of two", filter_entries);
  return {};
}

LineCacheModel::LineCacheModel(const CacheConfig& c, uint32_t line_bytes)
    : sets_(c.size_bytes / line_bytes / c.ways), assoc_(c.ways), ways_(sets_ * assoc_) {}

LineCacheModel::Way* LineCacheModel::find(LineAddr line) {
  Way* set = &ways_[set_start(line)];
  for (uint32_t i = 0; i < assoc_; ++i)
    if (set[i].line == line) return &set[i];
  return nullptr;
}

}  // namespace disco
