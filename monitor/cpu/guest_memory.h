// What the interpreter sees of memory: already-translated addresses (the TLB comes later and
// sits in front of this), little-endian values of 1, 2 or 4 bytes. Call sequence: the
// interpreter fetches each word it has not predecoded, then loads and stores as instructions ask.
// Every call returns false for a bus error (no device or RAM there); the interpreter turns that
// into BusErrorInstruction / BusErrorData. Alignment is checked by the interpreter before it calls.
#pragma once

#include <cstdint>

namespace disco::mips {

class GuestMemory {
 public:
  virtual ~GuestMemory() = default;

  // `size` is 1, 2 or 4 and `addr` is aligned to it; `out` gets the value zero-extended.
  virtual bool load(uint32_t addr, unsigned size, uint32_t& out) = 0;
  // The low `size` bytes of `value` are written.
  virtual bool store(uint32_t addr, unsigned size, uint32_t value) = 0;
  // LL: a word load that also sets the link (the memory system owns it, since only it sees other
  // vcpus' stores and coherence invalidations that break it).
  virtual bool load_linked(uint32_t addr, uint32_t& out) = 0;
  // SC: stores `value` only if the link set by the last load_linked still holds; `stored` says
  // whether it did (SC writes it to rt). Clears the link either way.
  virtual bool store_conditional(uint32_t addr, uint32_t value, bool& stored) = 0;
  // An instruction word for the predecoder; `addr` is word-aligned.
  virtual bool fetch(uint32_t addr, uint32_t& word) = 0;
};

}  // namespace disco::mips
