#include "monitor/loader/xz_payload.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <vector>

#include <lzma.h>

#include "monitor/loader/boot_types.h"

namespace disco::boot {
namespace {

constexpr uint8_t kHeaderMagic[6] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
constexpr uint8_t kFooterMagic[2] = {'Y', 'Z'};
constexpr size_t kChunk = 1u << 20;

// The footer of the stream whose header is at `header`: the first CRC-valid footer with the same
// flags at a 4-byte multiple after it (xz streams are 4-byte padded), leaving room for the size.
std::optional<size_t> find_footer(std::span<const uint8_t> bytes, size_t header, const lzma_stream_flags& flags) {
  for (size_t footer = header + LZMA_STREAM_HEADER_SIZE + 8; footer + LZMA_STREAM_HEADER_SIZE + 4 <= bytes.size(); footer += 4) {
    const uint8_t* at = bytes.data() + footer;
    if (std::memcmp(at + LZMA_STREAM_HEADER_SIZE - 2, kFooterMagic, 2) != 0) continue;
    lzma_stream_flags footer_flags;
    if (lzma_stream_footer_decode(&footer_flags, at) != LZMA_OK) continue;
    if (lzma_stream_flags_compare(&flags, &footer_flags) != LZMA_OK) continue;
    // The index the footer points back to must lie inside this stream.
    if (footer_flags.backward_size > footer - header - LZMA_STREAM_HEADER_SIZE) continue;
    return footer;
  }
  return std::nullopt;
}

struct LzmaEnd {
  void operator()(lzma_stream* s) const { lzma_end(s); }
};

}  // namespace

std::optional<XzPayload> find_xz_payload(std::span<const uint8_t> bytes) {
  // A header that finds no footer rules out every later header of its 4-byte alignment and check
  // type: their candidate footers are a subset of its own (same alignment and flags, further on,
  // less room for the index). Skipping those keeps the search linear, at most one footer scan per
  // class, where a file of repeated headers would otherwise rescan the rest of the file from each.
  std::array<bool, 4 * (LZMA_CHECK_ID_MAX + 1)> hopeless{};
  const auto magic_end = std::end(kHeaderMagic);
  for (auto it = std::search(bytes.begin(), bytes.end(), std::begin(kHeaderMagic), magic_end); it != bytes.end();
       it = std::search(it + 1, bytes.end(), std::begin(kHeaderMagic), magic_end)) {
    const size_t header = size_t(it - bytes.begin());
    if (bytes.size() - header < LZMA_STREAM_HEADER_SIZE) break;
    lzma_stream_flags flags;
    if (lzma_stream_header_decode(&flags, bytes.data() + header) != LZMA_OK) continue;
    bool& hopeless_class = hopeless[header % 4 * (LZMA_CHECK_ID_MAX + 1) + flags.check];
    if (hopeless_class) continue;
    const std::optional<size_t> footer = find_footer(bytes, header, flags);
    if (!footer) {
      hopeless_class = true;
      continue;
    }
    const size_t end = *footer + LZMA_STREAM_HEADER_SIZE;
    const uint32_t size = uint32_t(bytes[end]) | uint32_t(bytes[end + 1]) << 8 | uint32_t(bytes[end + 2]) << 16 |
                          uint32_t(bytes[end + 3]) << 24;
    return XzPayload{.offset = header, .length = end - header, .unpacked_size = size};
  }
  return std::nullopt;
}

std::string unpack_xz(std::span<const uint8_t> stream, uint32_t expected_size, const UnpackSink& sink) {
  lzma_stream raw = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&raw, kXzMemoryLimit, 0) != LZMA_OK) return "liblzma could not start an xz decoder";
  std::unique_ptr<lzma_stream, LzmaEnd> strm(&raw);

  std::vector<uint8_t> chunk(kChunk);
  raw.next_in = stream.data();
  raw.avail_in = stream.size();
  uint64_t produced = 0;
  for (;;) {
    raw.next_out = chunk.data();
    raw.avail_out = chunk.size();
    const lzma_ret ret = lzma_code(&raw, LZMA_FINISH);
    const size_t got = chunk.size() - raw.avail_out;
    if (got > 0) {
      if (produced + got > expected_size)
        return strprintf("xz payload unpacks to more than the %u bytes its size trailer declares", expected_size);
      if (!sink(uint32_t(produced), std::span(chunk.data(), got)))
        return strprintf("unpacked kernel bytes at offset %#llx do not fit in guest RAM", (unsigned long long)produced);
      produced += got;
    }
    if (ret == LZMA_OK) continue;
    if (ret != LZMA_STREAM_END) {
      const char* why = ret == LZMA_MEMLIMIT_ERROR ? "needs more than the 128 MiB decoder memory limit"
                        : ret == LZMA_DATA_ERROR   ? "is corrupt"
                        : ret == LZMA_BUF_ERROR    ? "is truncated"
                        : ret == LZMA_FORMAT_ERROR ? "is not in xz format"
                                                   : "could not be decoded";
      return strprintf("xz payload %s (after %llu unpacked bytes)", why, (unsigned long long)produced);
    }
    if (produced != expected_size)
      return strprintf("xz payload unpacks to %llu bytes but its size trailer says %u", (unsigned long long)produced, expected_size);
    return "";
  }
}

}  // namespace disco::boot
