#include "interconnect/outward_address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstring>
#include <stdexcept>

namespace disco {

std::string outward_address(const std::string& peer) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (const int e = ::getaddrinfo(peer.c_str(), "9", &hints, &found); e != 0)
    throw std::runtime_error(fmt::format("host '{}' does not resolve: {}", peer, ::gai_strerror(e)));
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const bool routed = fd >= 0 && ::connect(fd, found->ai_addr, found->ai_addrlen) == 0;
  const int err = errno;
  ::freeaddrinfo(found);
  sockaddr_in local{};
  socklen_t len = sizeof local;
  const bool named = routed && ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0;
  if (fd >= 0) ::close(fd);
  if (!named) throw std::runtime_error(fmt::format("no route to host '{}': {}", peer, std::strerror(err)));
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &local.sin_addr, text, sizeof text);
  return text;
}

std::string tcp_endpoint_host(const std::string& endpoint) {
  constexpr std::string_view kScheme = "tcp://";
  if (!endpoint.starts_with(kScheme)) return {};
  const size_t colon = endpoint.rfind(':');
  if (colon <= kScheme.size()) return {};
  return endpoint.substr(kScheme.size(), colon - kScheme.size());
}

}  // namespace disco
