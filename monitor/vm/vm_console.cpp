#include "monitor/vm/vm_console.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace disco {

VmConsole::VmConsole(const std::string& path) : path_empty_(path.empty()) {
  if (path.empty()) return;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0) spdlog::error("cannot open the console file {}: {}", path, std::strerror(errno));
}

VmConsole::~VmConsole() {
  if (fd_ >= 0) ::close(fd_);
}

void VmConsole::put(uint8_t byte) {
  ++bytes_;
  if (!panicked()) {
    // The panic line's first letter appears nowhere else in it, so a mismatch restarts the
    // match at this byte.
    if (byte == static_cast<uint8_t>(kPanic[matched_]))
      ++matched_;
    else
      matched_ = byte == static_cast<uint8_t>(kPanic[0]) ? 1 : 0;
  }
  if (byte == '\n' || byte == '\r') {
    if (marker_possible_ && line_.starts_with("disco-") && on_marker_) on_marker_(line_);
    line_.clear();
    marker_possible_ = true;
  } else if (marker_possible_) {
    line_.push_back(static_cast<char>(byte));
    // Only lines that start as a marker are kept, and only so much of them.
    marker_possible_ = line_.size() <= kMarkChars && std::string_view("disco-").substr(0, line_.size()) ==
                                                         std::string_view(line_).substr(0, std::min<size_t>(line_.size(), 6));
  }
  if (fd_ >= 0 && ::write(fd_, &byte, 1) != 1) ++bytes_lost_;
}

}  // namespace disco
