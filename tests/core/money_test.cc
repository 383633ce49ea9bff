#include "core/money.h"

#include <gtest/gtest.h>

namespace payd {
namespace {

TEST(Money, CheckedAddReportsOverflow) {
  EXPECT_EQ(checked_add(1, 2), 3);
  EXPECT_FALSE(checked_add(INT64_MAX, 1).has_value());
  EXPECT_FALSE(checked_add(INT64_MIN, -1).has_value());
}

TEST(Money, CheckedSubtractReportsOverflow) {
  EXPECT_EQ(checked_subtract(5, 7), -2);
  EXPECT_FALSE(checked_subtract(INT64_MIN, 1).has_value());
  EXPECT_FALSE(checked_subtract(INT64_MAX, -1).has_value());
}

TEST(Money, AmountRange) {
  EXPECT_FALSE(amount_in_range(0));
  EXPECT_TRUE(amount_in_range(1));
  EXPECT_TRUE(amount_in_range(amount_max));
  EXPECT_FALSE(amount_in_range(amount_max + 1));
  EXPECT_FALSE(amount_in_range(-5));
}

TEST(Money, FeeRoundsHalfUpAndIsCapped) {
  EXPECT_EQ(compute_fee(1000, 290, 30), 59);   // 29 + 30
  EXPECT_EQ(compute_fee(50, 100, 0), 1);       // 0.5 rounds up
  EXPECT_EQ(compute_fee(49, 100, 0), 0);       // 0.49 rounds down
  EXPECT_EQ(compute_fee(10, 0, 30), 10);       // capped at the amount
  EXPECT_EQ(compute_fee(amount_max, fee_bps_max, 0), amount_max);
}

}  // namespace
}  // namespace payd
