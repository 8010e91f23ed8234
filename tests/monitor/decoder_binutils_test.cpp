// The decoder against GNU binutils, from files tests/monitor/CMakeLists.txt makes at build time:
// - all_instructions.S, assembled by mipsel-linux-gnu-as -mips32r2, decodes line by line to the
//   Op its mnemonic names, and every Op has a line;
// - objdump names the same Op for each of those words;
// - on isa_word_sampler's words (every pattern, its one-bit neighbours, random words) we and
//   objdump agree: what we decode, objdump names the same; what we call Reserved, objdump does
//   not name as one of our Ops (it may name an ASE or another ISA's instruction).
//
// Normalisation from a binutils mnemonic to an Op name: upper case, '.' -> '_' (add.s -> ADD_S),
// except
//   c.<cond>.<fmt>                  -> C_COND_<FMT>, with <cond> checked against funct bits 3..0
//   nop, ssnop, ehb                 -> SLL      (sll $0, $0, 0/1/3)
//   b / bal                         -> BEQ / BGEZAL  (beq $0, $0 / bgezal $0)
//   jr.hb / jalr.hb                 -> JR / JALR  (hint bit 10)
//   ror / rorv (objdump's names)    -> ROTR / ROTRV
//   neg / negu (objdump's names)    -> SUB / SUBU  (sub/subu rd, $0, rt)
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "monitor/cpu/decoder.h"

namespace disco::mips {
namespace {

// The 16 conditions of C.cond.fmt, in the order of their 4-bit encoding (MD00086, C.cond.fmt).
constexpr std::string_view kConditions[16] = {"f",  "un",   "eq",  "ueq", "olt", "ult", "ole", "ule",
                                              "sf", "ngle", "seq", "ngl", "lt",  "nge", "le",  "ngt"};

constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
    {"nop", "SLL"},  {"ssnop", "SLL"}, {"ehb", "SLL"},     {"b", "BEQ"},    {"bal", "BGEZAL"},
    {"jr.hb", "JR"}, {"jalr.hb", "JALR"}, {"ror", "ROTR"}, {"rorv", "ROTRV"}, {"neg", "SUB"},
    {"negu", "SUBU"},
};

// The expected Op name of a mnemonic, and the condition number for c.cond.fmt (-1 otherwise).
struct Expected {
  std::string op;
  int condition = -1;
};

Expected normalise(std::string_view mnemonic) {
  for (const auto& [alias, op] : kAliases) {
    if (mnemonic == alias) return {.op = std::string(op)};
  }
  std::string upper;
  for (char c : mnemonic) upper += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (mnemonic.starts_with("c.") && std::count(mnemonic.begin(), mnemonic.end(), '.') == 2) {
    const std::string_view cond = mnemonic.substr(2, mnemonic.rfind('.') - 2);
    const auto found = std::find(std::begin(kConditions), std::end(kConditions), cond);
    return {.op = "C_COND_" + upper.substr(upper.rfind('_') + 1),
            .condition = found == std::end(kConditions) ? 99 : int(found - std::begin(kConditions))};
  }
  return {.op = upper};
}

struct SourceLine {
  int number;        // 1-based, in all_instructions.S
  std::string text;  // the instruction, comment stripped
  std::string mnemonic;
};

// Instruction lines of the .S: not empty, not a directive, not a label.
std::vector<SourceLine> read_source() {
  std::ifstream in(DISCO_ISA_SOURCE);
  std::vector<SourceLine> lines;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    line = line.substr(0, line.find('#'));
    const auto begin = line.find_first_not_of(" \t");
    if (begin == std::string::npos) continue;
    line = line.substr(begin, line.find_last_not_of(" \t") + 1 - begin);
    if (line[0] == '.' || line.back() == ':') continue;
    lines.push_back({.number = number, .text = line, .mnemonic = line.substr(0, line.find_first_of(" \t"))});
  }
  return lines;
}

std::vector<uint32_t> read_words(const char* path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<uint32_t> words(bytes.size() / 4);
  for (std::size_t i = 0; i < words.size(); ++i) {  // little-endian, whatever the host
    for (int b = 3; b >= 0; --b) words[i] = words[i] << 8 | static_cast<uint8_t>(bytes[4 * i + b]);
  }
  return words;
}

TEST(DecoderBinutils, EverySourceLineDecodesToItsMnemonic) {
  const std::vector<SourceLine> source = read_source();
  const std::vector<uint32_t> words = read_words(DISCO_ISA_BIN);
  ASSERT_FALSE(source.empty()) << DISCO_ISA_SOURCE;
  ASSERT_GE(words.size(), source.size()) << "a line assembled to no instruction?";
  for (std::size_t i = source.size(); i < words.size(); ++i) {
    EXPECT_EQ(words[i], 0u) << "word " << i << ": more words than lines (a macro?) or not section padding";
  }

  std::set<Op> covered;
  for (std::size_t i = 0; i < source.size(); ++i) {
    const SourceLine& line = source[i];
    const Expected expected = normalise(line.mnemonic);
    const Decoded d = decode(words[i]);
    char word[16];
    std::snprintf(word, sizeof word, "0x%08x", words[i]);
    EXPECT_EQ(name(d.op), expected.op) << "all_instructions.S:" << line.number << ": " << line.text << " = " << word;
    if (expected.condition >= 0) {
      EXPECT_EQ(d.funct & 15, expected.condition) << line.text;
    }
    covered.insert(d.op);
  }
  for (const IsaLine& line : kIsa) {
    EXPECT_TRUE(covered.contains(line.op)) << name(line.op) << " has no line in all_instructions.S";
  }
}

// One line of objdump -D output: "   8:\t1085fffd \tbeq\ta0,a1,0x0".
struct Disassembled {
  std::size_t index;  // word index in the .bin
  uint32_t word;
  std::string mnemonic;  // objdump's; "0x..." or ".word" when it knows no instruction
  std::string operands;
};

std::vector<Disassembled> read_disassembly(const char* path) {
  std::ifstream in(path);
  std::vector<Disassembled> lines;
  std::string line;
  while (std::getline(in, line)) {
    unsigned address = 0, word = 0;
    char mnemonic[32], operands[128] = "";
    if (std::sscanf(line.c_str(), " %x: %8x %31s %127s", &address, &word, mnemonic, operands) < 3) continue;
    if (address % 4 != 0) continue;
    lines.push_back({.index = address / 4, .word = word, .mnemonic = mnemonic, .operands = operands});
  }
  return lines;
}

TEST(DecoderBinutils, ObjdumpNamesTheSameOps) {
  const std::vector<uint32_t> words = read_words(DISCO_ISA_BIN);
  const std::size_t instructions = read_source().size();
  std::size_t checked = 0;
  for (const Disassembled& line : read_disassembly(DISCO_ISA_DIS)) {
    if (line.index >= instructions) continue;  // section padding
    EXPECT_EQ(line.word, words[line.index]) << "word " << line.index;
    const Expected expected = normalise(line.mnemonic);
    const Decoded d = decode(line.word);
    EXPECT_EQ(name(d.op), expected.op) << line.mnemonic << " " << line.operands;
    if (expected.condition >= 0) {
      EXPECT_EQ(d.funct & 15, expected.condition) << line.mnemonic << " " << line.operands;
    }
    ++checked;
  }
  EXPECT_EQ(checked, instructions) << DISCO_ISA_DIS;
}

TEST(DecoderBinutils, SampledWordsAgreeWithObjdump) {
  const std::vector<uint32_t> words = read_words(DISCO_SAMPLE_BIN);
  std::set<std::string_view> op_names;
  for (const IsaLine& line : kIsa) op_names.insert(name(line.op));
  std::vector<bool> seen(words.size());
  std::size_t ours = 0, theirs_only = 0;
  for (const Disassembled& line : read_disassembly(DISCO_SAMPLE_DIS)) {
    ASSERT_LT(line.index, words.size());
    ASSERT_EQ(line.word, words[line.index]);
    seen[line.index] = true;
    const Expected expected = normalise(line.mnemonic);
    const Decoded d = decode(line.word);
    char word[16];
    std::snprintf(word, sizeof word, "0x%08x", line.word);
    if (d.op != Op::Reserved) {
      ++ours;
      EXPECT_EQ(name(d.op), expected.op) << word << ": objdump says " << line.mnemonic << " " << line.operands;
      if (expected.condition >= 0) {
        EXPECT_EQ(d.funct & 15, expected.condition) << word;
      }
    } else if (op_names.contains(expected.op)) {
      // The DSP ASE reuses MULT, MADD, MFHI... with an accumulator number in a field that is
      // zero in the base ISA; objdump prints it as $ac1..$ac3. We have no DSP ASE.
      EXPECT_NE(line.operands.find("$ac"), std::string::npos)
          << word << ": Reserved for us, objdump says " << line.mnemonic << " " << line.operands;
      ++theirs_only;
    }
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), false), 0) << "words objdump did not print";
  EXPECT_GT(ours, kIsa.size() * 4);
  RecordProperty("decoded", static_cast<int>(ours));
  RecordProperty("dsp_accumulator_forms", static_cast<int>(theirs_only));
}

}  // namespace
}  // namespace disco::mips
