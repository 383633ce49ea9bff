#include "bench/syncprobe/sync_stalls.h"

#include <gtest/gtest.h>

#include <vector>

namespace payd::bench {
namespace {

TEST(SyncStalls, OnlyTheTimePastTheThresholdCounts) {
  // 1 s of syncs: 997 of 0.3 ms, one of 9 ms (under the threshold), one of
  // 25 ms and one of 60 ms: arrivals wait over 10 ms during 15 + 50 ms.
  std::vector<std::int64_t> durations(997, 300);
  durations.push_back(9'000);
  durations.push_back(25'000);
  durations.push_back(60'000);
  SyncStallSummary summary = summarize_syncs(durations, 1'000'000, 10'000);
  EXPECT_EQ(summary.syncs, 1000);
  EXPECT_EQ(summary.over_threshold, 2);
  EXPECT_DOUBLE_EQ(summary.waiting_share_over_threshold, 0.065);
  EXPECT_EQ(summary.p50_us, 300);
  EXPECT_EQ(summary.max_us, 60'000);
  EXPECT_EQ(summary.p99_us, 300);  // rank 990 of 1000
  EXPECT_GT(summary.p99_9_us, 20'000);  // rank 999: the 25 ms sync
}

TEST(SyncStalls, AQuietDiskHasNoWaitingOverTheThreshold) {
  std::vector<std::int64_t> durations(5'000, 250);
  durations.push_back(10'000);  // exactly the threshold: not over it
  SyncStallSummary summary = summarize_syncs(durations, 6'000'000, 10'000);
  EXPECT_EQ(summary.over_threshold, 0);
  EXPECT_DOUBLE_EQ(summary.waiting_share_over_threshold, 0.0);
  EXPECT_EQ(summary.max_us, 10'000);
}

TEST(SyncStalls, NoSyncsGiveZeros) {
  SyncStallSummary summary = summarize_syncs({}, 1'000'000, 10'000);
  EXPECT_EQ(summary.syncs, 0);
  EXPECT_EQ(summary.p99_us, 0);
  EXPECT_DOUBLE_EQ(summary.waiting_share_over_threshold, 0.0);
}

}  // namespace
}  // namespace payd::bench
