// The vocabulary of the coherence protocol (DESIGN §4). See Directory and CacheController for
// the call sequence; directory_protocol.h holds the home's transition table.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "interconnect/message.h"

namespace disco {

// State of a line in a node's cache (MESI). E becomes M silently on the first store.
enum class LineState : uint8_t { I, S, E, M };
std::string_view name(LineState s);

// What a pcpu asks of a line.
enum class Access : uint8_t { Read, Write };

// State of a line at its home directory. Busy states are transient: the home serialises
// each line, so a request to a busy line waits on that line's queue (Stall).
enum class DirState : uint8_t {
  Uncached,   // no node holds the line
  Shared,     // the sharer vector lists every node that may hold a read-only copy
  Exclusive,  // one owner holds it in E or M
  BusyInv,    // Shared -> Exclusive: waiting for the sharers' InvAcks
  BusyFwd,    // Exclusive -> Shared/Exclusive(new owner): waiting for the old owner's FwdAck
};
inline constexpr unsigned kDirStates = 5;
std::string_view name(DirState s);

// An addressed message: what a protocol handler asks its driver to deliver.
struct Envelope {
  NodeId dst;
  PortIndex port;
  Message msg;
};
// Handlers never send: they append here and their caller delivers once its locks are released.
using Sends = std::vector<Envelope>;

}  // namespace disco
