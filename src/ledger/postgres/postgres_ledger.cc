#include "ledger/postgres/postgres_ledger.h"

#include <cassert>

#include "ledger/executor.h"
#include "ledger/postgres/connection.h"
#include "ledger/postgres/read_client.h"
#include "ledger/postgres/reads.h"
#include "ledger/postgres/rows.h"
#include "ledger/postgres/schema.h"
#include "ledger/postgres/write_store.h"
#include "ledger/rows.h"

namespace payd::ledger::postgres {
namespace {

Problem unavailable(const std::string& detail) { return retry_soon("unavailable", detail); }

}  // namespace

// A read connection borrowed from the pool for one read. A connection that
// failed is dropped rather than returned.
class PostgresLedger::ReaderLease {
 public:
  explicit ReaderLease(PostgresLedger& ledger) : ledger_(ledger) {
    {
      std::lock_guard lock(ledger_.readers_mutex_);
      if (!ledger_.readers_.empty()) {
        connection_ = std::move(ledger_.readers_.back());
        ledger_.readers_.pop_back();
      }
    }
    if (!connection_ || connection_->broken()) {
      connection_ = std::make_unique<Connection>(ledger_.options_.url, ledger_.options_.connect_timeout_s,
                                                 ledger_.options_.statement_timeout_ms);
      for (const ReadStatement& statement : read_statements()) connection_->prepare(statement.name, statement.sql);
    }
  }
  ~ReaderLease() {
    if (connection_->broken() || connection_->in_transaction()) return;
    std::lock_guard lock(ledger_.readers_mutex_);
    if (ledger_.readers_.size() < ledger_.options_.readers_max) ledger_.readers_.push_back(std::move(connection_));
  }
  Connection& connection() { return *connection_; }

 private:
  PostgresLedger& ledger_;
  std::unique_ptr<Connection> connection_;
};

PostgresLedger::PostgresLedger(PostgresOptions options, IdGenerator& ids, Clock& clock, Random& random,
                               metrics::Registry& registry)
    : options_(std::move(options)),
      ids_(ids),
      clock_(clock),
      random_(random),
      writer_(options_.batch_size_max, options_.queue_capacity, clock, registry),
      rollbacks_(registry.counter("payd_ledger_rollbacks_total", "Batches rolled back after a database error")) {
  assert(options_.batch_size_max >= 1);
  assert(options_.queue_capacity >= options_.batch_size_max);
  assert(options_.conflict_attempts_max >= 1);
}

PostgresLedger::~PostgresLedger() { shutdown(); }

Status PostgresLedger::open() {
  try {
    writer_connection_ = std::make_unique<Connection>(options_.url, options_.connect_timeout_s, options_.statement_timeout_ms);
    apply_migrations(*writer_connection_);
    store_ = std::make_unique<PostgresWriteStore>(*writer_connection_, ids_, clock_);
  } catch (const DatabaseError& error) {
    store_.reset();
    writer_connection_.reset();
    return make_problem("internal_error", std::string("cannot open the ledger: ") + error.what());
  }
  writer_.start([this](std::vector<Item>& batch) { return commit_or_refuse(batch); });
  return Ok{};
}

void PostgresLedger::serve_reads_on(Scheduler& scheduler, DescriptorWatcher& watcher) {
  assert(!read_client_);
  ReadClientOptions options;
  options.url = options_.url;
  options.connect_timeout_s = options_.connect_timeout_s;
  options.statement_timeout_ms = options_.statement_timeout_ms;
  options.connections_max = options_.readers_max;
  options.waiting_max = options_.reads_waiting_max;
  options.reconnect_backoff_base_ms = static_cast<int>(options_.reconnect_backoff_min_ms);
  options.reconnect_backoff_max_ms = static_cast<int>(options_.reconnect_backoff_max_ms);
  read_client_ = std::make_unique<ReadClient>(options, scheduler, watcher, random_);
}

void PostgresLedger::submit(Submission submission, std::function<void(Outcome)> done) {
  writer_.submit(std::move(submission), std::move(done));
}

std::vector<Outcome> PostgresLedger::commit_or_refuse(std::vector<Item>& items) {
  if (writer_connected()) return commit_batch(items);
  return unavailable_outcomes(items, "the ledger database is unreachable: " + last_connection_error_);
}

bool PostgresLedger::writer_connected() {
  if (writer_connection_ && !writer_connection_->broken()) return true;
  if (writer_connection_) lose_writer_connection();
  if (clock_.monotonic_us() < reconnect_at_us_) return false;
  try {
    connect_writer();
    reconnect_backoff_ms_ = 0;
    healthy_ = true;
    return true;
  } catch (const DatabaseError& error) {
    last_connection_error_ = error.what();
    lose_writer_connection();
    return false;
  }
}

void PostgresLedger::connect_writer() {
  writer_connection_ = std::make_unique<Connection>(options_.url, options_.connect_timeout_s, options_.statement_timeout_ms);
  store_ = std::make_unique<PostgresWriteStore>(*writer_connection_, ids_, clock_);
}

void PostgresLedger::lose_writer_connection() {
  // Exponential backoff with full jitter in its upper half, so nodes that
  // lost the server together do not come back in one storm.
  store_.reset();
  writer_connection_.reset();
  healthy_ = false;
  reconnect_backoff_ms_ = reconnect_backoff_ms_ == 0
                              ? options_.reconnect_backoff_min_ms
                              : std::min(reconnect_backoff_ms_ * 2, options_.reconnect_backoff_max_ms);
  auto half = static_cast<std::uint64_t>(reconnect_backoff_ms_ / 2);
  std::int64_t wait_ms = reconnect_backoff_ms_ - static_cast<std::int64_t>(random_.uniform(half + 1));
  reconnect_at_us_ = clock_.monotonic_us() + wait_ms * 1000;
}

std::vector<Outcome> PostgresLedger::unavailable_outcomes(const std::vector<Item>& items, const std::string& detail) {
  std::vector<Outcome> outcomes;
  outcomes.reserve(items.size());
  for (const Item& item : items) outcomes.push_back(problem_outcome(item.submission, unavailable(detail)));
  return outcomes;
}

std::vector<Outcome> PostgresLedger::commit_batch(std::vector<Item>& items) {
  std::vector<Outcome> outcomes;
  outcomes.reserve(items.size());
  Executor executor(*store_, ids_, clock_);
  try {
    std::vector<const Submission*> submissions;
    for (const Item& item : items) submissions.push_back(&item.submission);
    store_->begin_batch(submissions);
    for (Item& item : items) outcomes.push_back(executor.execute(item.submission));
    store_->flush_and_commit();
    store_->end_batch();
    healthy_ = true;
    return outcomes;
  } catch (const DatabaseError& error) {
    rollbacks_.add();
    store_->end_batch();
    if (error.kind() == DatabaseError::Kind::connection || writer_connection_->broken()) {
      lose_writer_connection();
      last_connection_error_ = error.what();
      return unavailable_outcomes(items, std::string("the ledger database failed: ") + error.what());
    }
    try {
      writer_connection_->execute("ROLLBACK");
    } catch (const DatabaseError&) {
      lose_writer_connection();  // the next batch reconnects
      return unavailable_outcomes(items, std::string("the ledger database failed: ") + error.what());
    }
    if (items.size() > 1) return commit_each_alone(items);
    Problem problem = error.kind() == DatabaseError::Kind::constraint
                          ? make_problem("internal_error", "the ledger refused a write; nothing was stored")
                          : unavailable(std::string("the ledger database failed: ") + error.what());
    return {problem_outcome(items.front().submission, problem)};
  }
}

std::vector<Outcome> PostgresLedger::commit_each_alone(std::vector<Item>& items) {
  std::vector<Outcome> outcomes;
  outcomes.reserve(items.size());
  for (Item& item : items) {
    std::vector<Item> single;
    single.push_back(std::move(item));
    // A conflict with another node is decided again against what it
    // committed; a lasting one is answered 503 (a retry is safe).
    Outcome outcome;
    for (int attempt = 1; attempt <= options_.conflict_attempts_max; ++attempt) {
      if (!writer_connected()) {
        outcome = unavailable_outcomes(single, "the ledger database is unreachable").front();
        break;
      }
      std::uint64_t rollbacks_before = rollbacks_.value();
      outcome = std::move(commit_batch(single).front());
      bool conflicted = rollbacks_.value() != rollbacks_before && outcome.reply.status == 503;
      if (!conflicted) break;
    }
    outcomes.push_back(std::move(outcome));
    item = std::move(single.front());
  }
  return outcomes;
}

template <typename T, typename ReadFunction>
Result<T> PostgresLedger::read(ReadFunction&& read_function) {
  try {
    ReaderLease lease(*this);
    return read_function(lease.connection());
  } catch (const DatabaseError& error) {
    return unavailable(std::string("the ledger database failed: ") + error.what());
  }
}

template <typename T>
Result<T> PostgresLedger::run_blocking(const Read<T>& plan) {
  return read<T>([&](Connection& c) -> Result<T> {
    std::vector<Rows> rows = c.run_pipeline(plan.statements);
    return plan.answer(rows);
  });
}

template <typename T>
void PostgresLedger::run_async(Read<T> plan, ReadDone<T> done) {
  if (!read_client_) return done(run_blocking(plan));
  read_client_->run(std::move(plan.statements),
                    [answer = std::move(plan.answer), done = std::move(done)](Result<std::vector<Rows>> rows) {
                      if (!rows.ok()) return done(rows.take_problem());
                      done(answer(rows.value()));
                    });
}

Result<Account> PostgresLedger::account(const std::string& id) { return run_blocking(account_read(id)); }

Result<List<Entry>> PostgresLedger::entries(const std::string& account, const Page& page) {
  return run_blocking(entries_read(account, page));
}

Result<Transfer> PostgresLedger::transfer(const std::string& id) { return run_blocking(transfer_read(id)); }

Result<Merchant> PostgresLedger::merchant(const std::string& id) { return run_blocking(merchant_read(id)); }

Result<FxRate> PostgresLedger::fx_rate(const std::string& base, const std::string& quote) {
  return run_blocking(fx_rate_read(base, quote));
}

Result<PaymentMethod> PostgresLedger::payment_method(const std::string& id) {
  return run_blocking(payment_method_read(id));
}

Result<Payment> PostgresLedger::payment(const std::string& id) { return run_blocking(payment_read(id)); }

Result<List<Payment>> PostgresLedger::payments(const std::string& merchant, const Page& page) {
  return run_blocking(payments_read(merchant, page));
}

void PostgresLedger::account_async(const std::string& id, ReadDone<Account> done) {
  run_async(account_read(id), std::move(done));
}

void PostgresLedger::entries_async(const std::string& account, const Page& page, ReadDone<List<Entry>> done) {
  run_async(entries_read(account, page), std::move(done));
}

void PostgresLedger::transfer_async(const std::string& id, ReadDone<Transfer> done) {
  run_async(transfer_read(id), std::move(done));
}

void PostgresLedger::merchant_async(const std::string& id, ReadDone<Merchant> done) {
  run_async(merchant_read(id), std::move(done));
}

void PostgresLedger::payment_method_async(const std::string& id, ReadDone<PaymentMethod> done) {
  run_async(payment_method_read(id), std::move(done));
}

void PostgresLedger::fx_rate_async(const std::string& base, const std::string& quote, ReadDone<FxRate> done) {
  run_async(fx_rate_read(base, quote), std::move(done));
}

void PostgresLedger::payment_async(const std::string& id, ReadDone<Payment> done) {
  run_async(payment_read(id), std::move(done));
}

void PostgresLedger::payments_async(const std::string& merchant, const Page& page, ReadDone<List<Payment>> done) {
  run_async(payments_read(merchant, page), std::move(done));
}

Result<std::vector<TrialBalanceLine>> PostgresLedger::trial_balance() { return run_blocking(trial_balance_read()); }

void PostgresLedger::trial_balance_async(ReadDone<std::vector<TrialBalanceLine>> done) {
  run_async(trial_balance_read(), std::move(done));
}

Result<std::vector<Payment>> PostgresLedger::pending_card_payments(std::int64_t older_than_ms, int limit) {
  return read<std::vector<Payment>>([&](Connection& c) -> Result<std::vector<Payment>> {
    Rows rows = c.query(std::string("SELECT ") + payment_columns +
                            " FROM payments WHERE status = 'pending' AND updated_at <= $1 ORDER BY updated_at LIMIT $2",
                        Parameters().add(clock_.now_ms() - older_than_ms).add(std::int64_t{limit}));
    std::vector<Payment> payments;
    for (int row = 0; row < rows.size(); ++row) payments.push_back(read_payment(rows, row));
    return payments;
  });
}

Result<bool> PostgresLedger::has_idempotency_key(const std::string& key) {
  return run_blocking(idempotency_key_read(key));
}

void PostgresLedger::has_idempotency_key_async(const std::string& key, ReadDone<bool> done) {
  run_async(idempotency_key_read(key), std::move(done));
}

Result<std::int64_t> PostgresLedger::purge_idempotency(std::int64_t created_before_ms) {
  // Small transactions, so the writer never waits long behind the purge.
  return read<std::int64_t>([&](Connection& c) -> Result<std::int64_t> {
    constexpr std::int64_t purge_batch_size_max = 1000;
    std::int64_t purged = 0;
    for (;;) {
      Rows deleted = c.query("DELETE FROM idempotency_keys WHERE key IN (SELECT key FROM idempotency_keys WHERE "
                             "created_at < $1 LIMIT $2)",
                             Parameters().add(created_before_ms).add(purge_batch_size_max));
      purged += deleted.changed();
      if (deleted.changed() < purge_batch_size_max) return purged;
    }
  });
}

Ledger::Stats PostgresLedger::stats() { return writer_.stats(); }

bool PostgresLedger::healthy() { return healthy_; }

void PostgresLedger::shutdown() {
  writer_.shutdown();
  if (read_client_) read_client_->close();
}

}  // namespace payd::ledger::postgres
