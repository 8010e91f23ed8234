// The address this host is reached at from another one: what a cluster run's sockets bind to and
// tell their peers. The kernel's routing answers it: a UDP socket connected toward the peer
// (nothing is sent) is given the source address of the route there.
#pragma once

#include <string>

namespace disco {

// The local IPv4 address of the route toward `peer` (a host name or an IPv4 address). Throws
// std::runtime_error with a one-line reason when `peer` does not resolve or no route leads there.
std::string outward_address(const std::string& peer);

// The host of a "tcp://HOST:PORT" endpoint; empty if `endpoint` is not one.
std::string tcp_endpoint_host(const std::string& endpoint);

}  // namespace disco
