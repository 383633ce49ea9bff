#include "resilience/backoff.h"

#include <set>

#include <gtest/gtest.h>

namespace payd::resilience {
namespace {

TEST(ReconnectDelay, GrowsToTheCapWithFullJitter) {
  SeededRandom random(7);
  for (int attempt = 0; attempt < 40; ++attempt) {
    std::int64_t ceiling_ms = attempt < 6 ? 100LL << attempt : 5000;
    std::set<std::int64_t> delays;
    std::int64_t max_seen_ms = 0;
    for (int draw = 0; draw < 200; ++draw) {
      std::int64_t delay_ms = reconnect_delay(attempt, 100, 5000, random).count();
      ASSERT_GE(delay_ms, 0);
      ASSERT_LE(delay_ms, ceiling_ms);
      delays.insert(delay_ms);
      max_seen_ms = std::max(max_seen_ms, delay_ms);
    }
    // Spread over the whole range, not in step.
    EXPECT_GT(delays.size(), 50u) << attempt;
    EXPECT_GT(max_seen_ms, ceiling_ms * 9 / 10) << attempt;
  }
}

TEST(ReconnectDelay, ClientsSeededDifferentlyPickDifferentDelays) {
  std::set<std::int64_t> first_delays;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SeededRandom random(seed);
    first_delays.insert(reconnect_delay(3, 100, 5000, random).count());
  }
  EXPECT_GT(first_delays.size(), 15u);
}

}  // namespace
}  // namespace payd::resilience
