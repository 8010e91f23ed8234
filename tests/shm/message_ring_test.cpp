// MessageRing on ordinary memory (the layout is the same in a segment): order, wrap-around,
// back-pressure, many producers against one consumer, and the records no producer wrote whole
// -- flipped bits and a producer that died mid-message -- which must be dropped, never followed.
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "shm/message_ring.h"

namespace disco {
namespace {

constexpr size_t kCapacity = 4096;

// Zeroed, 64-byte aligned memory for one ring, as a fresh segment gives it.
struct RingMemory {
  explicit RingMemory(size_t capacity = kCapacity)
      : bytes(MessageRing::bytes_for(capacity)), memory(static_cast<uint8_t*>(std::aligned_alloc(64, bytes))) {
    std::memset(memory.get(), 0, bytes);
    MessageRing::construct(memory.get(), capacity);
  }
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  size_t bytes;
  std::unique_ptr<uint8_t, Free> memory;
};

std::vector<uint8_t> message(uint32_t tag, size_t size) {
  std::vector<uint8_t> m(size);
  std::iota(m.begin(), m.end(), static_cast<uint8_t>(tag));
  if (size >= sizeof tag) std::memcpy(m.data(), &tag, sizeof tag);
  return m;
}

MessageRing::Pop pop(MessageRing& ring, std::vector<uint8_t>& out) {
  return ring.pop([&](std::span<const uint8_t> m) { out.assign(m.begin(), m.end()); });
}

TEST(MessageRing, CapacitiesArePowersOfTwoFromFourKiB) {
  EXPECT_TRUE(MessageRing::valid_capacity(4096));
  EXPECT_TRUE(MessageRing::valid_capacity(1 << 20));
  EXPECT_FALSE(MessageRing::valid_capacity(2048));
  EXPECT_FALSE(MessageRing::valid_capacity(6000));
  std::vector<uint64_t> memory(MessageRing::bytes_for(8192) / 8, 0);
  EXPECT_THROW(MessageRing::construct(memory.data(), 6000), std::invalid_argument);
  EXPECT_THROW(MessageRing(memory.data(), 8192), std::invalid_argument);  // nothing constructed there
  MessageRing::construct(memory.data(), 8192);
  EXPECT_THROW(MessageRing(memory.data(), 4096), std::invalid_argument);  // not the size it was made with
}

TEST(MessageRing, MessagesComeOutInOrderAcrossManyLaps) {
  RingMemory mem;
  MessageRing ring(mem.memory.get(), kCapacity);
  std::vector<uint8_t> got;
  EXPECT_EQ(pop(ring, got), MessageRing::Pop::Empty);
  // Sizes that do not divide the ring, so records fall across its end and padding is written.
  for (uint32_t i = 0; i < 2000; ++i) {
    const auto sent = message(i, 1 + (i * 37) % 700);
    ASSERT_EQ(ring.push(sent), MessageRing::Push::Ok) << i;
    ASSERT_TRUE(ring.ready());
    ASSERT_EQ(pop(ring, got), MessageRing::Pop::Ok) << i;
    ASSERT_EQ(got, sent) << i;
    ASSERT_FALSE(ring.ready());
  }
  EXPECT_FALSE(ring.stalled());
}

TEST(MessageRing, AFullRingRefusesUntilTheConsumerGivesSpaceBack) {
  RingMemory mem;
  MessageRing ring(mem.memory.get(), kCapacity);
  const auto m = message(7, 100);  // a 128-byte record
  size_t pushed = 0;
  while (ring.push(m) == MessageRing::Push::Ok) ++pushed;
  EXPECT_EQ(pushed, kCapacity / 128);
  EXPECT_EQ(ring.push(m), MessageRing::Push::Full);
  std::vector<uint8_t> got;
  ASSERT_EQ(pop(ring, got), MessageRing::Pop::Ok);
  EXPECT_EQ(ring.push(m), MessageRing::Push::Ok);
  EXPECT_EQ(ring.push(m), MessageRing::Push::Full);
  for (size_t i = 0; i < pushed; ++i) ASSERT_EQ(pop(ring, got), MessageRing::Pop::Ok);
  EXPECT_EQ(pop(ring, got), MessageRing::Pop::Empty);
}

TEST(MessageRing, TheLargestMessageFitsWhereverTheRingStands) {
  RingMemory mem;
  MessageRing ring(mem.memory.get(), kCapacity);
  std::vector<uint8_t> got;
  EXPECT_EQ(ring.push(message(1, ring.max_message() + 1)), MessageRing::Push::TooBig);
  for (size_t shift = 0; shift < kCapacity; shift += 48) {
    ASSERT_EQ(ring.push(message(2, 30)), MessageRing::Push::Ok);  // move the ring's position along
    ASSERT_EQ(pop(ring, got), MessageRing::Pop::Ok);
    const auto big = message(3, ring.max_message());
    ASSERT_EQ(ring.push(big), MessageRing::Push::Ok) << shift;
    ASSERT_EQ(pop(ring, got), MessageRing::Pop::Ok);
    ASSERT_EQ(got, big);
  }
}

TEST(MessageRing, ManyProducersOneConsumerLoseNothingAndKeepEachProducersOrder) {
  RingMemory mem(16384);
  constexpr int kThreads = 4, kEach = 20000;
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t)
    producers.emplace_back([&, t] {
      MessageRing ring(mem.memory.get(), 16384);  // a view per thread, as per process
      for (uint32_t i = 0; i < kEach; ++i) {
        const auto m = message(uint32_t(t) << 24 | i, 8 + i % 200);
        while (ring.push(m) != MessageRing::Push::Ok) std::this_thread::yield();
      }
    });
  MessageRing ring(mem.memory.get(), 16384);
  std::vector<uint32_t> next(kThreads, 0);
  std::vector<uint8_t> got;
  for (int n = 0; n < kThreads * kEach;) {
    const MessageRing::Pop r = pop(ring, got);
    ASSERT_NE(r, MessageRing::Pop::Corrupt);
    if (r == MessageRing::Pop::Empty) continue;
    ++n;
    uint32_t tag = 0;
    std::memcpy(&tag, got.data(), sizeof tag);
    const uint32_t t = tag >> 24, i = tag & 0xffffff;
    ASSERT_LT(t, uint32_t(kThreads));
    ASSERT_EQ(i, next[t]++) << "producer " << t << " out of order";
    ASSERT_EQ(got, message(tag, 8 + i % 200));
  }
  for (auto& p : producers) p.join();
  EXPECT_EQ(pop(ring, got), MessageRing::Pop::Empty);
}

// The record header sits right after the control block: the first record's length word.
uint32_t* first_length(RingMemory& mem) {
  return reinterpret_cast<uint32_t*>(mem.memory.get() + mem.bytes - kCapacity + 8);
}

TEST(MessageRing, AFlippedBitInALengthIsADropAndTheRingGoesOn) {
  for (unsigned bit = 0; bit < 32; ++bit) {
    RingMemory mem;
    MessageRing ring(mem.memory.get(), kCapacity);
    ASSERT_EQ(ring.push(message(1, 50)), MessageRing::Push::Ok);
    ASSERT_EQ(ring.push(message(2, 60)), MessageRing::Push::Ok);
    *first_length(mem) ^= 1u << bit;
    std::vector<uint8_t> got;
    EXPECT_EQ(pop(ring, got), MessageRing::Pop::Corrupt) << bit;
    EXPECT_EQ(pop(ring, got), MessageRing::Pop::Empty);  // what was claimed went with it
    const auto after = message(3, 70);
    ASSERT_EQ(ring.push(after), MessageRing::Push::Ok);
    ASSERT_EQ(pop(ring, got), MessageRing::Pop::Ok);
    EXPECT_EQ(got, after);
  }
}

TEST(MessageRing, AProducerThatDiedMidMessageStallsOnlyUntilTheRingIsResynced) {
  RingMemory mem;
  MessageRing ring(mem.memory.get(), kCapacity);
  ASSERT_EQ(ring.push(message(1, 50)), MessageRing::Push::Ok);
  // A producer that claimed its space and died before it published: clear the stamp it wrote.
  ASSERT_EQ(ring.push(message(2, 50)), MessageRing::Push::Ok);
  reinterpret_cast<std::atomic<uint64_t>*>(mem.memory.get() + mem.bytes - kCapacity + 80)->store(0);
  ASSERT_EQ(ring.push(message(3, 50)), MessageRing::Push::Ok);
  std::vector<uint8_t> got;
  ASSERT_EQ(pop(ring, got), MessageRing::Pop::Ok);
  EXPECT_EQ(got, message(1, 50));
  EXPECT_EQ(pop(ring, got), MessageRing::Pop::Empty);
  EXPECT_TRUE(ring.stalled());
  EXPECT_EQ(ring.drop_stalled(), 160u);  // the dead record and the one behind it
  EXPECT_FALSE(ring.stalled());
  ASSERT_EQ(ring.push(message(4, 50)), MessageRing::Push::Ok);
  ASSERT_EQ(pop(ring, got), MessageRing::Pop::Ok);
  EXPECT_EQ(got, message(4, 50));
}

// The ring names the process that last claimed space in it, so that a stall behind a producer
// that died is resynced at once, and one behind a live (only starved) producer is waited out.
TEST(MessageRing, ItKnowsWhenItsLastProducerIsGone) {
  const size_t bytes = MessageRing::bytes_for(kCapacity);
  void* shared = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(shared, MAP_FAILED);
  MessageRing::construct(shared, kCapacity);
  MessageRing ring(shared, kCapacity);
  EXPECT_FALSE(ring.producer_gone());  // no producer yet: nobody to be gone
  ASSERT_EQ(ring.push(message(1, 50)), MessageRing::Push::Ok);
  EXPECT_FALSE(ring.producer_gone());  // this process
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    MessageRing view(shared, kCapacity);
    _exit(view.push(message(2, 50)) == MessageRing::Push::Ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(ring.producer_gone());
  // A pid that names no one process (a flipped bit) is not a death.
  auto* producer = reinterpret_cast<std::atomic<int32_t>*>(static_cast<uint8_t*>(shared) + 72);
  for (int32_t corrupt : {0, -1, INT_MIN}) {
    producer->store(corrupt);
    EXPECT_FALSE(ring.producer_gone()) << corrupt;
  }
  ASSERT_EQ(ring.push(message(3, 50)), MessageRing::Push::Ok);
  EXPECT_FALSE(ring.producer_gone());
  EXPECT_EQ(producer->load(), ::getpid());
  ::munmap(shared, bytes);
}

// A flipped bit in a position (the producers' claimed, the consumer's consumed), after laps that
// left stamps all over the ring: a position more than a lap off is seen at once, the consumer
// resyncs as the transport does, and no record of an earlier lap ever comes out again.
TEST(MessageRing, AFlippedBitInAPositionIsMendedAndNoOldRecordComesBack) {
  constexpr size_t kClaimedAt = 64, kConsumedAt = 128;  // the control block's cache lines
  for (size_t at : {kClaimedAt, kConsumedAt})
    for (unsigned bit = 0; bit < 64; ++bit) {
      RingMemory mem;
      MessageRing ring(mem.memory.get(), kCapacity);
      std::vector<uint8_t> got;
      for (uint32_t i = 0; i < 60; ++i) {  // about three laps
        ASSERT_EQ(ring.push(message(i, 150 + i)), MessageRing::Push::Ok);
        ASSERT_EQ(pop(ring, got), MessageRing::Pop::Ok);
      }
      for (uint32_t i = 100; i < 105; ++i) ASSERT_EQ(ring.push(message(i, 60)), MessageRing::Push::Ok);
      ASSERT_EQ(pop(ring, got), MessageRing::Pop::Ok);
      reinterpret_cast<std::atomic<uint64_t>*>(mem.memory.get() + at)->fetch_xor(uint64_t{1} << bit);
      if (bit >= 12) {  // a lap or more
        EXPECT_TRUE(ring.claim_impossible()) << at << " bit " << bit;
      }
      // The consumer takes what it can and resyncs a stalled ring (the transport waits first,
      // unless the claim is impossible).
      for (int i = 0; i < 20; ++i) {
        const MessageRing::Pop r = pop(ring, got);
        if (r == MessageRing::Pop::Ok) {
          EXPECT_EQ(got.size(), 60u) << at << " bit " << bit << ": an old record";
        }
        if (r == MessageRing::Pop::Empty && !ring.stalled()) break;
        if (r == MessageRing::Pop::Empty) ring.drop_stalled();
      }
      EXPECT_FALSE(ring.claim_impossible()) << at << " bit " << bit;
      const auto marker = message(7, 33);
      ASSERT_EQ(ring.push(marker), MessageRing::Push::Ok) << at << " bit " << bit;
      ASSERT_EQ(pop(ring, got), MessageRing::Pop::Ok) << at << " bit " << bit;
      EXPECT_EQ(got, marker) << at << " bit " << bit;
      EXPECT_EQ(pop(ring, got), MessageRing::Pop::Empty) << at << " bit " << bit;
    }
}

TEST(MessageRing, GarbageEverywhereNeverReadsOutsideTheRing) {
  std::mt19937_64 random(42);
  for (int round = 0; round < 200; ++round) {
    RingMemory mem;
    MessageRing ring(mem.memory.get(), kCapacity);
    for (int i = 0; i < 10; ++i) ring.push(message(i, random() % 300));
    uint8_t* data = mem.memory.get() + mem.bytes - kCapacity;
    for (int flips = 0; flips < 8; ++flips) data[random() % kCapacity] ^= uint8_t(1u << (random() % 8));
    std::vector<uint8_t> got;
    for (int i = 0; i < 40; ++i) {
      const MessageRing::Pop r = pop(ring, got);
      if (r == MessageRing::Pop::Ok) {
        EXPECT_LE(got.size(), ring.max_message());
      }
      if (r == MessageRing::Pop::Empty && ring.stalled()) ring.drop_stalled();
    }
    ASSERT_EQ(ring.push(message(9, 20)), MessageRing::Push::Ok);
    ASSERT_EQ(pop(ring, got), MessageRing::Pop::Ok);
    EXPECT_EQ(got, message(9, 20));
  }
}

}  // namespace
}  // namespace disco
