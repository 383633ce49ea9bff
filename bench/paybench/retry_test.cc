// The retry policy: which answers are asked again, and pauses that grow,
// stay bounded and are spread out.
#include "bench/paybench/retry.h"

#include <gtest/gtest.h>

#include <set>

namespace payd::bench {
namespace {

TEST(Retry, AsksAgainOnlyWhenNothingWasDecided) {
  EXPECT_TRUE(says_try_again(0, ""));
  EXPECT_TRUE(says_try_again(503, "unavailable"));
  EXPECT_TRUE(says_try_again(500, ""));
  EXPECT_TRUE(says_try_again(429, "rate_limited"));
  EXPECT_TRUE(says_try_again(409, "idempotency_key_in_use"));
  EXPECT_FALSE(says_try_again(409, "invalid_state"));
  EXPECT_FALSE(says_try_again(201, ""));
  EXPECT_FALSE(says_try_again(402, "insufficient_funds"));
  EXPECT_FALSE(says_try_again(422, "idempotency_key_reused"));
  EXPECT_FALSE(says_try_again(400, "invalid_request"));
}

TEST(Retry, ServiceFailuresAreNoAnswerAnd5xx) {
  EXPECT_TRUE(is_service_failure(0));
  EXPECT_TRUE(is_service_failure(503));
  EXPECT_FALSE(is_service_failure(409));
  EXPECT_FALSE(is_service_failure(201));
}

TEST(Retry, PausesDoubleUpToTheMaximumWithJitterInTheUpperHalf) {
  SeededRandom random(5);
  for (int retry = 1; retry <= 40; ++retry) {
    std::int64_t nominal_us = retry_pause_us_min;
    for (int doubling = 1; doubling < retry && nominal_us < retry_pause_us_max; ++doubling) nominal_us *= 2;
    nominal_us = std::min(nominal_us, retry_pause_us_max);
    std::set<std::int64_t> seen;
    for (int draw = 0; draw < 200; ++draw) {
      std::int64_t pause_us = retry_pause_us(retry, random);
      EXPECT_GE(pause_us, nominal_us - nominal_us / 2);
      EXPECT_LE(pause_us, nominal_us);
      seen.insert(pause_us);
    }
    EXPECT_GT(seen.size(), 50u) << "retry " << retry << " is not jittered";
  }
}

}  // namespace
}  // namespace payd::bench
