#include "shm/machine_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <stdexcept>

#include "shm/sanitized.h"
#include "shm/segment.h"
#include "tests/shm/shm_run_fixture.h"

namespace disco {
namespace {

constexpr MachineGeometry kFourNodes{.nodes = 4, .mem_per_node = 1 << 20, .line_bytes = 128};
constexpr uint64_t kM = kFourNodes.mem_per_node;

// The first and last byte of every node's slice: where an off-by-one in the map would show.
std::vector<MachineAddr> boundary_addrs(const MachineGeometry& g) {
  std::vector<MachineAddr> addrs;
  for (uint64_t n = 0; n < g.nodes; ++n) {
    addrs.push_back(n * g.mem_per_node);
    addrs.push_back((n + 1) * g.mem_per_node - 1);
  }
  return addrs;
}

uint8_t pattern(MachineAddr a) { return static_cast<uint8_t>(0x5a ^ (a >> 20) ^ a); }

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no exception)";
}

using MachineMemoryTest = ShmRunTest;

TEST_F(MachineMemoryTest, CreatedNodesAreZeroedAndAddressedByOneAdd) {
  MachineMemory memory(kFourNodes, new_run(kFourNodes.nodes));
  for (NodeId n = 0; n < kFourNodes.nodes; ++n) {
    EXPECT_FALSE(memory.mapped(n));
    memory.create(n);
    EXPECT_TRUE(memory.mapped(n));
  }
  for (MachineAddr a : boundary_addrs(kFourNodes)) {
    EXPECT_EQ(memory.host(a), memory.base() + a);
    EXPECT_EQ(*memory.host(a), 0) << a;
    *memory.host(a) = pattern(a);
  }
  for (MachineAddr a : boundary_addrs(kFourNodes)) EXPECT_EQ(*memory.host(a), pattern(a)) << a;
}

// A segment is a guest's whole memory: no other local user may read it, whatever the umask.
TEST_F(MachineMemoryTest, SegmentsAreOwnerOnly) {
  const std::string run = new_run(1);
  MachineMemory memory(kFourNodes, run);
  const mode_t umask_before = ::umask(0);
  memory.create(0);
  ::umask(umask_before);
  struct stat st;
  ASSERT_EQ(::stat(("/dev/shm/" + segment_name(run, 0)).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, ::getuid());
}

TEST_F(MachineMemoryTest, AnotherMapOfTheRunSeesTheSameBytes) {
  std::string run = new_run(kFourNodes.nodes);
  MachineMemory creator(kFourNodes, run);
  for (NodeId n = 0; n < kFourNodes.nodes; ++n) creator.create(n);
  for (MachineAddr a : boundary_addrs(kFourNodes)) *creator.host(a) = pattern(a);

  MachineMemory reader(kFourNodes, run);
  reader.open(2);
  reader.open_all();
  ASSERT_NE(reader.base(), creator.base());
  for (MachineAddr a : boundary_addrs(kFourNodes)) EXPECT_EQ(*reader.host(a), pattern(a)) << a;
  *reader.host(3 * kM + 5) = 0xee;
  EXPECT_EQ(*creator.host(3 * kM + 5), 0xee);
}

TEST_F(MachineMemoryTest, AnotherProcessOpensAndWrites) {
  std::string run = new_run(kFourNodes.nodes);
  MachineMemory memory(kFourNodes, run);
  for (NodeId n = 0; n < kFourNodes.nodes; ++n) memory.create(n);
  *memory.host(kM - 1) = 0x11;

  pid_t child = ::fork();
  if (child == 0) {
    // Its own map, not the one inherited through fork. No gtest assertions here: report by exit code.
    try {
      MachineMemory other(kFourNodes, run);
      other.open_all();
      if (*other.host(kM - 1) != 0x11) ::_exit(2);
      *other.host(kM) = 0x22;
      *other.host(4 * kM - 1) = 0x33;
      ::_exit(0);
    } catch (...) {
      ::_exit(3);
    }
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(*memory.host(kM), 0x22);
  EXPECT_EQ(*memory.host(4 * kM - 1), 0x33);
}

TEST_F(MachineMemoryTest, CreatingAnExistingSegmentThrows) {
  std::string run = new_run(kFourNodes.nodes);
  MachineMemory first(kFourNodes, run);
  first.create(1);
  EXPECT_THROW(first.create(1), std::runtime_error);
  MachineMemory second(kFourNodes, run);
  std::string message = message_of([&] { second.create(1); });
  EXPECT_NE(message.find(segment_name(run, 1)), std::string::npos) << message;
  EXPECT_FALSE(second.mapped(1));
  *first.host(kM) = 1;  // the failed create did not remove the first node's segment
  EXPECT_TRUE(segment_exists(segment_name(run, 1)));
}

TEST_F(MachineMemoryTest, OpeningAMissingSegmentNamesIt) {
  std::string run = new_run(kFourNodes.nodes);
  MachineMemory memory(kFourNodes, run);
  memory.create(0);
  std::string message = message_of([&] { memory.open_all(); });
  EXPECT_NE(message.find(segment_name(run, 1)), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_FALSE(memory.mapped(1));
}

TEST_F(MachineMemoryTest, OpeningASegmentOfAnotherSizeThrows) {
  std::string run = new_run(kFourNodes.nodes);
  MachineMemory memory(kFourNodes, run);
  memory.create(0);
  MachineGeometry bigger = kFourNodes;
  bigger.mem_per_node *= 2;
  MachineMemory mismatched(bigger, run);
  std::string message = message_of([&] { mismatched.open(0); });
  EXPECT_NE(message.find(segment_name(run, 0)), std::string::npos) << message;
  EXPECT_FALSE(mismatched.mapped(0));
}

TEST_F(MachineMemoryTest, NodeOutsideTheMachineThrows) {
  MachineMemory memory(kFourNodes, new_run(kFourNodes.nodes));
  EXPECT_THROW(memory.create(4), std::runtime_error);
  EXPECT_THROW(memory.open(4), std::runtime_error);
}

TEST_F(MachineMemoryTest, UnusableGeometryThrows) {
  MachineGeometry none{.nodes = 0, .mem_per_node = kM, .line_bytes = 128};
  EXPECT_THROW(MachineMemory(none, new_run(1)), std::runtime_error);
}

TEST_F(MachineMemoryTest, DestructionUnmapsButKeepsSegments) {
  std::string run = new_run(kFourNodes.nodes);
  {
    MachineMemory memory(kFourNodes, run);
    memory.create(0);
    memory.create(3);
    *memory.host(3 * kM + 9) = 0x99;
  }
  EXPECT_TRUE(segment_exists(segment_name(run, 0)));
  EXPECT_TRUE(segment_exists(segment_name(run, 3)));
  MachineMemory again(kFourNodes, run);
  again.open(3);
  EXPECT_EQ(*again.host(3 * kM + 9), 0x99);
}

// A stray access is the host's plain SIGSEGV: it prints nothing of ours (not the SIGBUS
// handler's line, which is for pages that could not be allocated), only a sanitizer's report
// where one is built in.
constexpr const char* kStrayAccessMessage = kSanitized ? "SEGV on unknown address" : "^$";

// The default "fast" death test forks at EXPECT_DEATH; a re-executing style would rerun the
// fixture in the child and leak the child's run.
TEST_F(MachineMemoryTest, UnmappedSliceFaults) {
  MachineMemory memory(kFourNodes, new_run(kFourNodes.nodes));
  memory.create(0);
  EXPECT_DEATH(*static_cast<volatile uint8_t*>(memory.host(kM)) = 1, kStrayAccessMessage);
}

// A segment is not allocated ahead, but its filesystem must have room for it.
TEST_F(MachineMemoryTest, ASegmentLargerThanTheFreeSharedMemoryIsRefused) {
  struct statvfs fs;
  ASSERT_EQ(::statvfs("/dev/shm", &fs), 0);
  const uint64_t free_bytes = uint64_t{fs.f_bavail} * fs.f_frsize;
  MachineGeometry huge{.nodes = 1, .mem_per_node = uint64_t{1} << 40, .line_bytes = 128};
  if (free_bytes >= huge.mem_per_node) GTEST_SKIP() << "/dev/shm has a TiB free";
  const std::string run = new_run(1);
  std::optional<MachineMemory> memory;
  std::string message = message_of([&] {
    memory.emplace(huge, run);
    memory->create(0);
  });
  // The room check says "cannot allocate"; under TSan, whose address space has no TiB to spare,
  // reserving the address space (at construction) or mapping the segment fails first ("Cannot
  // allocate memory").
  std::transform(message.begin(), message.end(), message.begin(), [](unsigned char c) { return std::tolower(c); });
  EXPECT_NE(message.find("cannot allocate"), std::string::npos) << message;
  EXPECT_FALSE(memory && memory->mapped(0));
  EXPECT_FALSE(segment_exists(segment_name(run, 0)));
}

// The launcher's question before it starts any node: one line when the machine cannot fit.
TEST(CheckShmRoom, SaysWhenTheMachineDoesNotFit) {
  struct statvfs fs;
  ASSERT_EQ(::statvfs("/dev/shm", &fs), 0);
  const uint64_t free_bytes = uint64_t{fs.f_bavail} * fs.f_frsize;
  EXPECT_EQ(check_shm_room(0), "");
  EXPECT_EQ(check_shm_room(free_bytes / 2), "");
  const std::string message = check_shm_room(free_bytes + (uint64_t{1} << 30));
  EXPECT_NE(message.find("/dev/shm has only"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

// A page whose first touch finds no memory behind it (here: the segment cut short under the
// mapping, as a full filesystem would leave it) ends the process with one line, not a crash.
TEST_F(MachineMemoryTest, AFirstTouchWithNoMemoryBehindItIsOneLineAndExit) {
  const std::string run = new_run(kFourNodes.nodes);
  MachineMemory memory(kFourNodes, run);
  memory.create(1);
  EXPECT_EXIT(
      {
        const int fd = ::shm_open(("/" + segment_name(run, 1)).c_str(), O_RDWR, 0);
        if (fd < 0 || ::ftruncate(fd, 0) != 0) std::abort();
        *static_cast<volatile uint8_t*>(memory.host(kM + 5)) = 1;
      },
      ::testing::ExitedWithCode(1), "machine memory could not be allocated");
}

}  // namespace
}  // namespace disco
