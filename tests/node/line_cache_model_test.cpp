#include <gtest/gtest.h>

#include "node/line_cache_model.h"

namespace disco {
namespace {

TEST(LineCacheModel, FillsEmptyWaysThenEvictsLeastRecentlyUsed) {
  CacheConfig c{.size_bytes = 128 * 2 * 4, .ways = 2};  // 4 sets of 2 ways
  LineCacheModel m(c, 128);
  auto fill = [&](LineAddr l) {
    LineCacheModel::Way* w = m.choose(l, [](const auto&) { return true; });
    w->line = l;
    w->state = LineState::S;
    m.touch(w);
    return w;
  };
  fill(0);
  fill(4);  // same set (4 sets)
  m.touch(m.find(0));
  LineCacheModel::Way* victim = m.choose(8, [](const auto&) { return true; });
  ASSERT_NE(victim, nullptr);
  EXPECT_EQ(victim->line, 4u);  // 0 was used more recently
  EXPECT_EQ(m.choose(8, [](const auto&) { return false; }), nullptr);
  EXPECT_EQ(m.find(1), nullptr);
}

TEST(CacheConfig, RejectsImpossibleShapes) {
  EXPECT_EQ(CacheConfig{}.check(128, 4), "");
  EXPECT_NE(CacheConfig{.ways = 2}.check(128, 4), "");
  EXPECT_NE(CacheConfig{.size_bytes = 1000}.check(128, 1), "");
  EXPECT_NE(CacheConfig{.filter_entries = 1000}.check(128, 1), "");
}

}  // namespace
}  // namespace disco
