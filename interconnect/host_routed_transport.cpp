#include "interconnect/host_routed_transport.h"

#include <fmt/format.h>

#include <numeric>
#include <vector>

namespace disco {
namespace {
constexpr int kForwardPollMs = 100;  // how soon the forwarder notices it is stopped
}  // namespace

HostRoutedTransport::HostRoutedTransport(NodeId self, const HostMap& hosts, uint32_t ports, ShmTransport& local,
                                         ZmqTransport& remote, DropCounters& drops)
    : self_(self), hosts_(hosts), ports_(ports), local_(local), remote_(remote), drops_(drops) {
  forwarder_ = std::thread([this] { forward(); });
}

HostRoutedTransport::~HostRoutedTransport() {
  stop_.store(true);
  forwarder_.join();
}

void HostRoutedTransport::forward() {
  std::vector<PortIndex> all(ports_);
  std::iota(all.begin(), all.end(), PortIndex{0});
  Frame frame;
  while (!stop_.load(std::memory_order_relaxed)) {
    const int ready = remote_.poll(all, kForwardPollMs);
    if (ready < 0) continue;
    const PortIndex port = all[static_cast<size_t>(ready)];
    while (remote_.recv(port, frame, 0))
      // The codec checks it at the receiver, as any frame; a full inbox for this long is a drop.
      if (!local_.send(self_, port, frame.data()))
        drops_.drop(DropReason::SendFailed, fmt::format("node {} port {}: a frame from another host found the inbox full", self_, port));
  }
}

}  // namespace disco
