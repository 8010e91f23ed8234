// `--interactive`: the user's terminal becomes the guest's serial console, as with
// `qemu -nographic`. The terminal goes raw (every key, Ctrl-C included, goes to the guest) and is
// restored on every way out; keystrokes go through a FIFO to the node that runs the vcpu. Ctrl-A
// then x quits; Ctrl-A Ctrl-A sends one Ctrl-A.
#pragma once

#include <termios.h>

#include <string>

namespace disco {

class TerminalInput {
 public:
  // Creates the FIFO at `fifo_path`; makes stdin raw when it is a terminal.
  explicit TerminalInput(std::string fifo_path);
  ~TerminalInput();
  TerminalInput(const TerminalInput&) = delete;
  TerminalInput& operator=(const TerminalInput&) = delete;

  // Moves what the user typed to the FIFO without blocking; true once the user asked to quit.
  bool poll();
  const std::string& fifo_path() const { return fifo_path_; }

 private:
  // Writes what is pending to the FIFO, as much as it takes.
  void flush();

  std::string fifo_path_;
  int fifo_fd_ = -1;  // opened once the node has opened its end
  bool raw_ = false;
  termios saved_{};
  bool escape_ = false;  // the last key was Ctrl-A
  bool quit_ = false;
  std::string pending_;  // typed before the node opened the FIFO
};

}  // namespace disco
