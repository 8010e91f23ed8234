// The coherence codec: a Message to and from its wire.capnp bytes.
//
// decode() is where bytes from other processes become trusted (STYLE habit 10): it reads with
// tight Cap'n Proto limits, range-checks every field against the machine (WireLimits) and the
// port the bytes arrived on, and either returns a Message the protocol may use without further
// range checks, or counts the drop and returns nothing. It never asserts and never throws on
// input. What it cannot check -- whether a request reached the line's home, whether a reply
// matches a transaction -- needs protocol state and is checked there (BadLine, Stale).
//
// Call sequence: the sender encode()s into a buffer it reuses and hands the bytes to
// Transport::send(dst, port_of(kind, pcpu), ...); the receiver decode()s each Frame with the
// PortIndex it read it from.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "interconnect/drop_counters.h"
#include "interconnect/message.h"

namespace disco {

inline constexpr uint32_t kMaxPadBytes = 4096;
// A Ping/Pong's padding limit: a page, more than any protocol message will ever carry.

void encode(const Message& msg, std::vector<uint8_t>& out);
// Overwrites `out` with msg's encoding. Writes only the fields msg.kind carries (message.h) and
// pad_bytes zeros for Ping/Pong. Reusing `out` across calls makes encoding allocation-free for
// protocol messages. Throws std::invalid_argument if msg.kind is not a MsgKind or pad_bytes
// exceeds kMaxPadBytes: those are sender bugs, not input.

std::optional<Message> decode(std::span<const uint8_t> bytes, PortIndex arrived_on,
                              const WireLimits& limits, DropCounters& drops);
// The validated Message, or std::nullopt after one drops.drop() naming the first problem found.
// Fields the kind does not carry are left at their defaults; a PutM decodes with dirty set.
// `bytes` need not be word-aligned (an unaligned frame is copied first).

}  // namespace disco
