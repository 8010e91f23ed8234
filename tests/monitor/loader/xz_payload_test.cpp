#include "monitor/loader/xz_payload.h"

#include <gtest/gtest.h>
#include <lzma.h>

#include "tests/monitor/loader/loader_test_support.h"

namespace disco::boot {
namespace {

std::vector<uint8_t> sample_raw() {
  std::vector<uint8_t> raw(300000);
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = uint8_t(i % 251 ^ i >> 11);
  return raw;
}

// Collects unpacked bytes, checking they arrive in order.
std::string unpack_to(std::span<const uint8_t> stream, uint32_t size, std::vector<uint8_t>& out) {
  return unpack_xz(stream, size, [&](uint32_t offset, std::span<const uint8_t> bytes) {
    EXPECT_EQ(offset, out.size());
    out.insert(out.end(), bytes.begin(), bytes.end());
    return true;
  });
}

TEST(XzPayload, FindsTheFramedStreamPastABareMagic) {
  const testing::SyntheticVmlinuz v = testing::make_vmlinuz();
  const std::optional<XzPayload> p = find_xz_payload(v.file);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->offset, v.payload_offset);
  EXPECT_EQ(p->unpacked_size, v.raw.size());
  std::vector<uint8_t> out;
  EXPECT_EQ(unpack_to(std::span(v.file).subspan(p->offset, p->length), p->unpacked_size, out), "");
  EXPECT_EQ(out, v.raw);
}

TEST(XzPayload, AbsentInBytesWithoutAStream) {
  EXPECT_FALSE(find_xz_payload(std::vector<uint8_t>(100000, 0)));
  const uint8_t bare[] = {0xfd, '7', 'z', 'X', 'Z', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_FALSE(find_xz_payload(bare));
}

// Megabytes of CRC-valid stream headers with no footer anywhere: each header's footer search
// would run to the end of the buffer, tens of seconds in all if every header searched anew.
TEST(XzPayload, RepeatedHeadersWithoutAFooterAreNoPayload) {
  const lzma_stream_flags flags{.version = 0, .check = LZMA_CHECK_CRC32};
  uint8_t header[LZMA_STREAM_HEADER_SIZE];
  ASSERT_EQ(lzma_stream_header_encode(&flags, header), LZMA_OK);
  std::vector<uint8_t> hostile;
  for (size_t i = 0; i < (4u << 20) / sizeof header; ++i) hostile.insert(hostile.end(), std::begin(header), std::end(header));
  EXPECT_FALSE(find_xz_payload(hostile));
}

TEST(XzPayload, NeedsTheSizeTrailer) {
  const std::vector<uint8_t> xz = testing::xz_compress(sample_raw());
  EXPECT_FALSE(find_xz_payload(xz));  // a bare stream: no room for the 4-byte size
}

TEST(XzPayload, CorruptDataIsAnError) {
  const std::vector<uint8_t> raw = sample_raw();
  std::vector<uint8_t> xz = testing::xz_compress(raw);
  xz[xz.size() / 2] ^= 0x40;
  std::vector<uint8_t> out;
  const std::string error = unpack_to(xz, uint32_t(raw.size()), out);
  EXPECT_NE(error.find("xz payload"), std::string::npos) << error;
}

TEST(XzPayload, TruncatedStreamIsAnError) {
  const std::vector<uint8_t> raw = sample_raw();
  const std::vector<uint8_t> xz = testing::xz_compress(raw);
  std::vector<uint8_t> out;
  EXPECT_NE(unpack_to(std::span(xz).first(xz.size() - 20), uint32_t(raw.size()), out), "");
}

TEST(XzPayload, SizeMismatchIsAnError) {
  const std::vector<uint8_t> raw = sample_raw();
  const std::vector<uint8_t> xz = testing::xz_compress(raw);
  std::vector<uint8_t> out;
  EXPECT_NE(unpack_to(xz, uint32_t(raw.size() + 1), out).find("trailer says"), std::string::npos);
  out.clear();
  EXPECT_NE(unpack_to(xz, 1000, out).find("more than"), std::string::npos);
  EXPECT_LE(out.size(), 1000u);
}

TEST(XzPayload, RefusingSinkStops) {
  const std::vector<uint8_t> raw = sample_raw();
  const std::vector<uint8_t> xz = testing::xz_compress(raw);
  const std::string error = unpack_xz(xz, uint32_t(raw.size()), [](uint32_t, std::span<const uint8_t>) { return false; });
  EXPECT_NE(error.find("do not fit"), std::string::npos) << error;
}

}  // namespace
}  // namespace disco::boot
