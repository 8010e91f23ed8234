#include "shm/message_ring.h"

#include <unistd.h>

#include <cstring>
#include <new>
#include <stdexcept>

#include <fmt/format.h>

#include "shm/segment.h"

namespace disco {
namespace {
constexpr uint64_t kMagic = 0x676e6972'6f637364ull;  // "dscoring", little-endian
constexpr size_t kMinCapacity = 4096;
}  // namespace

bool MessageRing::valid_capacity(size_t capacity) {
  return capacity >= kMinCapacity && (capacity & (capacity - 1)) == 0 && capacity <= (size_t{1} << 31);
}

size_t MessageRing::bytes_for(size_t capacity) { return sizeof(Control) + capacity; }

void MessageRing::construct(void* memory, size_t capacity) {
  if (!valid_capacity(capacity)) throw std::invalid_argument(fmt::format("MessageRing: capacity {} is not a power of two >= 4 KiB", capacity));
  Control* c = new (memory) Control{};
  c->magic = kMagic;
  c->capacity = capacity;
}

MessageRing::MessageRing(void* memory, size_t capacity)
    : control_(static_cast<Control*>(memory)), data_(static_cast<uint8_t*>(memory) + sizeof(Control)), capacity_(capacity),
      pid_(static_cast<int32_t>(::getpid())) {
  if (control_->magic != kMagic || control_->capacity != capacity || !valid_capacity(capacity))
    throw std::invalid_argument("MessageRing: the memory does not hold a ring of this capacity");
}

MessageRing::Push MessageRing::push(std::span<const uint8_t> bytes) {
  if (bytes.size() > max_message()) return Push::TooBig;
  const uint64_t need = record_bytes(bytes.size());
  uint64_t start = control_->claimed.load(std::memory_order_relaxed);
  uint64_t to_end = 0, total = 0;
  // Named before the claim, so that a receiver that sees the claim sees who made it (the line
  // is the claim's own: no extra cache miss).
  control_->producer.store(pid_, std::memory_order_relaxed);
  do {
    to_end = capacity_ - (start & (capacity_ - 1));
    total = need <= to_end ? need : to_end + need;
    // Acquire: the consumer zeroed what it gave back before it moved `consumed`.
    if (start + total - consumed_seen_.load(std::memory_order_acquire) > capacity_) {
      const uint64_t consumed = control_->consumed.load(std::memory_order_acquire);
      consumed_seen_.store(consumed, std::memory_order_release);
      if (start + total - consumed > capacity_) return Push::Full;
    }
  } while (!control_->claimed.compare_exchange_weak(start, start + total, std::memory_order_release, std::memory_order_relaxed));
  if (total != need) {  // the record would cross the end: fill the rest, write at the start
    Header* pad = header_at(start);
    pad->bytes = kPadding;
    pad->check = ~kPadding;
    pad->stamp.store(start + 1, std::memory_order_release);
    start += to_end;
  }
  Header* h = header_at(start);
  h->bytes = static_cast<uint32_t>(bytes.size());
  h->check = ~h->bytes;
  if (!bytes.empty()) std::memcpy(reinterpret_cast<uint8_t*>(h + 1), bytes.data(), bytes.size());
  h->stamp.store(start + 1, std::memory_order_release);
  return Push::Ok;
}

bool MessageRing::ready() const {
  const uint64_t position = control_->consumed.load(std::memory_order_relaxed);
  return header_at(position)->stamp.load(std::memory_order_acquire) == position + 1;
}

bool MessageRing::stalled() const {
  // Acquire on `claimed` pairs with the claim's release, so producer_gone() after it reads the
  // claimer's pid, or a later one's.
  return control_->claimed.load(std::memory_order_acquire) != control_->consumed.load(std::memory_order_relaxed) &&
         !ready();
}

bool MessageRing::producer_gone() const {
  return process_is_gone(control_->producer.load(std::memory_order_relaxed));
}

bool MessageRing::claim_impossible() const {
  // A producer claims only what fits behind the consumer's position as it last read it, and the
  // position only grows; the consumer reads `claimed` after the stamps it acquired, so it never
  // sees less than it consumed.
  return control_->claimed.load(std::memory_order_acquire) - control_->consumed.load(std::memory_order_relaxed) > capacity_;
}

int64_t MessageRing::take(uint64_t position, const uint8_t*& message) {
  Header* h = header_at(position);
  const uint32_t bytes = h->bytes;
  if (h->check != ~bytes) return -1;
  const uint64_t offset = position & (capacity_ - 1);
  if (bytes == kPadding) {
    message = nullptr;
    give_back(position, capacity_ - offset);
    return 0;
  }
  if (bytes > max_message() || offset + record_bytes(bytes) > capacity_) return -1;
  message = reinterpret_cast<const uint8_t*>(h + 1);
  return bytes;
}

void MessageRing::give_back(uint64_t position, uint64_t bytes) {
  // Zeroed before it is given back: a free byte is always 0, so a stamp left by an earlier lap, or
  // message bytes that look like one, can never pass for a published record.
  Header* h = header_at(position);
  h->stamp.store(0, std::memory_order_relaxed);
  std::memset(reinterpret_cast<uint8_t*>(h) + sizeof(h->stamp), 0, bytes - sizeof(h->stamp));
  control_->consumed.store(position + bytes, std::memory_order_release);
}

void MessageRing::resync(uint64_t position) {
  // Nothing from `position` on can be trusted: skip to what producers have claimed, zeroing it
  // so the ring's invariant (free bytes are 0) holds again.
  const uint64_t claimed = control_->claimed.load(std::memory_order_acquire);
  const uint64_t bytes = claimed - position;
  // Within a lap, the claimed bytes; a corrupt claim (more than a lap, or behind the consumer)
  // says nothing about where records lie, so every stamp goes. No producer writes meanwhile: to
  // each of them the ring looks full until `consumed` moves.
  const uint64_t span = bytes == 0 || bytes > capacity_ ? capacity_ : bytes;
  for (uint64_t p = position; p < position + span;) {
    const uint64_t offset = p & (capacity_ - 1);
    const uint64_t run = std::min<uint64_t>(position + span - p, capacity_ - offset);
    for (uint64_t q = p; q < p + run; q += kAlign) header_at(q)->stamp.store(0, std::memory_order_relaxed);
    p += run;
  }
  control_->consumed.store(claimed, std::memory_order_release);
}

uint64_t MessageRing::drop_stalled() {
  const uint64_t position = control_->consumed.load(std::memory_order_relaxed);
  const uint64_t claimed = control_->claimed.load(std::memory_order_acquire);
  resync(position);
  return std::min<uint64_t>(claimed - position, capacity_);  // a corrupt claim: a ring at most
}

}  // namespace disco
