#include "interconnect/connection_guard.h"

#include <chrono>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <zmq_addon.hpp>

namespace disco {

namespace {

constexpr std::string_view kZapEndpoint = "inproc://zeromq.zap.01";
constexpr std::string_view kZapDomain = "disco";
constexpr int kRefusals = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                          ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
constexpr auto kStopCheck = std::chrono::milliseconds(50);

std::string_view text(const zmq::message_t& m) { return {static_cast<const char*>(m.data()), m.size()}; }

}  // namespace

ConnectionGuard::ConnectionGuard(zmq::context_t& context, const RunKey& key)
    : context_(context), key_(key), zap_(context, zmq::socket_type::rep) {
  if (key_.public_z85.size() != 40 || zmq_z85_decode(public_raw_.data(), key_.public_z85.c_str()) == nullptr)
    throw std::runtime_error("the run's public key is not 40 characters of Z85");
  zap_.set(zmq::sockopt::linger, 0);
  try {
    zap_.bind(std::string(kZapEndpoint));  // here, not in the thread: no connection may come before ZAP is there
  } catch (const zmq::error_t& e) {
    throw std::runtime_error(fmt::format("cannot start the connection guard: {}", e.what()));
  }
  thread_ = std::thread([this] { serve(); });
}

ConnectionGuard::~ConnectionGuard() {
  stop_ = true;
  thread_.join();
}

void ConnectionGuard::listen_with(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::curve_server, true);
  socket.set(zmq::sockopt::curve_secretkey, key_.secret_z85);
  socket.set(zmq::sockopt::zap_domain, std::string(kZapDomain));
  std::lock_guard lock(mutex_);
  const std::string endpoint = fmt::format("inproc://disco-guard-{}-{}", static_cast<const void*>(this), monitors_++);
  if (zmq_socket_monitor(socket.handle(), endpoint.c_str(), kRefusals) != 0)
    throw std::runtime_error(fmt::format("cannot watch a socket's handshakes: {}", zmq_strerror(zmq_errno())));
  // Connected at once, so the monitor never has an event and no reader.
  zmq::socket_t& reader = new_readers_.emplace_back(context_, zmq::socket_type::pair);
  reader.set(zmq::sockopt::linger, 0);
  reader.connect(endpoint);
}

void ConnectionGuard::connect_with(zmq::socket_t& socket) const {
  socket.set(zmq::sockopt::curve_serverkey, key_.public_z85);
  socket.set(zmq::sockopt::curve_publickey, key_.public_z85);
  socket.set(zmq::sockopt::curve_secretkey, key_.secret_z85);
}

void ConnectionGuard::serve() {
  std::vector<zmq::socket_t> readers;
  std::vector<zmq::pollitem_t> items;
  while (!stop_.load()) {
    {
      std::lock_guard lock(mutex_);  // also the fence that hands the sockets to this thread
      for (auto& r : new_readers_) readers.push_back(std::move(r));
      new_readers_.clear();
    }
    items.assign(1, {zap_.handle(), 0, ZMQ_POLLIN, 0});
    for (auto& r : readers) items.push_back({r.handle(), 0, ZMQ_POLLIN, 0});
    try {
      if (zmq::poll(items.data(), items.size(), kStopCheck) <= 0) continue;
      if (items[0].revents & ZMQ_POLLIN) answer_zap();
      for (size_t i = 0; i < readers.size(); ++i)
        if (items[i + 1].revents & ZMQ_POLLIN) read_events(readers[i]);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      if (e.num() != EINTR) spdlog::warn("connection guard: {}", e.what());
    }
  }
}

void ConnectionGuard::answer_zap() {
  // Request (RFC 27): version, request id, domain, address, routing id, mechanism, credentials.
  std::vector<zmq::message_t> request;
  if (!zmq::recv_multipart(zap_, std::back_inserter(request), zmq::recv_flags::dontwait)) return;
  const bool well_formed = request.size() >= 6 && text(request[0]) == "1.0";
  const bool ours = well_formed && text(request[5]) == "CURVE" && request.size() == 7 &&
                    request[6].size() == public_raw_.size() &&
                    std::memcmp(request[6].data(), public_raw_.data(), public_raw_.size()) == 0;
  std::array<zmq::message_t, 6> reply{zmq::message_t(std::string_view("1.0")),
                                      well_formed ? zmq::message_t(request[1].data(), request[1].size()) : zmq::message_t(),
                                      zmq::message_t(std::string_view(ours ? "200" : "400")),
                                      zmq::message_t(std::string_view(ours ? "OK" : "not the run's key")),
                                      zmq::message_t(), zmq::message_t()};
  zmq::send_multipart(zap_, reply);  // the refusal itself is counted by the monitor
}

void ConnectionGuard::read_events(zmq::socket_t& reader) {
  // An event is two frames: 6 bytes (event, value), then the endpoint.
  std::vector<zmq::message_t> event;
  while (zmq::recv_multipart(reader, std::back_inserter(event), zmq::recv_flags::dontwait)) {
    if (!event.empty() && event[0].size() >= sizeof(uint16_t)) {
      uint16_t kind;
      std::memcpy(&kind, event[0].data(), sizeof kind);
      if (kind & kRefusals) {
        if (refused_.fetch_add(1, std::memory_order_relaxed) == 0)
          spdlog::warn("refused a connection without the run's key on {} (further ones are only counted)",
                       event.size() > 1 ? std::string(text(event[1])) : std::string("?"));
      }
    }
    event.clear();
  }
}

}  // namespace disco
