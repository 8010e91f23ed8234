// ShmTransport: the Transport of nodes on one host, through rings in shared memory. A remote
// miss then costs what the host's cache coherence costs (a few hundred ns), not a ZeroMQ round
// trip (tens to hundreds of us).
//
// Every node owns an inbox segment ("disco-<run>-r<k>", owner-only, removed with the run's other
// segments): for each of its ports, one MessageRing per sending node, so a sender killed in the
// middle of a message stops only its own ring (shm/message_ring.h). Each port group has a bell:
// the engine's ports share one, each pcpu port has its own. A receiver with nothing to do watches
// its rings for a while (spinning with a core of its own, yielding the core between looks where
// threads outnumber cores), then sleeps on its bell; a sender publishes, and rings the bell (an atomic
// add and a futex wake) only when someone sleeps on it.
//
// Call sequence (transport.h): construct, bind() creates this node's inbox and returns its port
// endpoints ("shm://<segment>/<port>"), connect() maps every node's inbox from the peer table;
// then send from any thread, recv/poll each port from one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "interconnect/drop_counters.h"
#include "interconnect/transport.h"
#include "shm/message_ring.h"

namespace disco {

class ShmTransport final : public Transport {
 public:
  static constexpr size_t kRingBytes = 16 * 1024;  // per (sender, port): holds a padded ping twice
  static constexpr size_t kMaxMessage = MessageRing::max_message_for(kRingBytes);  // send() refuses more
  // How long a receiver watches its rings before it sleeps: spinning, and yielding (Waiting).
  static constexpr int64_t kSpinWatchNs = 20'000, kYieldWatchNs = 1'000'000;
  static constexpr int kSendPatienceMs = 2000;     // a full ring is waited on this long, then a drop
  // A ring claimed but unpublished this long, by a producer still alive, is resynced (a flipped
  // bit in a stamp). Long: a live producer is only starved -- 128 nodes under ThreadSanitizer on
  // two cores left one mid-message for over a second -- and dropping its message would stop the
  // protocol. A ring whose producer is gone is resynced at once.
  static constexpr int kStallMs = 30'000;

  // How a receiver waits before it sleeps: spinning (every pcpu of the run has a core of its
  // own), or yielding its core between looks (more pcpus than cores: a spinner would keep the
  // core its sender needs, a sleeper would pay a wake-up per message).
  enum class Waiting { Spin, Yield };

  ShmTransport(std::string run_id, NodeId self, uint32_t nodes, uint32_t ports, DropCounters& drops,
               Waiting waiting = Waiting::Spin, int stall_ms = kStallMs);
  // `ports`: this node's and every node's port count (1..kFirstPcpuPort + kMaxPcpusPerNode);
  // `drops` counts records the rings refuse (BadRecord) and stalled rings resynced; `stall_ms`:
  // kStallMs, or less for a test whose only producers are its own threads.
  ~ShmTransport() override;

  // The size of one node's inbox segment in a machine of `nodes` nodes of `ports` ports each.
  static size_t inbox_bytes(uint32_t nodes, uint32_t ports);
  // The endpoints of node `node`'s ports in run `run_id`: what its bind() returns.
  static std::vector<std::string> endpoints(std::string_view run_id, NodeId node, uint32_t ports);

  std::vector<std::string> bind();
  // Creates this node's inbox (mode 0600) and returns its endpoints in PortIndex order. Throws
  // std::runtime_error (one line) if the segment cannot be made.

  void connect(const std::vector<std::vector<std::string>>& endpoints_by_node);
  // Maps the inbox of every node named in the table; a node given no endpoints is on another host
  // (send to it returns false). Throws std::runtime_error (one line) for an
  // endpoint that is not one of ours, a missing segment, or one whose shape differs from this
  // run's; std::logic_error if called twice. Without bind() first, the transport only sends, as
  // node `self` (through the rings node `self` writes): a tool that injects frames into a running
  // machine of its user's, such as the malformed-message test.

  bool send(NodeId dst, PortIndex port, std::span<const uint8_t> bytes) override;
  // Waits while the destination ring is full (back-pressure: the receiver is behind) for at most
  // kSendPatienceMs; false then, or for an unknown destination or an oversized message.

  bool recv(PortIndex port, Frame& out, int timeout_ms) override;
  int poll(std::span<const PortIndex> ports, int timeout_ms) override;
  // As ZmqTransport's: out-of-range ports throw std::out_of_range; poll returns the first ready
  // port in the order given. A poll over ports of different bells sleeps in short steps.

  struct Counters {
    uint64_t full_waits = 0, wakes = 0, sleeps = 0;
  };
  Counters counters() const;
  // Sends that found their ring full and waited, futex wakes sent, sleeps taken.

 private:
  struct Inbox;  // one mapped inbox segment
  struct Bell;

  // The bell a port rings: 0 for the engine's ports, 1 + p for pcpu p's.
  static uint32_t bell_of(PortIndex port) { return port < kFirstPcpuPort ? 0 : port - kFirstPcpuPort + 1; }
  void check_port(PortIndex port) const;
  // Takes one message of `port` from the first ready ring (round robin over senders).
  bool take(PortIndex port, Frame& out);
  // Sleeps on bell `bell` until it moves past `seen` or timeout_ns pass; true if a signal woke it.
  bool sleep_on(uint32_t bell, uint32_t seen, int64_t timeout_ns);
  void resync_stalled(PortIndex port, int64_t now_ns);
  template <typename Ready>
  bool wait(std::span<const PortIndex> ports, int timeout_ms, Ready&& ready);

  const std::string run_id_;
  const NodeId self_;
  const uint32_t nodes_, ports_;
  DropCounters& drops_;
  const Waiting waiting_;
  const int64_t stall_ns_;
  std::unique_ptr<Inbox> own_;
  std::vector<std::unique_ptr<Inbox>> peers_;             // [node], filled by connect() (self: null)
  std::vector<std::vector<MessageRing>> in_;              // [port][sender]: this node's rings
  std::vector<std::optional<MessageRing>> out_;           // [node * ports_ + port]: our ring in its inbox
  std::vector<Bell*> out_bells_;                          // [node * ports_ + port]
  std::vector<uint32_t> next_sender_;                     // [port]: round-robin start
  std::vector<std::vector<int64_t>> stalled_since_;       // [port][sender]: steady ns, 0 = not stalled
  bool connected_ = false;
  std::atomic<uint64_t> full_waits_{0}, wakes_{0}, sleeps_{0};
};

}  // namespace disco
