// MessageRing: a ring of variable-length messages laid out in shared memory, many producers
// (the threads of one sending process), one consumer. It is the queue of the shared-memory
// transport (interconnect/shm_transport.h): one ring per (sending node, receiving port), so a
// producer killed mid-message can only ever stop its own ring, never another node's messages.
//
// Why our own: Boost.Lockfree's queues hold fixed-size elements and keep a pointer-based free
// list (spsc_queue is one producer only); our messages vary from ~100 bytes to ~4.5 KiB and the
// ring must work from two address spaces, so it is a byte ring with positions, not pointers.
//
// Layout: a control block (the producers' claimed position, the consumer's position, each on its
// own cache line) followed by `capacity` bytes. A message is a 16-byte record header (stamp,
// length, kind) and its bytes, rounded up to 16. A producer claims space with one CAS on the
// claimed position, copies, then publishes by storing the record's stamp (its position + 1) with
// release; the consumer takes the record at its position once the stamp says so, zeroes it, and
// gives the space back. A record never wraps: a producer that would cross the end first fills the
// rest with a padding record. No lock, allocation or system call on either side.
//
// Call sequence: bytes_for(capacity) sizes the memory; one side (the consumer) construct()s it in
// place once, then every process attaches a MessageRing view to the same memory.
// push() from any thread of the producing process; pop() from one consumer thread at a time.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

namespace disco {

class MessageRing {
 public:
  static constexpr size_t kRecordHeaderBytes = 16;
  static constexpr size_t kAlign = 16;

  // The memory a ring of `capacity` bytes takes (capacity: a power of two >= 4 KiB).
  static size_t bytes_for(size_t capacity);
  static bool valid_capacity(size_t capacity);
  // Initialises an empty ring in `memory`: bytes_for(capacity) bytes, 64-byte aligned and already
  // zero (a fresh segment is), so that a ring nobody uses costs no host pages.
  static void construct(void* memory, size_t capacity);

  // A view of a ring constructed in `memory` (by this or another process), for this process (a
  // child forked later makes its own).
  MessageRing(void* memory, size_t capacity);
  MessageRing(MessageRing&& other) noexcept
      : control_(other.control_), data_(other.data_), capacity_(other.capacity_), pid_(other.pid_),
        consumed_seen_(other.consumed_seen_.load(std::memory_order_relaxed)) {}

  // The largest message push() takes: half the ring, less a header, so a padded message fits.
  static constexpr size_t max_message_for(size_t capacity) { return capacity / 2 - kRecordHeaderBytes; }
  size_t max_message() const { return max_message_for(capacity_); }

  enum class Push { Ok, Full, TooBig };
  Push push(std::span<const uint8_t> bytes);
  // Full: not enough free space now (the consumer is behind): back-pressure, try again.

  enum class Pop { Ok, Empty, Corrupt };
  // Hands the next message to `consume(std::span<const uint8_t>)` (at most max_message() bytes,
  // valid during the call) and returns Ok; Empty when nothing is published at the consumer's
  // position. Corrupt when the record there
  // cannot be one a producer wrote (a length out of range, say: a flipped bit): the consumer then
  // drops everything claimed so far and carries on from there, and the caller counts the drop.
  template <typename Consume>
  Pop pop(Consume&& consume);

  // True when a message is published at the consumer's position (the consumer's thread only).
  bool ready() const;
  // True when space is claimed but nothing is published at the consumer's position: a producer is
  // writing, or one died mid-write, or a bit flipped in a stamp. The transport resyncs a ring
  // whose producer is gone at once, and one that stays stalled for long (drop_stalled), so no one
  // record can stop it for good.
  bool stalled() const;
  // True when the process that last claimed space in the ring no longer exists: a stalled ring
  // then waits on a record no one will publish. Call it after stalled(), whose acquire makes the
  // pid the claimer's. (A ring written by two processes -- a node and a tool injecting frames as
  // that node -- names only the later claimer.)
  bool producer_gone() const;
  // True when the positions say what no producer can have done: more claimed than the ring
  // holds past the consumer, or less claimed than consumed (a flipped bit in a control block).
  // Producers see such a ring as full, so the transport resyncs it at once, not after a stall.
  bool claim_impossible() const;
  // Drops everything claimed so far (counted by the caller); returns the bytes dropped.
  uint64_t drop_stalled();
  size_t capacity() const { return capacity_; }

 private:
  struct alignas(64) Control {
    uint64_t magic;
    uint64_t capacity;
    alignas(64) std::atomic<uint64_t> claimed;   // producers: bytes handed out so far
    std::atomic<int32_t> producer;               // the pid of the last claimer, stored before its claim
    alignas(64) std::atomic<uint64_t> consumed;  // the consumer: bytes given back so far
  };
  struct Header {
    std::atomic<uint64_t> stamp;  // position + 1 once published; 0 while free
    uint32_t bytes;               // the message's length (kPadding: the rest of the ring is filler)
    uint32_t check;               // ~bytes: a flipped bit in the length is caught, not followed
  };
  static_assert(sizeof(Header) == kRecordHeaderBytes);
  static constexpr uint32_t kPadding = 0xffffffffu;

  Header* header_at(uint64_t position) const {
    return reinterpret_cast<Header*>(data_ + (position & (capacity_ - 1)));
  }
  static uint64_t record_bytes(size_t message) { return (kRecordHeaderBytes + message + kAlign - 1) & ~(kAlign - 1); }
  // Checks the published record at `position`: its message length (message set to its bytes),
  // 0 with message null for a padding record (already given back), or -1 when it is corrupt.
  int64_t take(uint64_t position, const uint8_t*& message);
  void give_back(uint64_t position, uint64_t bytes);
  void resync(uint64_t position);

  Control* control_;
  uint8_t* data_;
  size_t capacity_;
  int32_t pid_;  // this view's process: its producers name it in `producer`
  // The consumer's position as this process's producers last read it: space below it is free
  // for sure, so a push reads the consumer's cache line only when the ring looks full. Release/
  // acquire here pass on the consumer's release (its zeroing happens before our writes).
  std::atomic<uint64_t> consumed_seen_{0};
};

template <typename Consume>
MessageRing::Pop MessageRing::pop(Consume&& consume) {
  for (;;) {
    const uint64_t position = control_->consumed.load(std::memory_order_relaxed);
    if (header_at(position)->stamp.load(std::memory_order_acquire) != position + 1) return Pop::Empty;
    const uint8_t* message = nullptr;
    const int64_t bytes = take(position, message);
    if (bytes < 0) {
      resync(position);
      return Pop::Corrupt;
    }
    if (message == nullptr) continue;  // a padding record: the message is at the start
    consume(std::span<const uint8_t>(message, static_cast<size_t>(bytes)));
    give_back(position, record_bytes(static_cast<size_t>(bytes)));
    return Pop::Ok;
  }
}

}  // namespace disco
