// The group-commit writer's queue and its idle hook, without a database.
#include "ledger/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace payd::ledger {
namespace {

class GroupCommitTest : public ::testing::Test {
 protected:
  // Commits nothing: every submission is answered 201 with an empty body.
  static std::vector<Outcome> answer_all(std::vector<QueuedSubmission>& batch) {
    return std::vector<Outcome>(batch.size(), Outcome{Outcome::Kind::executed, Reply{201, ""}, {}});
  }
  void submit_and_wait() {
    std::mutex mutex;
    std::condition_variable signal;
    bool answered = false;
    writer_.submit(Submission{CreateAccount{"USD", AccountType::customer, 0, "{}"}, std::nullopt, "req_test"},
                   [&](Outcome) {
                     std::lock_guard lock(mutex);
                     answered = true;
                     signal.notify_one();
                   });
    std::unique_lock lock(mutex);
    signal.wait(lock, [&] { return answered; });
  }
  void wait_for_idle_runs(int runs) {
    for (int waited_ms = 0; waited_ms < 5000 && idle_runs_ < runs; waited_ms += 5) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  ManualClock clock_;
  metrics::Registry registry_;
  GroupCommitWriter writer_{8, 64, clock_, registry_};
  std::atomic<int> idle_runs_{0};
};

TEST_F(GroupCommitTest, IdleWorkRunsOnceAfterTheQueueStaysEmpty) {
  writer_.start(answer_all, [&] { ++idle_runs_; }, std::chrono::milliseconds(10));
  // Nothing was committed yet: there is nothing for idle work to catch up on.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(idle_runs_, 0);

  submit_and_wait();
  wait_for_idle_runs(1);
  EXPECT_EQ(idle_runs_, 1);
  // Still idle: it does not run again until another batch has run.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(idle_runs_, 1);

  submit_and_wait();
  wait_for_idle_runs(2);
  EXPECT_EQ(idle_runs_, 2);
}

TEST_F(GroupCommitTest, IdleWorkWaitsWhileSubmissionsKeepArriving) {
  // Idle work may only start after a full second without submissions; the
  // submissions below come closer together than that.
  writer_.start(answer_all, [&] { ++idle_runs_; }, std::chrono::seconds(1));
  for (int i = 0; i < 20; ++i) {
    submit_and_wait();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(idle_runs_, 0);
  writer_.shutdown();
  EXPECT_EQ(idle_runs_, 0);
}

}  // namespace
}  // namespace payd::ledger
