// A VM's console: the bytes its COM1 sends, appended to its console file one write per byte (the
// launcher and a user watching the file see each byte as soon as the guest sends it), and
// watched for two things: the kernel's panic line, which tells a crash from a plain reset when
// the board resets (a panicking kernel booted with panic=-1 resets the board at once), and our
// own marker lines (`disco-init: up`, `disco-bench: begin`...: lines that start "disco-"), handed
// to on_marker() as each ends, so the VM can stamp the phases of a guest (boot, workload,
// power-off) with guest time, host time and the monitor's counts.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace disco {

class VmConsole {
 public:
  explicit VmConsole(const std::string& path);  // empty: nowhere (the bytes are only watched)
  ~VmConsole();
  VmConsole(const VmConsole&) = delete;
  VmConsole& operator=(const VmConsole&) = delete;

  static constexpr size_t kMarkChars = 80;

  // Called with each marker line as it ends (at most kMarkChars of it).
  void on_marker(std::function<void(const std::string&)> f) { on_marker_ = std::move(f); }
  void put(uint8_t byte);
  bool panicked() const { return matched_ == kPanic.size(); }
  uint64_t bytes() const { return bytes_; }
  uint64_t bytes_lost() const { return bytes_lost_; }
  bool opened() const { return fd_ >= 0 || path_empty_; }

 private:
  static constexpr std::string_view kPanic = "Kernel panic - not syncing";
  int fd_ = -1;
  bool path_empty_ = false;
  size_t matched_ = 0;  // how much of kPanic the last bytes were
  std::string line_;    // the current line, while it may be a marker
  bool marker_possible_ = true;
  std::function<void(const std::string&)> on_marker_;
  uint64_t bytes_ = 0, bytes_lost_ = 0;
};

}  // namespace disco
