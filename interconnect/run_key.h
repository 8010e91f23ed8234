// The run's key: one CURVE key pair made per run, which every process of the run holds and no
// other process has. Every ZeroMQ socket that listens on TCP is a CURVE server with it, and
// every socket that connects proves it holds the same secret (connection_guard.h); a peer without
// it is refused. The launcher writes it to a file only the run's user can read and hands the
// nodes the file's path; a cluster run's nodes get the secret in their environment, which the
// launch engine (mpirun, srun) carries over its own channel, never on a command line.
#pragma once

#include <string>

namespace disco {

// The environment variable that carries a cluster run's secret key to its nodes.
inline constexpr const char* kRunKeyEnv = "DISCO_RUN_KEY";

struct RunKey {
  std::string public_z85;  // 40 characters of Z85 each
  std::string secret_z85;

  static RunKey generate();
  // A fresh key pair from libsodium through libzmq. Throws std::runtime_error if libzmq was
  // built without CURVE.

  void write(const std::string& path) const;
  // Creates `path` mode 0600, never following a symlink nor replacing a file already there.
  // Throws std::runtime_error naming the path and the reason.

  static RunKey from_secret(const std::string& secret_z85);
  // The pair of a secret key: what a node started on another host by mpirun or srun is given,
  // in its environment (kRunKeyEnv), where no file of the launcher's host reaches. Throws
  // std::invalid_argument if it is not a key.

  static RunKey read(const std::string& path);
  // Reads and checks a file write() made: a regular file of ours that nobody else can read, with
  // a public key that matches its secret. Throws std::runtime_error with a one-line reason.
};

}  // namespace disco
