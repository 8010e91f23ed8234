// The xz payload of a self-extracting MIPS vmlinuz (arch/mips/boot/compressed): the kernel's
// build packs the raw kernel with `xzkern_with_size`, i.e. one xz stream followed by the
// unpacked size as 4 little-endian bytes, and links it into the decompressor's .data between
// __image_begin and __image_end. Call find_xz_payload on the PT_LOAD bytes, then unpack_xz.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

namespace disco::boot {

struct XzPayload {
  size_t offset = 0;           // of the stream in the searched bytes
  size_t length = 0;           // of the stream, header to footer
  uint32_t unpacked_size = 0;  // the 4-byte trailer after the stream
};

// Finds the first xz stream in `bytes` whose header and footer both pass their CRC32 and agree,
// followed by the 4-byte size. Cheap: nothing is decoded (the magic also occurs unframed, e.g.
// in the decompressor's own string table, which the header CRC rejects), and the work is linear
// in the size of `bytes` whatever they hold (a kernel file is untrusted input).
std::optional<XzPayload> find_xz_payload(std::span<const uint8_t> bytes);

// Receives the unpacked bytes in order, `offset` counted from the image start; false stops the
// unpacking (the destination refused the bytes).
using UnpackSink = std::function<bool(uint32_t offset, std::span<const uint8_t> bytes)>;

inline constexpr uint64_t kXzMemoryLimit = 128u << 20;  // kernels use a 32 MiB dictionary

// Decodes `stream` with liblzma (integrity check verified) into `sink`; it must produce exactly
// `expected_size` bytes. Returns "" on success, else one line saying what went wrong.
std::string unpack_xz(std::span<const uint8_t> stream, uint32_t expected_size, const UnpackSink& sink);

}  // namespace disco::boot
