#include "shm/segment.h"

#include <signal.h>
#include <unistd.h>

#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <optional>
#include <random>
#include <spdlog/spdlog.h>
#include <system_error>

namespace disco {

namespace {

constexpr std::string_view kPrefix = "disco-";
constexpr size_t kRunRandomHexDigits = 8;

bool remove_segment(const std::string& name) noexcept {
  try {
    return boost::interprocess::shared_memory_object::remove(name.c_str());
  } catch (...) {
    return false;
  }
}

// A name made by segment_name(make_run_id(), k), split into its run id and launcher pid.
struct ParsedSegmentName {
  std::string_view run_id;
  pid_t pid;
};

bool all_of_digits(std::string_view s, bool hex) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= '0' && c <= '9') || (hex && c >= 'a' && c <= 'f');
    if (!ok) return false;
  }
  return true;
}

std::optional<ParsedSegmentName> parse_segment_name(std::string_view name) {
  if (!name.starts_with(kPrefix)) return std::nullopt;
  std::string_view rest = name.substr(kPrefix.size());
  // "-n<k>" (machine memory) or "-r<k>" (inbox rings) ends every name a run makes.
  const size_t node_sep = rest.rfind('-');
  if (node_sep == std::string_view::npos || node_sep + 1 >= rest.size() ||
      (rest[node_sep + 1] != 'n' && rest[node_sep + 1] != 'r') || !all_of_digits(rest.substr(node_sep + 2), false))
    return std::nullopt;
  std::string_view run_id = rest.substr(0, node_sep);
  const std::optional<pid_t> pid = run_launcher_pid(run_id);
  if (!pid) return std::nullopt;
  return ParsedSegmentName{.run_id = run_id, .pid = *pid};
}

}  // namespace

bool process_is_gone(pid_t pid) { return pid > 0 && ::kill(pid, 0) == -1 && errno == ESRCH; }

std::optional<pid_t> run_launcher_pid(std::string_view run_id) {
  size_t pid_sep = run_id.find('-');
  if (pid_sep == std::string_view::npos) return std::nullopt;
  std::string_view pid_text = run_id.substr(0, pid_sep);
  std::string_view hex = run_id.substr(pid_sep + 1);
  if (!all_of_digits(pid_text, false) || hex.size() != kRunRandomHexDigits || !all_of_digits(hex, true))
    return std::nullopt;
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), pid);
  if (ec != std::errc{} || end != pid_text.data() + pid_text.size() || pid <= 0) return std::nullopt;
  return pid;
}

bool run_is_stale(std::string_view run_id) {
  const std::optional<pid_t> pid = run_launcher_pid(run_id);
  return pid && process_is_gone(*pid);
}

std::string make_run_id() {
  std::random_device entropy;
  std::uniform_int_distribution<uint32_t> any;
  return fmt::format("{}-{:08x}", ::getpid(), any(entropy));
}

std::string segment_name(std::string_view run_id, NodeId node) {
  return fmt::format("{}{}-n{}", kPrefix, run_id, node);
}

std::string inbox_segment_name(std::string_view run_id, NodeId node) {
  return fmt::format("{}{}-r{}", kPrefix, run_id, node);
}

void remove_run_segments(std::string_view run_id, uint32_t nodes) noexcept {
  try {
    for (uint32_t n = 0; n < nodes; ++n) {
      remove_segment(segment_name(run_id, static_cast<NodeId>(n)));
      remove_segment(inbox_segment_name(run_id, static_cast<NodeId>(n)));
    }
  } catch (...) {
    // Only name formatting can throw (out of memory); cleanup must not, so give up quietly.
  }
}

size_t sweep_stale_segments() noexcept {
  try {
    std::error_code ec;
    std::map<std::string, size_t> removed_per_run;  // ordered, so the log reads the same each time
    size_t removed = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/dev/shm", ec)) {
      std::string name = entry.path().filename().string();
      auto parsed = parse_segment_name(name);
      if (!parsed || !process_is_gone(parsed->pid)) continue;
      if (!remove_segment(name)) continue;
      ++removed_per_run[std::string(parsed->run_id)];
      ++removed;
    }
    for (const auto& [run_id, count] : removed_per_run)
      spdlog::info("removed {} stale shared-memory segment(s) of run {}: its launcher is gone", count, run_id);
    return removed;
  } catch (const std::exception& e) {
    spdlog::warn("sweeping stale shared-memory segments failed: {}", e.what());
    return 0;
  }
}

}  // namespace disco
