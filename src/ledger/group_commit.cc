#include "ledger/group_commit.h"

#include <algorithm>
#include <cassert>

#include "core/thread_name.h"

namespace payd::ledger {

Outcome problem_outcome(const Submission& submission, const Problem& problem) {
  unsigned status = problem.status();
  return Outcome{Outcome::Kind::executed, Reply{status, render_problem(problem, submission.request_id)}, {}};
}

GroupCommitWriter::GroupCommitWriter(std::size_t batch_size_max, std::size_t queue_capacity, Clock& clock,
                                     metrics::Registry& registry)
    : batch_size_max_(batch_size_max),
      queue_capacity_(queue_capacity),
      clock_(clock),
      batch_size_(registry.histogram("payd_ledger_batch_size", "Submissions committed per ledger transaction",
                                     metrics::size_buckets())),
      commit_seconds_(registry.histogram("payd_ledger_commit_seconds",
                                         "Time to execute and commit one batch (with a durability step, "
                                         "including the wait for the one before)",
                                         metrics::latency_buckets_s())),
      durable_seconds_(registry.histogram("payd_ledger_durable_seconds",
                                          "Time to make the committed batches durable, where that is a step of "
                                          "its own (SQLite's WAL fdatasync)",
                                          metrics::latency_buckets_s())),
      queue_depth_(registry.gauge("payd_ledger_queue_depth", "Submissions waiting for the ledger writer")),
      commands_(registry.counter("payd_ledger_commands_total", "Submissions executed by the ledger writer")),
      batches_(registry.counter("payd_ledger_batches_total", "Transactions committed by the ledger writer")),
      replays_(registry.counter("payd_idempotent_replays_total", "Requests answered from a stored outcome")),
      conflicts_(registry.counter("payd_idempotency_conflicts_total",
                                  "Requests refused because their key was used with another request",
                                  {{"code", "idempotency_key_reused"}})) {
  assert(batch_size_max_ >= 1);
  assert(queue_capacity_ >= batch_size_max_);
}

GroupCommitWriter::~GroupCommitWriter() { shutdown(); }

void GroupCommitWriter::start(CommitBatch commit_batch, IdleWork idle_work, std::chrono::milliseconds idle_after,
                              MakeDurable make_durable, CommitWindow window) {
  assert(!thread_.joinable());
  assert(window.length.count() >= 0 && window.arrivals_min > 0);
  window_ = window;
  commit_batch_ = std::move(commit_batch);
  idle_work_ = std::move(idle_work);
  idle_after_ = idle_after;
  make_durable_ = std::move(make_durable);
  if (make_durable_) durability_thread_ = std::thread([this] { durability_loop(); });
  thread_ = std::thread([this] { loop(); });
}

void GroupCommitWriter::submit(Submission submission, std::function<void(Outcome)> done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && queue_.size() < queue_capacity_) {
      queue_.push_back(QueuedSubmission{std::move(submission), std::move(done)});
      ++arrivals_;
      queue_depth_.set(static_cast<std::int64_t>(queue_.size()));
      // A writer waiting in take_more() is woken by the sync's return, or by
      // a group of arrivals, not by each one (the class comment says why).
      if (queue_.size() == (extending_ ? extend_wake_queued : 1)) queue_ready_.notify_one();
      return;
    }
  }
  done(problem_outcome(submission, retry_soon("overloaded", "the ledger queue is full")));
}

void GroupCommitWriter::loop() {
  name_this_thread("ledger-writer");
  std::vector<QueuedSubmission> batch;
  batch.reserve(batch_size_max_);
  bool idle_work_due = false;  // a batch ran since the idle work last did
  auto has_work = [&] { return stopping_ || !queue_.empty(); };
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (idle_work_due && idle_work_ && !queue_ready_.wait_for(lock, idle_after_, has_work)) {
        idle_work_due = false;
        lock.unlock();
        idle_work_();
        continue;
      }
      queue_ready_.wait(lock, has_work);
      if (queue_.empty()) break;  // stopping and drained
      commit_not_before_ = commit_not_before();
      take_queued(batch);
    }
    idle_work_due = true;
    std::int64_t start_us = clock_.monotonic_us();
    std::vector<Outcome> outcomes = commit_batch_(batch);
    commit_seconds_.observe(static_cast<double>(clock_.monotonic_us() - start_us) / 1e6);
    batch_size_.observe(static_cast<double>(batch.size()));
    batches_.add();
    commands_.add(batch.size());
    assert(outcomes.size() == batch.size());
    if (!make_durable_) {
      answer(batch, outcomes);
      batch.clear();
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      committed_.push_back(Committed{std::move(batch), std::move(outcomes)});
      ++undurable_;
    }
    committed_ready_.notify_one();
    batch = {};
    batch.reserve(batch_size_max_);
  }
  {
    std::lock_guard lock(mutex_);
    writer_stopped_ = true;
  }
  committed_ready_.notify_one();
}

std::size_t GroupCommitWriter::take_more(std::vector<QueuedSubmission>& batch) {
  if (!make_durable_) return 0;
  std::unique_lock lock(mutex_);
  for (;;) {
    if (stopping_ || batch.size() >= batch_size_max_) return 0;
    if (!queue_.empty()) return take_queued(batch);
    if (undurable_ == 0 && std::chrono::steady_clock::now() >= commit_not_before_) return 0;
    extending_ = true;
    if (undurable_ > 0) {
      queue_ready_.wait(lock);
    } else {
      queue_ready_.wait_until(lock, commit_not_before_);
    }
    extending_ = false;
  }
}

std::chrono::steady_clock::time_point GroupCommitWriter::commit_not_before() {
  auto now = std::chrono::steady_clock::now();
  if (window_.length.count() == 0 || !make_durable_) return now;
  if (last_batch_at_ != std::chrono::steady_clock::time_point{}) {
    auto since_us = std::chrono::duration<double, std::micro>(now - last_batch_at_).count();
    double rate = static_cast<double>(arrivals_ - arrivals_at_last_batch_) / std::max(since_us, 1.0);
    // Weighted by time, so that a long quiet spell counts for what it was.
    double weight = std::min(1.0, since_us / 10'000.0);
    arrival_rate_per_us_ += weight * (rate - arrival_rate_per_us_);
  }
  last_batch_at_ = now;
  arrivals_at_last_batch_ = arrivals_;
  double expected = arrival_rate_per_us_ * static_cast<double>(window_.length.count());
  return expected >= window_.arrivals_min ? now + window_.length : now;
}

std::size_t GroupCommitWriter::take_queued(std::vector<QueuedSubmission>& batch) {
  std::size_t taken = 0;
  for (; !queue_.empty() && batch.size() < batch_size_max_; ++taken) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  queue_depth_.set(static_cast<std::int64_t>(queue_.size()));
  return taken;
}

void GroupCommitWriter::durability_loop() {
  name_this_thread("ledger-sync");
  std::vector<Committed> committed;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      committed_ready_.wait(lock, [&] { return writer_stopped_ || !committed_.empty(); });
      if (committed_.empty()) return;  // the writer stopped and everything is answered
      committed.swap(committed_);
    }
    std::int64_t start_us = clock_.monotonic_us();
    bool durable = make_durable_();
    durable_seconds_.observe(static_cast<double>(clock_.monotonic_us() - start_us) / 1e6);
    {
      std::lock_guard lock(mutex_);
      undurable_ -= committed.size();
    }
    queue_ready_.notify_all();  // the writer may be waiting in take_more()
    for (Committed& done : committed) {
      if (!durable) {
        Problem problem = retry_soon("unavailable", "the ledger could not make the write durable");
        for (std::size_t i = 0; i < done.batch.size(); ++i) {
          done.outcomes[i] = problem_outcome(done.batch[i].submission, problem);
        }
      }
      answer(done.batch, done.outcomes);
    }
    committed.clear();
  }
}

void GroupCommitWriter::answer(std::vector<QueuedSubmission>& batch, std::vector<Outcome>& outcomes) {
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (outcomes[i].kind == Outcome::Kind::replayed) replays_.add();
    if (outcomes[i].reply.status == 422) conflicts_.add();
    batch[i].done(std::move(outcomes[i]));
  }
}

void GroupCommitWriter::shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  queue_ready_.notify_all();
  stopping_signal_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (durability_thread_.joinable()) durability_thread_.join();
}

Ledger::Stats GroupCommitWriter::stats() {
  Ledger::Stats stats;
  {
    std::lock_guard lock(mutex_);
    stats.queue_depth = static_cast<std::int64_t>(queue_.size());
  }
  stats.queue_capacity = static_cast<std::int64_t>(queue_capacity_);
  stats.batches = static_cast<std::int64_t>(batches_.value());
  stats.commands = static_cast<std::int64_t>(commands_.value());
  stats.batch_size_max = static_cast<std::int64_t>(batch_size_max_);
  return stats;
}

bool GroupCommitWriter::wait_unless_stopping(std::chrono::milliseconds interval) {
  std::unique_lock lock(mutex_);
  stopping_signal_.wait_for(lock, interval, [&] { return stopping_; });
  return !stopping_;
}

}  // namespace payd::ledger
