#include "bench/paybench/latency_timeline.h"

#include <gtest/gtest.h>

namespace payd::bench {
namespace {

TEST(LatencyTimeline, CountsEachRequestInTheStretchItWasDueIn) {
  LatencyTimeline timeline;
  timeline.record(0, 500);
  timeline.record(99'999, 1'000);       // not over 1 ms: thresholds are exclusive
  timeline.record(100'000, 10'001);     // the next stretch
  timeline.record(250'000, 150'000);    // the third, over every threshold
  timeline.record(-5'000, 2'000);       // due before the start: the first stretch
  const auto& stretches = timeline.stretches();
  ASSERT_EQ(stretches.size(), 3u);
  EXPECT_EQ(stretches[0].requests, 3);
  EXPECT_EQ(stretches[0].max_us, 2'000);
  EXPECT_EQ(stretches[0].over, (std::array<std::int64_t, 3>{1, 0, 0}));
  EXPECT_EQ(stretches[1].requests, 1);
  EXPECT_EQ(stretches[1].over, (std::array<std::int64_t, 3>{1, 1, 0}));
  EXPECT_EQ(stretches[2].max_us, 150'000);
  EXPECT_EQ(stretches[2].over, (std::array<std::int64_t, 3>{1, 1, 1}));
}

TEST(LatencyTimeline, StretchesWithoutRequestsAreKeptEmpty) {
  LatencyTimeline timeline;
  timeline.record(450'000, 3'000);
  ASSERT_EQ(timeline.stretches().size(), 5u);
  EXPECT_EQ(timeline.stretches()[2].requests, 0);
  EXPECT_EQ(timeline.stretches()[4].requests, 1);
}

TEST(LatencyTimeline, TheWorstStretchHasTheMostRequestsOver10Ms) {
  LatencyTimeline timeline;
  for (int i = 0; i < 3; ++i) timeline.record(10'000, 12'000);   // stretch 0: 3 over 10 ms
  timeline.record(120'000, 90'000);                               // stretch 1: 1, the longest
  for (int i = 0; i < 3; ++i) timeline.record(530'000, 11'000);  // stretch 5: 3, ties with 0
  timeline.record(530'000, 20'000);                               // ... and now 4
  timeline.record(610'000, 9'000);                                // stretch 6: none over 10 ms
  LatencyTimeline::Summary summary = timeline.summarize();
  EXPECT_EQ(summary.stretches, 7u);
  EXPECT_EQ(summary.stretches_over_10ms, 3u);
  EXPECT_EQ(summary.requests_over_10ms, 8);
  ASSERT_TRUE(summary.worst.has_value());
  EXPECT_EQ(*summary.worst, 5u);
}

TEST(LatencyTimeline, ATieGoesToTheLongerLatency) {
  LatencyTimeline timeline;
  timeline.record(0, 15'000);
  timeline.record(100'000, 40'000);
  timeline.record(200'000, 20'000);
  LatencyTimeline::Summary summary = timeline.summarize();
  ASSERT_TRUE(summary.worst.has_value());
  EXPECT_EQ(*summary.worst, 1u);
}

TEST(LatencyTimeline, NoSlowRequestsNoWorstStretch) {
  LatencyTimeline timeline;
  EXPECT_EQ(timeline.summarize().stretches, 0u);
  EXPECT_FALSE(timeline.summarize().worst.has_value());
  timeline.record(0, 10'000);
  LatencyTimeline::Summary summary = timeline.summarize();
  EXPECT_EQ(summary.stretches, 1u);
  EXPECT_EQ(summary.stretches_over_10ms, 0u);
  EXPECT_EQ(summary.requests_over_10ms, 0);
  EXPECT_FALSE(summary.worst.has_value());
}

}  // namespace
}  // namespace payd::bench
