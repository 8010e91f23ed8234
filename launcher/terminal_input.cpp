#include "launcher/terminal_input.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace disco {
namespace {
constexpr char kCtrlA = 0x01;
}

TerminalInput::TerminalInput(std::string fifo_path) : fifo_path_(std::move(fifo_path)) {
  if (::mkfifo(fifo_path_.c_str(), 0600) != 0 && errno != EEXIST)
    throw std::runtime_error("cannot create the console FIFO " + fifo_path_);
  if (::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved_) == 0) {
    termios raw = saved_;
    ::cfmakeraw(&raw);
    raw.c_oflag |= OPOST | ONLCR;  // the launcher's own lines still start at column 0
    raw_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
}

TerminalInput::~TerminalInput() {
  if (raw_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  if (fifo_fd_ >= 0) ::close(fifo_fd_);
  ::unlink(fifo_path_.c_str());
}

void TerminalInput::flush() {
  if (pending_.empty()) return;
  if (fifo_fd_ < 0) fifo_fd_ = ::open(fifo_path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);  // ENXIO until the node reads
  if (fifo_fd_ < 0) return;
  const ssize_t n = ::write(fifo_fd_, pending_.data(), pending_.size());
  if (n > 0) pending_.erase(0, static_cast<size_t>(n));
}

bool TerminalInput::poll() {
  pollfd p{.fd = STDIN_FILENO, .events = POLLIN};
  while (!quit_ && ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN)) {
    char buf[256];
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n <= 0) break;  // stdin closed: the guest keeps running, with no more input
    for (ssize_t i = 0; i < n; ++i) {
      const char c = buf[i];
      if (escape_) {
        escape_ = false;
        if (c == 'x' || c == 'X') {
          quit_ = true;
          break;
        }
        if (c == kCtrlA) pending_ += c;
        continue;
      }
      if (c == kCtrlA)
        escape_ = true;
      else
        pending_ += c;
    }
  }
  flush();  // also retries what the FIFO refused last time
  return quit_;
}

}  // namespace disco
