// GroupCommitWriter: the bounded queue and the one writer thread that every
// ledger backend commits through (DESIGN.md, principle 4).
//
// submit() queues a submission, or answers 503 `overloaded` at once when the
// queue is full or the writer is stopping. The writer thread takes what is
// queued, up to batch_size_max, with no artificial wait (under light load a
// batch is one submission), hands the batch to the backend's CommitBatch,
// and calls each submission's `done` with its outcome. The backend decides
// how a batch is committed and what happens when it fails; this class owns
// the queue, the thread, and the batch metrics.
//
// Work that can wait for a quiet moment (SQLite's per-account index) goes
// to the idle hook: it runs on the writer thread once the queue has stayed
// empty for `idle_after`, and once only until the next batch. Under load it
// never runs, so it never lengthens a batch.
//
// Thread safety: submit(), stats() and wait_unless_stopping() from any
// thread; CommitBatch runs on the writer thread only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "ledger/ledger.h"
#include "metrics/metrics.h"

namespace payd::ledger {

struct QueuedSubmission {
  Submission submission;
  std::function<void(Outcome)> done;
};

// The answer to one submission that was not executed: a problem, not stored.
Outcome problem_outcome(const Submission& submission, const Problem& problem);

class GroupCommitWriter {
 public:
  // Commits `batch` and returns one outcome per submission, in order.
  using CommitBatch = std::function<std::vector<Outcome>(std::vector<QueuedSubmission>& batch)>;
  using IdleWork = std::function<void()>;

  GroupCommitWriter(std::size_t batch_size_max, std::size_t queue_capacity, Clock& clock,
                    metrics::Registry& registry);
  ~GroupCommitWriter();
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

  // Starts the writer thread. Call once. `idle_work`, if any, runs as the
  // class comment says.
  void start(CommitBatch commit_batch, IdleWork idle_work = {},
             std::chrono::milliseconds idle_after = std::chrono::milliseconds(20));
  void submit(Submission submission, std::function<void(Outcome)> done);
  // Stops accepting, commits what is queued, joins the writer. Idempotent.
  void shutdown();
  Ledger::Stats stats();
  // Waits `interval`, or less when shutdown starts; false once stopping.
  // For a backend's own background threads.
  bool wait_unless_stopping(std::chrono::milliseconds interval);

 private:
  void loop();

  std::size_t batch_size_max_;
  std::size_t queue_capacity_;
  Clock& clock_;
  CommitBatch commit_batch_;
  IdleWork idle_work_;
  std::chrono::milliseconds idle_after_{0};
  std::thread thread_;

  std::mutex mutex_;
  std::condition_variable queue_ready_;
  std::condition_variable stopping_signal_;
  std::deque<QueuedSubmission> queue_;
  bool stopping_ = false;

  metrics::Histogram& batch_size_;
  metrics::Histogram& commit_seconds_;
  metrics::Gauge& queue_depth_;
  metrics::Counter& commands_;
  metrics::Counter& batches_;
  metrics::Counter& replays_;
  metrics::Counter& conflicts_;
};

}  // namespace payd::ledger
