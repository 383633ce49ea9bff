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
// A backend whose commits do not wait for the disk (SQLite with
// synchronous=NORMAL) passes a MakeDurable step: committed batches then go
// to a second thread, which makes everything committed so far durable in
// one call (an fdatasync) and only then calls their `done`s. The writer
// commits the next batch meanwhile, so the fsync is off its path, and one
// fsync covers every batch committed while the previous one ran (the way a
// database's WAL writer works). While a sync runs, the backend keeps its
// transaction open and adds what arrives meanwhile (take_more()), and
// commits as the sync returns: batches stay as large as when each commit
// waited for its own fsync (pages written per commit are what the disk
// pays for), and executing them overlaps the fsync. The writer is woken
// for those arrivals once extend_wake_queued have queued, or when the
// sync returns, not for each: at 10,000 transfers/s over SQLite a wake
// per arrival cost the writer about 3,500 more context switches a second
// (1,500 of them preemptions) and the machine about 4% of its CPU, to
// execute a handful of submissions a little earlier. Nothing is
// acknowledged before it is durable; until then only the backend's own
// readers can see it.
//
// Under a steady stream of submissions a batch can also be held open for a
// commit window (CommitWindow): the writer keeps adding what arrives until
// the window, counted from the batch's first submission, has passed (woken
// for arrivals as while it waits for a sync: once extend_wake_queued have
// queued, or when the window ends). Each
// commit and each sync has a cost of its own, whatever the batch holds (and
// a batch's WAL pages are shared by its transfers), so fewer, larger
// batches leave the CPU and the disk to the requests (the idea of
// PostgreSQL's commit_delay). The window applies only while the recent
// arrival rate promises `arrivals_min` submissions within it: under light
// load nothing waits for company that is not coming.
//
// Work that can wait for a quiet moment (SQLite's per-account index) goes
// to the idle hook: it runs on the writer thread once the queue has stayed
// empty for `idle_after`, and once only until the next batch. Under load it
// never runs, so it never lengthens a batch.
//
// Thread safety: submit(), stats() and wait_unless_stopping() from any
// thread; CommitBatch runs on the writer thread only, MakeDurable on the
// durability thread only. `done`s run on the writer thread, or on the
// durability thread when there is one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "ledger/ledger.h"
#include "metrics/metrics.h"

namespace payd::ledger {

// Arrivals that wake a writer waiting in take_more(), for a sync or for the
// end of a commit window; see the class comment.
inline constexpr std::size_t extend_wake_queued = 16;

struct CommitWindow {
  std::chrono::microseconds length{0};  // 0: commit as soon as the earlier batches are durable
  double arrivals_min = 2;              // expected arrivals within `length` for the window to apply
};

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
  // Makes every batch committed before the call durable; false when it
  // could not (those batches are then answered 503 unavailable).
  using MakeDurable = std::function<bool()>;

  GroupCommitWriter(std::size_t batch_size_max, std::size_t queue_capacity, Clock& clock,
                    metrics::Registry& registry);
  ~GroupCommitWriter();
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

  // Starts the writer thread (and the durability thread when
  // `make_durable` is given). Call once. `idle_work`, if any, runs as the
  // class comment says.
  void start(CommitBatch commit_batch, IdleWork idle_work = {},
             std::chrono::milliseconds idle_after = std::chrono::milliseconds(20), MakeDurable make_durable = {},
             CommitWindow window = {});
  void submit(Submission submission, std::function<void(Outcome)> done);
  // For CommitBatch, on the writer thread, with `batch` executed in an open
  // transaction: while earlier batches are still being made durable, waits
  // for submissions and moves them into `batch` (up to batch_size_max);
  // returns how many it added, 0 when the batch should be committed now
  // (nothing is waiting to become durable and the batch's commit window,
  // if any, has passed; the batch is full; or the writer is stopping).
  // Always 0 without a MakeDurable step.
  std::size_t take_more(std::vector<QueuedSubmission>& batch);
  // Stops accepting, commits what is queued, joins the writer. Idempotent.
  void shutdown();
  Ledger::Stats stats();
  // Waits `interval`, or less when shutdown starts; false once stopping.
  // For a backend's own background threads.
  bool wait_unless_stopping(std::chrono::milliseconds interval);

 private:
  struct Committed {
    std::vector<QueuedSubmission> batch;
    std::vector<Outcome> outcomes;
  };
  void loop();
  void durability_loop();
  // Moves queued submissions into `batch`, up to batch_size_max; returns
  // how many. With mutex_ held.
  std::size_t take_queued(std::vector<QueuedSubmission>& batch);
  // When the batch taken now may commit: now, or at the end of its commit
  // window when the arrival rate measured since the last batch promises
  // company. With mutex_ held, as a batch is taken.
  std::chrono::steady_clock::time_point commit_not_before();
  // Calls each submission's `done` with its outcome.
  void answer(std::vector<QueuedSubmission>& batch, std::vector<Outcome>& outcomes);

  std::size_t batch_size_max_;
  std::size_t queue_capacity_;
  Clock& clock_;
  CommitBatch commit_batch_;
  IdleWork idle_work_;
  std::chrono::milliseconds idle_after_{0};
  MakeDurable make_durable_;
  CommitWindow window_;
  std::thread thread_;
  std::thread durability_thread_;

  std::mutex mutex_;
  std::condition_variable queue_ready_;
  std::condition_variable stopping_signal_;
  std::deque<QueuedSubmission> queue_;
  bool stopping_ = false;
  bool extending_ = false;  // the writer waits in take_more() (for a sync or a window's end)
  std::condition_variable committed_ready_;
  std::vector<Committed> committed_;  // committed, waiting for the durability thread
  std::size_t undurable_ = 0;         // batches committed and not yet durable
  bool writer_stopped_ = false;
  std::uint64_t arrivals_ = 0;  // submissions queued, ever
  // For the commit window: arrivals per microsecond (a moving average over
  // batches), and where the last batch left the count.
  double arrival_rate_per_us_ = 0;
  std::uint64_t arrivals_at_last_batch_ = 0;
  std::chrono::steady_clock::time_point last_batch_at_{};
  std::chrono::steady_clock::time_point commit_not_before_{};  // of the batch being built

  metrics::Histogram& batch_size_;
  metrics::Histogram& commit_seconds_;
  metrics::Histogram& durable_seconds_;
  metrics::Gauge& queue_depth_;
  metrics::Counter& commands_;
  metrics::Counter& batches_;
  metrics::Counter& replays_;
  metrics::Counter& conflicts_;
};

}  // namespace payd::ledger
