#include <gtest/gtest.h>

#include <numeric>

#include "node/workloads.h"

namespace disco {
namespace {

TEST(Workloads, NamesRoundTrip) {
  for (auto k : {WorkloadKind::Private, WorkloadKind::SharedRead, WorkloadKind::Migratory,
                 WorkloadKind::FalseSharing, WorkloadKind::Counter, WorkloadKind::Random})
    EXPECT_EQ(parse_workload(name(k)), k);
  EXPECT_FALSE(parse_workload("nope"));
}

TEST(Workloads, ExpectedCountersSumToTheIncrements) {
  const MachineGeometry g{.nodes = 3, .mem_per_node = 1 << 20};
  const std::vector<uint64_t> ops{0, 1, 13, 100, 7, 12};
  const auto e = expected_counters(g, 2, ops);
  ASSERT_EQ(e.size(), 3u * kCountersPerNode);
  EXPECT_EQ(std::accumulate(e.begin(), e.end(), uint64_t{0}), std::accumulate(ops.begin(), ops.end(), uint64_t{0}));
  // pcpu 1 made one increment: counter 1.
  EXPECT_EQ(expected_counters(g, 2, {0, 1})[1], 1u);
}

}  // namespace
}  // namespace disco
