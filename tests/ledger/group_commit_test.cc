// The group-commit writer's queue and its idle hook, without a database.
#include "ledger/group_commit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

// The durability step of a backend whose commits do not wait for the disk:
// it blocks until the test opens the gate.
class Gate {
 public:
  bool pass() {
    std::unique_lock lock(mutex_);
    ++arrivals_;
    arrived_.notify_all();
    opened_.wait(lock, [&] { return open_; });
    return durable_;
  }
  void open(bool durable) {
    std::lock_guard lock(mutex_);
    open_ = true;
    durable_ = durable;
    opened_.notify_all();
  }
  void wait_for_arrivals(int arrivals) {
    std::unique_lock lock(mutex_);
    arrived_.wait_for(lock, std::chrono::seconds(5), [&] { return arrivals_ >= arrivals; });
  }
  int arrivals() {
    std::lock_guard lock(mutex_);
    return arrivals_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  std::condition_variable arrived_;
  bool open_ = false;
  bool durable_ = false;
  int arrivals_ = 0;
};

class Answers {
 public:
  std::function<void(Outcome)> collector() {
    return [this](Outcome outcome) {
      std::lock_guard lock(mutex_);
      statuses_.push_back(outcome.reply.status);
      bodies_.push_back(outcome.reply.body);
      answered_.notify_all();
    };
  }
  std::vector<unsigned> wait_for(std::size_t count) {
    std::unique_lock lock(mutex_);
    answered_.wait_for(lock, std::chrono::seconds(5), [&] { return statuses_.size() >= count; });
    return statuses_;
  }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mutex_);
    return bodies_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable answered_;
  std::vector<unsigned> statuses_;
  std::vector<std::string> bodies_;
};

Submission a_submission() {
  return Submission{CreateAccount{"USD", AccountType::customer, 0, "{}"}, std::nullopt, "req_test"};
}

TEST_F(GroupCommitTest, NothingIsAnsweredBeforeItIsDurableAndTheWriterGoesOnMeanwhile) {
  Gate gate;
  std::atomic<int> batches{0};
  writer_.start(
      [&](std::vector<QueuedSubmission>& batch) {
        ++batches;
        return answer_all(batch);
      },
      {}, std::chrono::milliseconds(20), [&] { return gate.pass(); });
  Answers answers;
  writer_.submit(a_submission(), answers.collector());
  gate.wait_for_arrivals(1);
  ASSERT_EQ(gate.arrivals(), 1);
  EXPECT_EQ(batches, 1);
  // The durability step is stuck: the writer still commits what comes next.
  for (int i = 0; i < 3; ++i) writer_.submit(a_submission(), answers.collector());
  for (int waited_ms = 0; waited_ms < 5000 && batches < 2; waited_ms += 5) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(batches, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(answers.wait_for(0).empty()) << "answered before the durability step returned";

  gate.open(true);
  std::vector<unsigned> statuses = answers.wait_for(4);
  EXPECT_EQ(statuses, std::vector<unsigned>(4, 201u));
  // The three submitted while the first sync ran shared the second one.
  EXPECT_EQ(gate.arrivals(), 2);
}

TEST_F(GroupCommitTest, AFailedDurabilityStepAnswersUnavailable) {
  Gate gate;
  gate.open(false);
  writer_.start(answer_all, {}, std::chrono::milliseconds(20), [&] { return gate.pass(); });
  Answers answers;
  writer_.submit(a_submission(), answers.collector());
  EXPECT_EQ(answers.wait_for(1), std::vector<unsigned>{503u});
  EXPECT_NE(answers.bodies().front().find("\"code\":\"unavailable\""), std::string::npos)
      << answers.bodies().front();
}

TEST_F(GroupCommitTest, ShutdownAnswersWhatWasCommittedOnceItIsDurable) {
  Gate gate;
  writer_.start(answer_all, {}, std::chrono::milliseconds(20), [&] { return gate.pass(); });
  Answers answers;
  for (int i = 0; i < 5; ++i) writer_.submit(a_submission(), answers.collector());
  gate.wait_for_arrivals(1);
  std::thread stop([&] { writer_.shutdown(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(answers.wait_for(0).empty());
  gate.open(true);
  stop.join();
  EXPECT_EQ(answers.wait_for(5), std::vector<unsigned>(5, 201u));
}

TEST(GroupCommitExtendTest, WhileASyncRunsTheWriterTakesArrivalsInGroupsOrWhenItReturns) {
  ManualClock clock;
  metrics::Registry registry;
  GroupCommitWriter writer(64, 256, clock, registry);
  Gate gate;
  std::atomic<std::size_t> executed{0};
  std::vector<std::size_t> batch_sizes;  // written by the writer thread, read after shutdown
  writer.start(
      [&](std::vector<QueuedSubmission>& batch) {
        executed += batch.size();
        while (std::size_t taken = writer.take_more(batch)) executed += taken;
        batch_sizes.push_back(batch.size());
        return std::vector<Outcome>(batch.size(), Outcome{Outcome::Kind::executed, Reply{201, ""}, {}});
      },
      {}, std::chrono::milliseconds(20), [&] { return gate.pass(); });
  Answers answers;
  writer.submit(a_submission(), answers.collector());
  gate.wait_for_arrivals(1);  // the first batch's sync is stuck
  writer.submit(a_submission(), answers.collector());  // opens the next batch
  auto executed_soon = [&](std::size_t count) {
    for (int waited_ms = 0; waited_ms < 5000 && executed < count; waited_ms += 5) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return executed.load();
  };
  ASSERT_EQ(executed_soon(2), 2u);

  // Fewer than a group: the writer is left waiting for the sync.
  for (std::size_t i = 0; i + 1 < extend_wake_queued; ++i) writer.submit(a_submission(), answers.collector());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(executed, 2u) << "the writer was woken for single arrivals";
  // The group's last arrival wakes it, while the sync still runs.
  writer.submit(a_submission(), answers.collector());
  EXPECT_EQ(executed_soon(2 + extend_wake_queued), 2 + extend_wake_queued);
  EXPECT_TRUE(answers.wait_for(0).empty());

  // One more, then the sync returns: that wakes the writer too.
  writer.submit(a_submission(), answers.collector());
  gate.open(true);
  std::size_t total = 3 + extend_wake_queued;
  EXPECT_EQ(answers.wait_for(total), std::vector<unsigned>(total, 201u));
  writer.shutdown();
  EXPECT_EQ(batch_sizes, (std::vector<std::size_t>{1, total - 1}));
}

// A writer with the SQLite backend's shape: the batch stays open while
// take_more() finds more, and a durability step (here an instant one).
class WindowedWriter {
 public:
  explicit WindowedWriter(std::chrono::microseconds window) {
    writer_.start(
        [this](std::vector<QueuedSubmission>& batch) {
          while (writer_.take_more(batch) > 0) {
          }
          batch_sizes_.push_back(batch.size());
          return std::vector<Outcome>(batch.size(), Outcome{Outcome::Kind::executed, Reply{201, ""}, {}});
        },
        {}, std::chrono::milliseconds(20), [] { return true; }, CommitWindow{window, 2});
  }
  // Submits `count` submissions `gap` apart; returns the longest time one
  // waited for its answer.
  std::chrono::microseconds stream(int count, std::chrono::microseconds gap) {
    std::chrono::microseconds longest{0};
    std::vector<std::chrono::steady_clock::time_point> sent(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
      sent[static_cast<std::size_t>(i)] = std::chrono::steady_clock::now();
      writer_.submit(a_submission(), [this, i, &sent, &longest](Outcome) {
        auto waited = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                            sent[static_cast<std::size_t>(i)]);
        std::lock_guard lock(mutex_);
        longest = std::max(longest, waited);
        ++answered_;
        answered_signal_.notify_all();
      });
      std::this_thread::sleep_for(gap);
    }
    std::unique_lock lock(mutex_);
    answered_signal_.wait_for(lock, std::chrono::seconds(30), [&] { return answered_ == count; });
    EXPECT_EQ(answered_, count);
    return longest;
  }
  // The mean batch size, once the writer has stopped.
  double mean_batch() {
    writer_.shutdown();
    std::size_t total = 0;
    for (std::size_t size : batch_sizes_) total += size;
    return batch_sizes_.empty() ? 0.0 : static_cast<double>(total) / static_cast<double>(batch_sizes_.size());
  }
  GroupCommitWriter& writer() { return writer_; }

 private:
  ManualClock clock_;
  metrics::Registry registry_;
  GroupCommitWriter writer_{64, 4096, clock_, registry_};
  std::vector<std::size_t> batch_sizes_;  // written by the writer thread only
  std::mutex mutex_;
  std::condition_variable answered_signal_;
  int answered_ = 0;
};

TEST(CommitWindowTest, UnderASteadyStreamBatchesStayOpenForTheWindow) {
  // About 5,000 submissions a second: the window of 10 ms expects dozens.
  WindowedWriter windowed(std::chrono::milliseconds(10));
  windowed.stream(1000, std::chrono::microseconds(200));
  double with_window = windowed.mean_batch();

  WindowedWriter unwindowed(std::chrono::microseconds(0));
  unwindowed.stream(1000, std::chrono::microseconds(200));
  double without_window = unwindowed.mean_batch();

  EXPECT_GE(with_window, 8.0) << "batches were not held open";
  EXPECT_GT(with_window, 2.0 * without_window) << "without a window: " << without_window;
}

TEST(CommitWindowTest, UnderLightLoadNothingWaitsForTheWindow) {
  // Four submissions 250 ms apart promise about one within a 300 ms
  // window, under the two it takes: none is held back for it.
  WindowedWriter windowed(std::chrono::milliseconds(300));
  std::chrono::microseconds longest = windowed.stream(4, std::chrono::milliseconds(250));
  EXPECT_LT(longest, std::chrono::milliseconds(250)) << "a submission under light load waited for the window";
  EXPECT_EQ(windowed.mean_batch(), 1.0);
}

TEST(CommitWindowTest, ShutdownDoesNotWaitForAWindowToEnd) {
  // A stream makes the window apply; the window is far longer than the test.
  WindowedWriter windowed(std::chrono::seconds(60));
  auto started = std::chrono::steady_clock::now();
  std::atomic<int> answered{0};
  for (int i = 0; i < 200; ++i) {
    windowed.writer().submit(a_submission(), [&](Outcome) { ++answered; });
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  windowed.writer().shutdown();
  EXPECT_EQ(answered, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
}

}  // namespace
}  // namespace payd::ledger
