#include "resilience/circuit_breaker.h"

#include <gtest/gtest.h>

namespace payd::resilience {
namespace {

class CircuitBreakerTest : public ::testing::Test {
 protected:
  ManualClock clock;
  metrics::Registry registry;
  CircuitBreaker breaker{"cache", BreakerOptions{5, 30'000, 1'000}, clock, registry};

  void fail(int times) {
    for (int i = 0; i < times; ++i) {
      ASSERT_TRUE(breaker.allow());
      breaker.record_failure();
    }
  }
};

TEST_F(CircuitBreakerTest, OpensAfterFiveConsecutiveFailures) {
  fail(4);
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::closed);
  fail(1);
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::open);
  EXPECT_FALSE(breaker.allow());
}

TEST_F(CircuitBreakerTest, ASuccessResetsTheCount) {
  fail(4);
  ASSERT_TRUE(breaker.allow());
  breaker.record_success();
  fail(4);
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::closed);
}

TEST_F(CircuitBreakerTest, StaysOpenForTheCooldownThenLetsOneProbeThrough) {
  fail(5);
  clock.advance_ms(29'999);
  EXPECT_FALSE(breaker.allow());
  clock.advance_ms(1);
  EXPECT_TRUE(breaker.allow());
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::half_open);
  EXPECT_FALSE(breaker.allow()) << "only one probe at a time";
}

TEST_F(CircuitBreakerTest, ASuccessfulProbeCloses) {
  fail(5);
  clock.advance_ms(30'000);
  ASSERT_TRUE(breaker.allow());
  breaker.record_success();
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::closed);
  EXPECT_TRUE(breaker.allow());
}

TEST_F(CircuitBreakerTest, AFailedProbeOpensForAnotherCooldown) {
  fail(5);
  clock.advance_ms(30'000);
  ASSERT_TRUE(breaker.allow());
  breaker.record_failure();
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::open);
  clock.advance_ms(29'000);
  EXPECT_FALSE(breaker.allow());
  clock.advance_ms(1'000);
  EXPECT_TRUE(breaker.allow());
}

TEST_F(CircuitBreakerTest, AProbeThatNeverReportsIsReplaced) {
  fail(5);
  clock.advance_ms(30'000);
  ASSERT_TRUE(breaker.allow());
  clock.advance_ms(999);
  EXPECT_FALSE(breaker.allow());
  clock.advance_ms(1);
  EXPECT_TRUE(breaker.allow());
}

TEST_F(CircuitBreakerTest, StateAndTransitionsAreInTheMetrics) {
  fail(5);
  std::string text = registry.render();
  EXPECT_NE(text.find("payd_circuit_state{circuit=\"cache\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("payd_circuit_transitions_total{circuit=\"cache\",to=\"open\"} 1"), std::string::npos) << text;
  EXPECT_EQ(breaker.transitions(), 1u);
}

}  // namespace
}  // namespace payd::resilience
