#include "shm/segment.h"

#include <sys/wait.h>
#include <unistd.h>

#include <boost/interprocess/shared_memory_object.hpp>
#include <cctype>
#include <fmt/format.h>

#include "shm/machine_memory.h"
#include "tests/shm/shm_run_fixture.h"

namespace disco {
namespace {

constexpr MachineGeometry kSmall{.nodes = 2, .mem_per_node = 64 * 1024, .line_bytes = 128};

// The pid of a process that has exited and been reaped, so kill(pid, 0) says ESRCH.
pid_t dead_pid() {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

using SegmentTest = ShmRunTest;

TEST(SegmentName, IsDiscoRunIdNode) {
  EXPECT_EQ(segment_name("123-0badcafe", 0), "disco-123-0badcafe-n0");
  EXPECT_EQ(segment_name("123-0badcafe", 17), "disco-123-0badcafe-n17");
  EXPECT_EQ(inbox_segment_name("123-0badcafe", 3), "disco-123-0badcafe-r3");
}

// A segment of `name`, empty: what the sweep and the removal look at is the name alone.
void make_segment(const std::string& name) {
  boost::interprocess::shared_memory_object(boost::interprocess::create_only, name.c_str(),
                                            boost::interprocess::read_write);
}

TEST(RunId, IsPidDashEightHexAndFresh) {
  std::string id = make_run_id();
  std::string pid = fmt::format("{}-", ::getpid());
  ASSERT_TRUE(id.starts_with(pid)) << id;
  std::string hex = id.substr(pid.size());
  ASSERT_EQ(hex.size(), 8u) << id;
  for (char c : hex) EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(c)) << id;
  EXPECT_NE(make_run_id(), make_run_id());
}

TEST_F(SegmentTest, RemoveRunSegmentsLeavesNothingAndIsIdempotent) {
  std::string run = new_run(kSmall.nodes);
  {
    MachineMemory memory(kSmall, run);
    for (NodeId n = 0; n < kSmall.nodes; ++n) memory.create(n);
  }
  for (NodeId n = 0; n < kSmall.nodes; ++n) make_segment(inbox_segment_name(run, n));
  for (NodeId n = 0; n < kSmall.nodes; ++n) ASSERT_TRUE(segment_exists(segment_name(run, n)));
  remove_run_segments(run, kSmall.nodes);
  for (NodeId n = 0; n < kSmall.nodes; ++n) {
    EXPECT_FALSE(segment_exists(segment_name(run, n)));
    EXPECT_FALSE(segment_exists(inbox_segment_name(run, n)));
  }
  remove_run_segments(run, kSmall.nodes);
  remove_run_segments("no-such-run", 64);
}

TEST_F(SegmentTest, SweepRemovesRunsOfDeadPidsOnly) {
  pid_t dead = dead_pid();
  std::string stale = run_of_pid(dead, kSmall.nodes);
  std::string live = new_run(kSmall.nodes);
  MachineMemory stale_memory(kSmall, stale);
  MachineMemory live_memory(kSmall, live);
  for (NodeId n = 0; n < kSmall.nodes; ++n) {
    stale_memory.create(n);
    live_memory.create(n);
    make_segment(inbox_segment_name(stale, n));
    make_segment(inbox_segment_name(live, n));
  }
  // Names that only look like ours: the sweep must leave them alone.
  std::vector<std::string> unrelated = {fmt::format("disco-{}-notahex!-n0", dead), fmt::format("disco-{}-n0", dead),
                                        fmt::format("disco-{}-0badcafe-x0", dead), fmt::format("disco-{}-0badcafe-r", dead)};
  for (const auto& name : unrelated) make_segment(name);

  // Not its count: any launcher starting on this host meanwhile (ctest -j, a user's run) sweeps
  // too and may take some of them first (3 of 4 here once); that they are gone is what matters.
  sweep_stale_segments();

  for (NodeId n = 0; n < kSmall.nodes; ++n) {
    EXPECT_FALSE(segment_exists(segment_name(stale, n)));
    EXPECT_FALSE(segment_exists(inbox_segment_name(stale, n)));
    EXPECT_TRUE(segment_exists(segment_name(live, n)));
    EXPECT_TRUE(segment_exists(inbox_segment_name(live, n)));
  }
  for (const auto& name : unrelated) {
    EXPECT_TRUE(segment_exists(name)) << name;
    boost::interprocess::shared_memory_object::remove(name.c_str());
  }
  // Removed segments stay usable by whoever still maps them.
  *stale_memory.host(0) = 7;
  EXPECT_EQ(*stale_memory.host(0), 7);
}

}  // namespace
}  // namespace disco
