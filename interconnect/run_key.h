// The run's key: one CURVE key pair made per run, which every process of the run holds and no
// other process has. Every ZeroMQ socket that listens on TCP is a CURVE server with it, and
// every socket that connects proves it holds the same secret (connection_guard.h); a peer without
// it is refused. The launcher writes it to a file only the run's user can read and hands the
// nodes the file's path.
#pragma once

#include <string>

namespace disco {

struct RunKey {
  std::string public_z85;  // 40 characters of Z85 each
  std::string secret_z85;

  static RunKey generate();
  // A fresh key pair from libsodium through libzmq. Throws std::runtime_error if libzmq was
  // built without CURVE.

  void write(const std::string& path) const;
  // Creates `path` mode 0600, never following a symlink nor replacing a file already there.
  // Throws std::runtime_error naming the path and the reason.

  static RunKey read(const std::string& path);
  // Reads and checks a file write() made: a regular file of ours that nobody else can read, with
  // a public key that matches its secret. Throws std::runtime_error with a one-line reason.
};

}  // namespace disco
