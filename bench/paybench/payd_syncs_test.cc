#include "bench/paybench/payd_syncs.h"

#include <gtest/gtest.h>

#include <string>

namespace payd::bench {
namespace {

// As payd prints it (bounds with 17 significant digits), among other metrics.
const std::string metrics =
    "# TYPE payd_ledger_durable_seconds histogram\n"
    "payd_ledger_durable_seconds_bucket{le=\"0.001\"} 9000\n"
    "payd_ledger_durable_seconds_bucket{le=\"0.0025000000000000001\"} 9950\n"
    "payd_ledger_durable_seconds_bucket{le=\"0.0050000000000000001\"} 9980\n"
    "payd_ledger_durable_seconds_bucket{le=\"0.01\"} 9990\n"
    "payd_ledger_durable_seconds_bucket{le=\"+Inf\"} 10000\n"
    "payd_ledger_durable_seconds_sum 3.5\n"
    "payd_ledger_durable_seconds_count 10000\n"
    "payd_ledger_batches_total 10000\n";

TEST(PaydSyncs, CountsTheSyncsPastEachBound) {
  std::optional<PaydSyncs> syncs = parse_payd_syncs(metrics);
  ASSERT_TRUE(syncs.has_value());
  EXPECT_EQ(syncs->syncs, 10000);
  EXPECT_EQ(syncs->over_2_5ms, 50);
  EXPECT_EQ(syncs->over_10ms, 10);
}

TEST(PaydSyncs, NoHistogramNoCounts) {
  EXPECT_FALSE(parse_payd_syncs("payd_ledger_batches_total 10\n").has_value());
  // Without its 10 ms bucket.
  EXPECT_FALSE(parse_payd_syncs("payd_ledger_durable_seconds_bucket{le=\"0.0025\"} 5\n"
                                "payd_ledger_durable_seconds_count 5\n")
                   .has_value());
}

TEST(PaydSyncs, BetweenTwoReadings) {
  PaydSyncs earlier{1000, 4, 1};
  PaydSyncs later{11000, 54, 11};
  PaydSyncs between = syncs_between(earlier, later);
  EXPECT_EQ(between.syncs, 10000);
  EXPECT_EQ(between.over_2_5ms, 50);
  EXPECT_EQ(between.over_10ms, 10);
}

}  // namespace
}  // namespace payd::bench
