#include "shm/host_map.h"

#include <algorithm>

namespace disco {

HostMap::HostMap(const std::vector<std::string>& names) {
  std::vector<std::string> seen;
  host_of_.reserve(names.size());
  for (const std::string& name : names) {
    auto it = std::find(seen.begin(), seen.end(), name);
    if (it == seen.end()) it = seen.insert(seen.end(), name);
    host_of_.push_back(static_cast<uint16_t>(it - seen.begin()));
  }
  count_ = static_cast<uint32_t>(std::max<size_t>(seen.size(), 1));
  if (count_ == 1) host_of_.clear();  // one host: nothing to look up on the hot paths
}

}  // namespace disco
