// NodeSet: a set of nodes up to kMaxNodes, as cheap as one 64-bit word while only nodes below 64
// are in it. The words past the highest one ever set are never read nor cleared, so a set of a
// 64-node machine costs what the plain uint64_t it replaces cost (the directory's awaited acks).
#pragma once

#include <array>
#include <cstdint>

#include "shm/machine_types.h"

namespace disco {

class NodeSet {
 public:
  void insert(NodeId n) {
    const unsigned w = n / 64u;
    while (used_ <= w) words_[used_++] = 0;
    words_[w] |= uint64_t{1} << (n % 64u);
  }
  void erase(NodeId n) {
    if (n / 64u < used_) words_[n / 64u] &= ~(uint64_t{1} << (n % 64u));
  }
  bool contains(NodeId n) const { return n / 64u < used_ && (words_[n / 64u] >> (n % 64u) & 1) != 0; }
  bool empty() const {
    for (unsigned w = 0; w < used_; ++w)
      if (words_[w]) return false;
    return true;
  }
  unsigned size() const {
    unsigned c = 0;
    for (unsigned w = 0; w < used_; ++w) c += static_cast<unsigned>(__builtin_popcountll(words_[w]));
    return c;
  }
  void clear() { used_ = 0; }

 private:
  static constexpr unsigned kWords = (kMaxNodes + 63) / 64;
  std::array<uint64_t, kWords> words_;  // only [0, used_) hold anything
  uint8_t used_ = 0;
};

}  // namespace disco
