// Survival fuzzing of the decoder (STYLE habit 9, after capnp's fuzz-run): random byte strings
// and bit-flipped valid messages must each either decode to a message the oracle accepts or be
// counted as exactly one drop -- never crash, never throw, never pass something out of range.
//
// The seed is printed; rerun a failure with DISCO_TEST_SEED=<seed>.
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>

#include <capnp/schema.h>
#include <gtest/gtest.h>

#include "interconnect/codec.h"
#include "interconnect/wire.capnp.h"
#include "sample_messages.h"

namespace disco {
namespace {

constexpr int kIterations = 200000;

// Where wire::Message keeps its union discriminant, in 16-bit units of its data section.
const uint32_t kDiscriminantOffset =
    capnp::Schema::from<wire::Message>().getProto().getStruct().getDiscriminantOffset();

uint64_t seed_for(const char* test) {
  uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("DISCO_TEST_SEED")) seed = std::strtoull(s, nullptr, 0);
  std::cout << test << ": seed " << seed << " (rerun with DISCO_TEST_SEED=" << seed << ")\n";
  return seed;
}

PortIndex random_port(std::mt19937_64& rng) {
  return static_cast<PortIndex>(rng() % (kFirstPcpuPort + test::kLimits.pcpus_per_node + 1));
}

// Decodes and holds the result to the contract; returns false (after reporting) on a violation.
bool survives(std::span<const uint8_t> bytes, PortIndex port, DropCounters& drops, uint64_t seed, int i,
              uint64_t& decoded) {
  const uint64_t before = drops.total();
  const auto m = decode(bytes, port, test::kLimits, drops);
  if (m) {
    ++decoded;
    if (!test::within(*m, port, test::kLimits) || drops.total() != before) {
      ADD_FAILURE() << "seed " << seed << " iteration " << i << ": passed " << test::describe(*m) << " on port "
                    << port;
      return false;
    }
  } else if (drops.total() != before + 1) {
    ADD_FAILURE() << "seed " << seed << " iteration " << i << ": dropped but counted "
                  << drops.total() - before << " times";
    return false;
  }
  return true;
}

// Overwrites the start of a single-segment frame with a root pointer to a Message whose union
// pointer leads to a struct big enough for any kind, leaving the values random: random bytes
// then reach the field checks often enough to exercise them.
void plausible_skeleton(std::vector<uint8_t>& bytes, std::mt19937_64& rng) {
  auto struct_pointer = [](uint64_t data_words, uint64_t pointers) { return data_words << 32 | pointers << 48; };
  const uint64_t root = struct_pointer(1, 1);
  // src (16 bits at 0) small, discriminant mostly a known kind.
  const uint64_t data = (rng() % 16) | (rng() % (kMsgKinds + 1)) << (16 * kDiscriminantOffset);
  const uint64_t member = struct_pointer(3, 1);
  std::memcpy(bytes.data() + 8, &root, 8);
  std::memcpy(bytes.data() + 16, &data, 8);
  std::memcpy(bytes.data() + 24, &member, 8);
  for (size_t at = 32; at < 56; at += 2) {  // the member's fields: small values, some in range
    if (rng() % 2 == 0) {
      bytes[at] &= 0x7;
      bytes[at + 1] = 0;
    }
  }
  if (rng() % 2 == 0) std::memset(bytes.data() + 56, 0, 8);  // no Data pointer
}

void report(uint64_t decoded, const DropCounters& drops) {
  std::cout << "  " << decoded << " decoded, " << drops.total() << " dropped:";
  for (unsigned r = 0; r < kDropReasons; ++r)
    if (const uint64_t n = drops.count(static_cast<DropReason>(r))) std::cout << " " << name(static_cast<DropReason>(r)) << " " << n;
  std::cout << "\n";
}

TEST(CodecFuzz, RandomBytesAreDecodedOrCounted) {
  const uint64_t seed = seed_for("RandomBytesAreDecodedOrCounted");
  std::mt19937_64 rng(seed);
  DropCounters drops;
  uint64_t decoded = 0;
  std::vector<uint8_t> bytes;
  for (int i = 0; i < kIterations; ++i) {
    // Mostly short frames, sometimes long ones; half get a plausible single-segment table so
    // that the bytes reach the pointer and field checks instead of stopping at the framing.
    const size_t words = rng() % 8 == 0 ? rng() % 700 : rng() % 12;
    const size_t len = words * 8 + (rng() % 4 == 0 ? rng() % 8 : 0);
    bytes.resize(len);
    for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    if (len >= 8 && rng() % 2 == 0) {
      const uint32_t table[2] = {0, static_cast<uint32_t>(len / 8 - 1)};
      std::memcpy(bytes.data(), table, sizeof table);
      if (len >= 64 && rng() % 2 == 0) plausible_skeleton(bytes, rng);
    }
    if (!survives(bytes, random_port(rng), drops, seed, i, decoded)) break;
  }
  report(decoded, drops);
}

TEST(CodecFuzz, BitFlipsOfValidMessagesAreDecodedOrCounted) {
  const uint64_t seed = seed_for("BitFlipsOfValidMessagesAreDecodedOrCounted");
  std::mt19937_64 rng(seed);
  DropCounters drops;
  uint64_t decoded = 0;
  std::vector<uint8_t> bytes;
  for (int i = 0; i < kIterations; ++i) {
    const Message m = test::random_message(rng);
    encode(m, bytes);
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    // Usually the port the original belonged on, so flips of value fields can still pass.
    const PortIndex port = rng() % 4 == 0 ? random_port(rng) : port_of(m.kind, m.pcpu);
    if (!survives(bytes, port, drops, seed, i, decoded)) break;
  }
  report(decoded, drops);
  EXPECT_GT(decoded, 0u);  // flips of field values must not all be rejected
  EXPECT_GT(drops.total(), 0u);
}

}  // namespace
}  // namespace disco
