// DropCounters: exact counts per reason under concurrency, and a log that a flood cannot drown.
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "interconnect/drop_counters.h"

namespace disco {
namespace {

// Routes spdlog's default logger into a ring buffer for the test's lifetime.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()), sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000)) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink_));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::vector<std::string> lines() { return sink_->last_formatted(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

TEST(DropCounters, CountsEachReasonSeparately) {
  DropCounters drops;
  drops.drop(DropReason::BadLine, "a");
  drops.drop(DropReason::BadLine, "b");
  drops.drop(DropReason::SendFailed, "c");
  EXPECT_EQ(drops.count(DropReason::BadLine), 2u);
  EXPECT_EQ(drops.count(DropReason::SendFailed), 1u);
  EXPECT_EQ(drops.count(DropReason::Truncated), 0u);
  EXPECT_EQ(drops.total(), 3u);
}

TEST(DropCounters, ConcurrentDropsAreAllCounted) {
  DropCounters drops;
  constexpr int kThreads = 8, kEach = 24000;  // a multiple of kDropReasons: every reason gets as many
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&drops, t] {
      for (int i = 0; i < kEach; ++i) drops.drop(static_cast<DropReason>((t + i) % kDropReasons), "flood");
    });
  for (auto& t : threads) t.join();
  static_assert(kEach % kDropReasons == 0);
  EXPECT_EQ(drops.total(), uint64_t{kThreads} * kEach);
  for (unsigned r = 0; r < kDropReasons; ++r)
    EXPECT_EQ(drops.count(static_cast<DropReason>(r)), uint64_t{kThreads} * kEach / kDropReasons);
}

TEST(DropCounters, AFloodLogsAboutOneLinePerReasonPerSecond) {
  CapturedLog log;
  DropCounters drops;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10000; ++i) {
    drops.drop(DropReason::Malformed, "garbage");
    drops.drop(DropReason::WrongPort, "GetS on port 2");
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
  const auto lines = log.lines();
  // One line per reason, plus one per reason for each second the loop happened to take.
  EXPECT_GE(lines.size(), 2u);
  EXPECT_LE(lines.size(), 2u * (1 + static_cast<size_t>(seconds.count())));
  EXPECT_NE(lines.front().find("dropped Malformed: garbage"), std::string::npos) << lines.front();
  EXPECT_EQ(drops.total(), 20000u);
}

}  // namespace
}  // namespace disco
