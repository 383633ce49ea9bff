// Gateway health: statuses expire after their validity; the checker probes
// at start and every interval, and a probe that never answers is down.
#include "gateway/health.h"

#include <gtest/gtest.h>

#include <map>

namespace payd::gateway {
namespace {

// Runs posted work when the test advances its clock.
class ManualScheduler final : public Scheduler {
 public:
  explicit ManualScheduler(ManualClock& clock) : clock_(clock) {}
  void post(std::function<void()> work) override { post_after(std::chrono::milliseconds(0), std::move(work)); }
  void post_after(std::chrono::milliseconds delay, std::function<void()> work) override {
    work_.emplace(std::make_pair(clock_.now_ms() + delay.count(), sequence_++), std::move(work));
  }
  // Advances the clock by `ms`, running every piece of work that falls due.
  void advance_ms(std::int64_t ms) {
    std::int64_t until = clock_.now_ms() + ms;
    while (!work_.empty() && work_.begin()->first.first <= until) {
      auto [when, work] = *work_.begin();
      work_.erase(work_.begin());
      clock_.advance_ms(when.first - clock_.now_ms());
      work();
    }
    clock_.advance_ms(until - clock_.now_ms());
  }

 private:
  ManualClock& clock_;
  std::int64_t sequence_ = 0;
  std::map<std::pair<std::int64_t, std::int64_t>, std::function<void()>> work_;
};

// A gateway whose health the test sets; `silent` never answers.
class FakeGateway final : public Gateway {
 public:
  explicit FakeGateway(Scheduler& scheduler) : scheduler_(scheduler) {}
  const std::string& name() const override { return name_; }
  void authorize(const Authorization&, Callback) override {}
  void lookup(const std::string&, Callback) override {}
  void capture(const std::string&, Minor, Callback) override {}
  void health(std::function<void(Health)> done) override {
    ++probes;
    if (silent) return;
    scheduler_.post_after(std::chrono::milliseconds(5), [done, health = health_now] { done(health); });
  }
  Health health_now = Health::up;
  bool silent = false;
  int probes = 0;

 private:
  Scheduler& scheduler_;
  std::string name_ = "fake";
};

TEST(MemoryStatusStore, StatusExpiresAfterItsValidity) {
  ManualClock clock;
  MemoryStatusStore store(clock);
  EXPECT_FALSE(store.get("simulated").has_value());
  store.put(GatewayStatus{"simulated", Health::degraded, "closed", clock.now_ms()}, status_validity_ms);
  clock.advance_ms(status_validity_ms - 1);
  ASSERT_TRUE(store.get("simulated").has_value());
  EXPECT_EQ(store.get("simulated")->status, Health::degraded);
  clock.advance_ms(1);
  EXPECT_FALSE(store.get("simulated").has_value()) << "a status 5 minutes old is no longer reported";
}

// A checker probing one fake gateway every 1000 ms, with a 100 ms timeout,
// on a manual clock and scheduler.
class HealthCheckerTest : public ::testing::Test {
 protected:
  ManualClock clock;
  ManualScheduler scheduler{clock};
  MemoryStatusStore store{clock};
  FakeGateway gateway{scheduler};
  HealthChecker checker{{&gateway}, store, scheduler, clock,
                        {std::chrono::milliseconds(1000), std::chrono::milliseconds(100)}};
};

TEST_F(HealthCheckerTest, ProbesAtStartAndEveryIntervalAndRecordsWhatItSaw) {
  checker.start();
  scheduler.advance_ms(10);
  EXPECT_EQ(gateway.probes, 1);
  ASSERT_TRUE(store.get("fake").has_value());
  EXPECT_EQ(store.get("fake")->status, Health::up);
  EXPECT_EQ(store.get("fake")->circuit, "closed");
  std::int64_t first_check_ms = store.get("fake")->checked_at_ms;

  gateway.health_now = Health::degraded;
  scheduler.advance_ms(1000);
  EXPECT_EQ(gateway.probes, 2);
  EXPECT_EQ(store.get("fake")->status, Health::degraded);
  EXPECT_EQ(store.get("fake")->checked_at_ms, first_check_ms + 1000);
  scheduler.advance_ms(200);
  EXPECT_EQ(store.get("fake")->status, Health::degraded) << "the timeout after an answer changes nothing";
}

TEST_F(HealthCheckerTest, ProbeWithoutAnAnswerIsDownAfterTheTimeout) {
  gateway.silent = true;
  checker.start();
  scheduler.advance_ms(99);
  EXPECT_FALSE(store.get("fake").has_value());
  scheduler.advance_ms(1);
  ASSERT_TRUE(store.get("fake").has_value());
  EXPECT_EQ(store.get("fake")->status, Health::down);
}

TEST_F(HealthCheckerTest, StoppedCheckerProbesNoMore) {
  checker.start();
  scheduler.advance_ms(10);
  checker.stop();
  scheduler.advance_ms(status_validity_ms);
  EXPECT_EQ(gateway.probes, 1);
  EXPECT_FALSE(store.get("fake").has_value()) << "its last status expired";
}

}  // namespace
}  // namespace payd::gateway
