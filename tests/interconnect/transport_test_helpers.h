// What the transport tests share: a temporary directory for ipc endpoints, a node's port count
// and the messages they send.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "interconnect/transport.h"

namespace disco::transport_test {

constexpr uint32_t kPorts = kFirstPcpuPort + 2;  // a node with two pcpus
constexpr int kWaitMs = 10000;                   // generous: only reached if something is broken

// A fresh directory for ipc endpoints, short enough for a socket path, removed afterwards.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/disco-ic-XXXXXX";
    if (mkdtemp(name) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = name;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::vector<uint8_t> payload(NodeId from, PortIndex port, size_t size) {
  std::vector<uint8_t> bytes(size);
  std::iota(bytes.begin(), bytes.end(), static_cast<uint8_t>(from * 100 + port));
  return bytes;
}

inline std::vector<uint8_t> bytes_of(const Frame& f) { return {f.data().begin(), f.data().end()}; }

}  // namespace disco::transport_test
