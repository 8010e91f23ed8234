// scripts/fetch-guest for the tests that need Debian's guest (guest-cache/), run as the launcher
// runs it: quick when the cache is complete, and it waits for a concurrent fetch.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace disco::test {

// "" once guest-cache/ is complete, else what the script said. Runs the script once per process.
inline const std::string& fetch_guest() {
  static const std::string error = [] {
    const std::string log = (std::filesystem::temp_directory_path() / ("fetch-guest-" + std::to_string(::getpid()) + ".log")).string();
    const std::string cmd = std::string(DISCO_SOURCE_DIR) + "/scripts/fetch-guest >" + log + " 2>&1";
    const int status = std::system(cmd.c_str());
    std::stringstream said;
    said << std::ifstream(log).rdbuf();
    std::filesystem::remove(log);
    return status == 0 ? std::string() : "scripts/fetch-guest failed (status " + std::to_string(status) + "):\n" + said.str();
  }();
  return error;
}

inline const std::string kGuestKernel = std::string(DISCO_SOURCE_DIR) + "/guest-cache/debian/vmlinuz";

}  // namespace disco::test
