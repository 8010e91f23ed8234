// Segment names: each node's machine memory is one POSIX shared-memory segment, named after
// the run so that concurrent runs never collide and a crashed run's leftovers can be found.
//
// A run id is "<launcher pid>-<8 random hex>"; node k's segment is "disco-<run id>-n<k>" and
// appears as /dev/shm/disco-<run id>-n<k>. The launcher removes a run's segments when the run
// ends (remove_run_segments) and, at start, removes those whose launcher died (sweep_stale_segments).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "shm/machine_types.h"

namespace disco {

std::string make_run_id();
// "<this pid>-<8 random hex>". The pid lets a later run tell a dead run's segments from a live
// one's; the random part keeps two runs of one pid (or a recycled pid) apart.

// The launcher pid a run id names, or nullopt if it is not a run id.
std::optional<pid_t> run_launcher_pid(std::string_view run_id);
// True when run_id is a run id whose launcher no longer exists: what it left may be removed.
bool run_is_stale(std::string_view run_id);
// True when no process `pid` exists on this host; false for a live one, and for pid <= 0 (which
// names no one process: such a pid read from shared memory is corrupt, not a dead process's).
bool process_is_gone(pid_t pid);

std::string segment_name(std::string_view run_id, NodeId node);
// "disco-<run_id>-n<node>", without the leading '/': that is how Boost.Interprocess names it.

std::string inbox_segment_name(std::string_view run_id, NodeId node);
// "disco-<run_id>-r<node>": the rings of node <node>'s ports (interconnect/shm_transport.h).

void remove_run_segments(std::string_view run_id, uint32_t nodes) noexcept;
// Removes the segments (memory and inbox) of nodes [0, nodes) of the run; missing ones are fine, so it is safe to
// call twice and from cleanup paths. Processes that still map a segment keep their mapping.

size_t sweep_stale_segments() noexcept;
// Removes every /dev/shm/disco-<pid>-<hex>-n<k> (and -r<k>) whose <pid> no longer exists and returns how
// many segments it removed, logging one line per run. Other names are left alone.

}  // namespace disco
