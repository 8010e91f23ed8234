#include "shm/host_map.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <fstream>

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

std::string this_host_identity() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) name[0] = '\0';
  std::string boot_id;
  std::ifstream("/proc/sys/kernel/random/boot_id") >> boot_id;
  struct stat shm {};
  if (::stat("/dev/shm", &shm) != 0) shm.st_dev = 0;
  return fmt::format("{}/{}/{:x}", name, boot_id, static_cast<uint64_t>(shm.st_dev));
}

}  // namespace disco
