// PostgresLedger: the ledger on PostgreSQL, with group commit, safe with
// many payd nodes on one database.
//
// Like SqliteLedger: one writer thread owns one connection, drains a
// bounded queue and commits up to batch_size_max submissions per
// transaction, with no artificial wait. When a batch fails it is rolled
// back and each submission runs again on its own, so one poisoned
// submission cannot fail its neighbours, and a conflict with another node
// (the same idempotency key stored first, a deadlock) is decided again
// against what that node committed: a replay or a refusal.
//
// When the connection is lost, the batch is answered 503 `unavailable` and
// the writer reconnects with exponential backoff and jitter; until it is
// back, batches are answered 503 at once. A COMMIT whose answer is lost may
// have been applied: the submission is still answered 503, and a retry with
// its idempotency key replays it.
//
// Reads are the prepared pipelines of reads.h. The synchronous ones
// (background workers, payctl, tests) borrow a blocking connection from a
// small pool of their own. Once serve_reads_on() has an event loop, the
// *_async reads of the HTTP routes go through a ReadClient instead:
// non-blocking connections driven by that loop, so a slow read never holds
// it up (read_client.h).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/descriptor_watcher.h"
#include "core/ids.h"
#include "core/scheduler.h"
#include "ledger/group_commit.h"
#include "ledger/ledger.h"
#include "metrics/metrics.h"

namespace payd::ledger::postgres {

class Connection;
class PostgresWriteStore;
class ReadClient;
template <typename T>
struct Read;

struct PostgresOptions {
  std::string url;                      // postgresql://user@host:port/database
  std::size_t batch_size_max = 512;     // submissions per transaction
  std::size_t queue_capacity = 16'384;  // queued submissions before 503 overloaded
  std::size_t readers_max = 8;          // pooled read connections, blocking and on the event loop each
  std::size_t reads_waiting_max = 1'024;  // event loop reads waiting for a connection; beyond: 503 overloaded
  int connect_timeout_s = 5;            // per connection attempt (libpq's minimum is 2)
  int statement_timeout_ms = 5'000;     // the server cancels longer statements (a batch fails, 503)
  std::int64_t reconnect_backoff_min_ms = 50;
  std::int64_t reconnect_backoff_max_ms = 2'000;
  // A submission run alone that still conflicts with another node is tried
  // this many times before it is answered 503 unavailable.
  int conflict_attempts_max = 4;
};
static_assert(512 <= 16'384, "the default queue must hold at least one full batch");
static_assert(50 <= 2'000, "the backoff must be able to grow");

class PostgresLedger final : public Ledger {
 public:
  PostgresLedger(PostgresOptions options, IdGenerator& ids, Clock& clock, Random& random,
                 metrics::Registry& registry);
  ~PostgresLedger() override;

  // Connects, applies migrations and starts the writer. A Problem
  // (internal_error) says why it could not; an unreachable server fails
  // within connect_timeout_s.
  Status open();

  // Runs the *_async reads on `scheduler`'s event loop with non-blocking
  // connections woken by `watcher`; both must stay valid until shutdown().
  // Call once, after open() and before the loop serves requests.
  void serve_reads_on(Scheduler& scheduler, DescriptorWatcher& watcher);

  void submit(Submission submission, std::function<void(Outcome)> done) override;

  Result<Account> account(const std::string& id) override;
  Result<List<Entry>> entries(const std::string& account, const Page& page) override;
  Result<Transfer> transfer(const std::string& id) override;
  Result<Merchant> merchant(const std::string& id) override;
  Result<PaymentMethod> payment_method(const std::string& id) override;
  Result<Payment> payment(const std::string& id) override;
  Result<FxRate> fx_rate(const std::string& base, const std::string& quote) override;
  Result<List<Payment>> payments(const std::string& merchant, const Page& page) override;
  Result<std::vector<TrialBalanceLine>> trial_balance() override;
  void account_async(const std::string& id, ReadDone<Account> done) override;
  void entries_async(const std::string& account, const Page& page, ReadDone<List<Entry>> done) override;
  void transfer_async(const std::string& id, ReadDone<Transfer> done) override;
  void merchant_async(const std::string& id, ReadDone<Merchant> done) override;
  void payment_method_async(const std::string& id, ReadDone<PaymentMethod> done) override;
  void payment_async(const std::string& id, ReadDone<Payment> done) override;
  void payments_async(const std::string& merchant, const Page& page, ReadDone<List<Payment>> done) override;
  void fx_rate_async(const std::string& base, const std::string& quote, ReadDone<FxRate> done) override;
  void trial_balance_async(ReadDone<std::vector<TrialBalanceLine>> done) override;
  Result<std::vector<Payment>> pending_card_payments(std::int64_t older_than_ms, int limit) override;
  Result<bool> has_idempotency_key(const std::string& key) override;
  void has_idempotency_key_async(const std::string& key, ReadDone<bool> done) override;
  Result<std::int64_t> purge_idempotency(std::int64_t created_before_ms) override;
  Stats stats() override;
  bool healthy() override;
  // Also disconnects the event loop's read connections.
  void shutdown() override;

 private:
  using Item = QueuedSubmission;
  class ReaderLease;

  // Runs `items` in one transaction (or answers them all 503 while the
  // database is unreachable); returns one outcome per item.
  std::vector<Outcome> commit_or_refuse(std::vector<Item>& items);
  std::vector<Outcome> commit_batch(std::vector<Item>& items);
  std::vector<Outcome> commit_each_alone(std::vector<Item>& items);
  // The writer's connection, reconnecting when the backoff allows; false
  // when there is none yet.
  bool writer_connected();
  void connect_writer();
  void lose_writer_connection();
  std::vector<Outcome> unavailable_outcomes(const std::vector<Item>& items, const std::string& detail);
  template <typename T, typename ReadFunction>
  Result<T> read(ReadFunction&& read_function);
  // `plan` on a blocking connection.
  template <typename T>
  Result<T> run_blocking(const Read<T>& plan);
  // `plan` on the event loop when there is one; else blocking, done at once.
  template <typename T>
  void run_async(Read<T> plan, ReadDone<T> done);

  PostgresOptions options_;
  IdGenerator& ids_;
  Clock& clock_;
  Random& random_;

  std::unique_ptr<Connection> writer_connection_;
  std::unique_ptr<PostgresWriteStore> store_;
  std::int64_t reconnect_backoff_ms_ = 0;
  std::int64_t reconnect_at_us_ = 0;
  std::string last_connection_error_;
  GroupCommitWriter writer_;
  std::atomic<bool> healthy_{true};

  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Connection>> readers_;
  std::unique_ptr<ReadClient> read_client_;  // set by serve_reads_on()

  metrics::Counter& rollbacks_;
};

}  // namespace payd::ledger::postgres
