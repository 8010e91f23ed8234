// A test fixture that hands out run ids and removes every segment of them when the test ends,
// pass or fail, so no test leaves anything in /dev/shm.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "shm/segment.h"

namespace disco {

class ShmRunTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const auto& [run_id, nodes] : runs_) remove_run_segments(run_id, nodes);
  }

  // A fresh run of this process whose first `nodes` segments are removed at the end.
  std::string new_run(uint32_t nodes) { return remember(make_run_id(), nodes); }

  // A run id that names `pid` as its launcher.
  std::string run_of_pid(pid_t pid, uint32_t nodes) {
    return remember(fmt::format("{}-{:08x}", pid, std::random_device{}()), nodes);
  }

  static bool segment_exists(const std::string& name) {
    return std::filesystem::exists(std::filesystem::path("/dev/shm") / name);
  }

 private:
  std::string remember(std::string run_id, uint32_t nodes) {
    runs_.emplace_back(run_id, nodes);
    return run_id;
  }

  std::vector<std::pair<std::string, uint32_t>> runs_;
};

}  // namespace disco
