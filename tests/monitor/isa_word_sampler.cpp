// Writes the words of decoder_binutils_test's random cross-check, little-endian, to argv[1]: for
// every line of the table, words of its pattern and each of their 32 one-bit neighbours (which
// probe the must-be-zero fields), then uniformly random words. A fixed seed: the build output is
// the same every time, so a failure names a word that stays put.
#include <cstdio>
#include <random>
#include <vector>

#include "monitor/cpu/decoder.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT.bin\n", argv[0]);
    return 2;
  }
  std::mt19937 rng(20240601);
  std::vector<uint32_t> words;
  for (const disco::mips::IsaLine& line : disco::mips::kIsa) {
    for (int sample = 0; sample < 4; ++sample) {
      const uint32_t word = line.value | (uint32_t(rng()) & ~line.mask);
      words.push_back(word);
      for (int bit = 0; bit < 32; ++bit) words.push_back(word ^ (1u << bit));
    }
  }
  for (int i = 0; i < 100000; ++i) words.push_back(uint32_t(rng()));

  std::FILE* out = std::fopen(argv[1], "wb");
  if (out == nullptr) {
    std::perror(argv[1]);
    return 1;
  }
  for (const uint32_t word : words) {
    const unsigned char bytes[4] = {uint8_t(word), uint8_t(word >> 8), uint8_t(word >> 16), uint8_t(word >> 24)};
    std::fwrite(bytes, 1, 4, out);
  }
  return std::fclose(out) == 0 ? 0 : 1;
}
