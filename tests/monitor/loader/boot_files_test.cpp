// check_kernel_file and check_initrd_file, the launcher's look at --kernel and --initrd before any
// node starts: every wrong kind of path is one line naming the flag and the path.
#include "monitor/loader/boot_files.h"
#include "tests/fetch_guest.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "monitor/loader/malta_loader.h"
#include "tests/monitor/loader/loader_test_support.h"

namespace disco::boot {
namespace {

std::vector<uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

std::vector<uint8_t> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// `said` is one line that names the flag and the path, then says `why`.
void expect_refused(const std::string& said, const std::string& flag, const std::string& path, const std::string& why) {
  EXPECT_EQ(said.rfind(flag + " " + path, 0), 0u) << said;
  EXPECT_NE(said.find(why), std::string::npos) << said;
  EXPECT_EQ(said.find('\n'), std::string::npos) << said;
}

TEST(CheckKernelFile, AcceptsALittleEndianMipsExecutable) {
  EXPECT_EQ(check_kernel_file(DISCO_TINY_KERNEL_EL), "");
}

TEST(CheckKernelFile, AcceptsDebiansVmlinuz) {
  ASSERT_EQ(test::fetch_guest(), "");
  EXPECT_EQ(check_kernel_file(test::kGuestKernel), "");
}

TEST(CheckKernelFile, RefusesWhatIsNotAFile) {
  expect_refused(check_kernel_file("/dev/null"), "--kernel", "/dev/null", "is not a regular file");
  const std::string dir = ::testing::TempDir();
  expect_refused(check_kernel_file(dir), "--kernel", dir, "is a directory");
  const std::string missing = dir + "no-such-kernel-" + std::to_string(::getpid());
  expect_refused(check_kernel_file(missing), "--kernel", missing, "no such file");
  const testing::TempFile empty("empty_kernel", {});
  expect_refused(check_kernel_file(empty.path()), "--kernel", empty.path(), "is empty");
}

// A FIFO is refused at once: the check never waits for a writer.
TEST(CheckKernelFile, RefusesAFifoWithoutWaiting) {
  const std::string fifo = ::testing::TempDir() + "kernel-fifo-" + std::to_string(::getpid());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string said = check_kernel_file(fifo);
  std::filesystem::remove(fifo);
  expect_refused(said, "--kernel", fifo, "is not a regular file");
}

TEST(CheckKernelFile, RefusesAnUnreadableFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  const testing::TempFile locked("locked_kernel", slurp(DISCO_TINY_KERNEL_EL));
  ASSERT_EQ(::chmod(locked.path().c_str(), 0), 0);
  expect_refused(check_kernel_file(locked.path()), "--kernel", locked.path(), "cannot be read");
}

TEST(CheckKernelFile, RefusesOtherExecutablesAndText) {
  const std::string not_mips = "is not an ELF32 little-endian MIPS executable";
  const testing::TempFile text("text_kernel", bytes_of("#!/bin/sh\necho not a kernel\n"));
  expect_refused(check_kernel_file(text.path()), "--kernel", text.path(), not_mips + ": not an ELF file");
  expect_refused(check_kernel_file(DISCO_TINY_KERNEL_EB), "--kernel", DISCO_TINY_KERNEL_EB, not_mips + ": big-endian");
  const testing::TempFile stub("stub_kernel", bytes_of(std::string("\x7f" "ELF\x01\x01\x01", 7) + std::string(13, '\0')));  // ident, no header
  expect_refused(check_kernel_file(stub.path()), "--kernel", stub.path(), not_mips + ": ELF header truncated");
  // The host's own programs: x86-64 on the machines this runs on, another ELF64 elsewhere.
  const std::string host_program = std::filesystem::canonical("/bin/true").string();
  expect_refused(check_kernel_file(host_program), "--kernel", host_program, not_mips);
}

// Sizes come from the file's metadata: a sparse file stands for a huge one without the disk.
TEST(CheckKernelFile, RefusesAKernelLargerThanTheLoaderReads) {
  const testing::TempFile huge("huge_kernel", slurp(DISCO_TINY_KERNEL_EL));
  std::filesystem::resize_file(huge.path(), kMaxKernelFileBytes + 1);
  expect_refused(check_kernel_file(huge.path()), "--kernel", huge.path(), "does not fit");
}

TEST(CheckInitrdFile, AcceptsAnyNonEmptyRegularFileThatFitsLowRam) {
  const testing::TempFile initrd("initrd", bytes_of("070701 not checked beyond its size"));
  EXPECT_EQ(check_initrd_file(initrd.path()), "");
  std::filesystem::resize_file(initrd.path(), kLowRamLimit - kInitrdHeadroom);
  EXPECT_EQ(check_initrd_file(initrd.path()), "");
  std::filesystem::resize_file(initrd.path(), kLowRamLimit - kInitrdHeadroom + 1);
  expect_refused(check_initrd_file(initrd.path()), "--initrd", initrd.path(), "does not fit");
}

TEST(CheckInitrdFile, RefusesWhatIsNotAFile) {
  expect_refused(check_initrd_file("/dev/null"), "--initrd", "/dev/null", "is not a regular file");
  const std::string dir = ::testing::TempDir();
  expect_refused(check_initrd_file(dir), "--initrd", dir, "is a directory");
  const std::string missing = dir + "no-such-initrd-" + std::to_string(::getpid());
  expect_refused(check_initrd_file(missing), "--initrd", missing, "no such file");
  const testing::TempFile empty("empty_initrd", {});
  expect_refused(check_initrd_file(empty.path()), "--initrd", empty.path(), "is empty");
}

}  // namespace
}  // namespace disco::boot
