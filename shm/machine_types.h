// The words of the emulated machine (DESIGN §2) that every module shares.
//
// A machine address names a byte of the emulated machine's memory. Node i owns
// [i*M, (i+1)*M) where M is the memory per node; a line is the coherence unit and its home
// is the node that owns its machine address.
#pragma once

#include <cstdint>
#include <string>

namespace disco {

using NodeId = uint16_t;       // an emulated NUMA node = one host process
using PcpuId = uint16_t;       // an emulated physical processor of a node (a host thread)
using MachineAddr = uint64_t;  // a byte address in the emulated machine's memory
using LineAddr = uint64_t;     // a machine address divided by the line size
using PageAddr = uint64_t;     // a machine address divided by the page size

// A directory entry's sharer vector is a full map up to 64 nodes and a coarse vector beyond.
inline constexpr unsigned kMaxNodes = 1024;
inline constexpr unsigned kMaxPcpusPerNode = 64;
inline constexpr uint64_t kPageBytes = 4096;    // the guest's (MIPS 4 KiB) page; memory comes in pages

// The shape of the machine's memory, fixed for a run. All sizes are powers of two except the
// node count, so address arithmetic is shifts and masks; home_of is one division.
struct MachineGeometry {
  uint32_t nodes = 0;
  uint64_t mem_per_node = 0;  // bytes, a multiple of kPageBytes
  uint32_t line_bytes = 128;  // power of two, 8..4096

  uint64_t total_bytes() const { return mem_per_node * nodes; }
  uint32_t line_shift() const { return static_cast<uint32_t>(__builtin_ctz(line_bytes)); }
  uint64_t lines_per_node() const { return mem_per_node / line_bytes; }
  uint64_t total_lines() const { return total_bytes() / line_bytes; }
  LineAddr line_of(MachineAddr a) const { return a >> line_shift(); }
  MachineAddr addr_of(LineAddr l) const { return l << line_shift(); }
  NodeId home_of_line(LineAddr l) const { return static_cast<NodeId>(l / lines_per_node()); }
  NodeId home_of(MachineAddr a) const { return static_cast<NodeId>(a / mem_per_node); }
  PageAddr page_of(MachineAddr a) const { return a / kPageBytes; }
  bool contains(MachineAddr a, uint64_t size) const { return a < total_bytes() && size <= total_bytes() - a; }

  // Empty when the geometry is usable, else a one-line reason (used for flags and wire input).
  std::string check() const;
};

}  // namespace disco
