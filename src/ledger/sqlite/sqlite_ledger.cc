#include "ledger/sqlite/sqlite_ledger.h"

#include <cassert>
#include <chrono>
#include <future>

#include "ledger/executor.h"
#include "ledger/sqlite/database.h"
#include "ledger/sqlite/rows.h"
#include "ledger/sqlite/schema.h"
#include "ledger/sqlite/write_store.h"

namespace payd::ledger::sqlite {
namespace {

Outcome problem_outcome(const Submission& submission, Problem problem) {
  unsigned status = problem.status();
  return Outcome{Outcome::Kind::executed, Reply{status, render_problem(problem, submission.request_id)}, {}};
}

Problem unavailable(const std::string& detail) { return make_problem("unavailable", detail); }

}  // namespace

// A read-only connection borrowed from the pool for one read.
class SqliteLedger::ReaderLease {
 public:
  explicit ReaderLease(SqliteLedger& ledger) : ledger_(ledger) {
    {
      std::lock_guard lock(ledger_.readers_mutex_);
      if (!ledger_.readers_.empty()) {
        connection_ = std::move(ledger_.readers_.back());
        ledger_.readers_.pop_back();
      }
    }
    if (!connection_) {
      connection_ = std::make_unique<Connection>(ledger_.options_.path, true);
      prepare_reader(*connection_);
    }
  }
  ~ReaderLease() {
    std::lock_guard lock(ledger_.readers_mutex_);
    if (ledger_.readers_.size() < ledger_.options_.readers_max) ledger_.readers_.push_back(std::move(connection_));
  }
  Connection& connection() { return *connection_; }

 private:
  SqliteLedger& ledger_;
  std::unique_ptr<Connection> connection_;
};

SqliteLedger::SqliteLedger(SqliteOptions options, IdGenerator& ids, Clock& clock, metrics::Registry& registry)
    : options_(std::move(options)),
      ids_(ids),
      clock_(clock),
      batch_size_(registry.histogram("payd_ledger_batch_size", "Submissions committed per ledger transaction",
                                     metrics::size_buckets())),
      commit_seconds_(registry.histogram("payd_ledger_commit_seconds", "Time to execute and commit one batch",
                                         metrics::latency_buckets_s())),
      queue_depth_(registry.gauge("payd_ledger_queue_depth", "Submissions waiting for the ledger writer")),
      commands_(registry.counter("payd_ledger_commands_total", "Submissions executed by the ledger writer")),
      batches_(registry.counter("payd_ledger_batches_total", "Transactions committed by the ledger writer")),
      rollbacks_(registry.counter("payd_ledger_rollbacks_total", "Batches rolled back after a database error")),
      replays_(registry.counter("payd_idempotent_replays_total", "Requests answered from a stored outcome")),
      conflicts_(registry.counter("payd_idempotency_conflicts_total",
                                  "Requests refused because their key was used with another request",
                                  {{"code", "idempotency_key_reused"}})) {
  assert(options_.batch_size_max >= 1);
  assert(options_.queue_capacity >= options_.batch_size_max);
}

SqliteLedger::~SqliteLedger() { shutdown(); }

Status SqliteLedger::open() {
  try {
    writer_connection_ = std::make_unique<Connection>(options_.path, false);
    prepare_database(*writer_connection_);
    store_ = std::make_unique<SqliteWriteStore>(*writer_connection_, ids_, clock_);
  } catch (const DatabaseError& error) {
    return make_problem("internal_error", std::string("cannot open the ledger: ") + error.what());
  }
  writer_ = std::thread([this] { writer_loop(); });
  checkpointer_ = std::thread([this] { checkpoint_loop(); });
  return Ok{};
}

void SqliteLedger::submit(Submission submission, std::function<void(Outcome)> done) {
  {
    std::lock_guard lock(queue_mutex_);
    if (!stopping_ && queue_.size() < options_.queue_capacity) {
      queue_.push_back(Item{std::move(submission), std::move(done)});
      queue_depth_.set(static_cast<std::int64_t>(queue_.size()));
      if (queue_.size() == 1) queue_ready_.notify_one();
      return;
    }
  }
  Problem problem = make_problem("overloaded", "the ledger queue is full");
  problem.retry_after_s = 1;
  done(problem_outcome(submission, problem));
}

void SqliteLedger::writer_loop() {
  std::vector<Item> batch;
  batch.reserve(options_.batch_size_max);
  for (;;) {
    bool idle = false;
    {
      std::unique_lock lock(queue_mutex_);
      queue_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      while (!queue_.empty() && batch.size() < options_.batch_size_max) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queue_depth_.set(static_cast<std::int64_t>(queue_.size()));
      idle = queue_.empty();
    }
    std::int64_t start_us = clock_.monotonic_us();
    std::vector<Outcome> outcomes = commit_batch(batch, idle);
    commit_seconds_.observe(static_cast<double>(clock_.monotonic_us() - start_us) / 1e6);
    batch_size_.observe(static_cast<double>(batch.size()));
    batches_.add();
    commands_.add(batch.size());
    assert(outcomes.size() == batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (outcomes[i].kind == Outcome::Kind::replayed) replays_.add();
      if (outcomes[i].reply.status == 422) conflicts_.add();
      batch[i].done(std::move(outcomes[i]));
    }
    batch.clear();
  }
}

void SqliteLedger::checkpoint_loop() {
  std::unique_ptr<Connection> connection;
  std::unique_lock lock(queue_mutex_);
  while (!stopping_) {
    checkpointer_wake_.wait_for(lock, std::chrono::milliseconds(options_.checkpoint_interval_ms));
    lock.unlock();
    try {
      if (!connection) {
        connection = std::make_unique<Connection>(options_.path, false);
        // A connection that has not read the database yet has not opened
        // its WAL, and its checkpoints do nothing: read once first.
        connection->execute("SELECT count(*) FROM schema_migrations");
      }
      Connection::CheckpointResult result = connection->checkpoint(false);
      if (result.wal_frames >= options_.wal_frames_restart_min) connection->checkpoint(true);
    } catch (const DatabaseError&) {
      connection.reset();  // try again with a new connection next time
    }
    lock.lock();
  }
}

std::vector<Outcome> SqliteLedger::commit_batch(std::vector<Item>& items, bool idle) {
  std::vector<Outcome> outcomes;
  outcomes.reserve(items.size());
  Executor executor(*store_, ids_, clock_);
  try {
    writer_connection_->execute("BEGIN IMMEDIATE");
    for (Item& item : items) outcomes.push_back(executor.execute(item.submission));
    store_->flush();
    if ((idle && options_.index_when_idle) || store_->unindexed_entries() >= options_.unindexed_entries_max) {
      store_->index_entries();
    }
    writer_connection_->execute("COMMIT");
    healthy_ = true;
    return outcomes;
  } catch (const DatabaseError& error) {
    rollbacks_.add();
    try {
      writer_connection_->execute("ROLLBACK");
    } catch (const DatabaseError&) {
      // The transaction is already gone (SQLite rolls back on some errors).
    }
    store_->discard_cached_state();
    if (items.size() > 1) return commit_each_alone(items);
    outcomes.clear();
    Problem problem = error.is_constraint()
                          ? make_problem("internal_error", "the ledger refused a write; nothing was stored")
                          : unavailable(std::string("the ledger database failed: ") + error.what());
    healthy_ = error.is_constraint();
    outcomes.push_back(problem_outcome(items.front().submission, problem));
    return outcomes;
  }
}

std::vector<Outcome> SqliteLedger::commit_each_alone(std::vector<Item>& items) {
  std::vector<Outcome> outcomes;
  outcomes.reserve(items.size());
  for (Item& item : items) {
    std::vector<Item> single;
    single.push_back(std::move(item));
    outcomes.push_back(std::move(commit_batch(single, false).front()));
    item = std::move(single.front());
  }
  return outcomes;
}

template <typename T, typename Read>
Result<T> SqliteLedger::read(Read&& read_function) {
  try {
    ReaderLease lease(*this);
    return read_function(lease.connection());
  } catch (const DatabaseError& error) {
    return unavailable(std::string("the ledger database failed: ") + error.what());
  }
}

Result<Account> SqliteLedger::account(const std::string& id) {
  return read<Account>([&](Connection& c) -> Result<Account> {
    Statement select(c, std::string("SELECT ") + account_columns + " FROM accounts WHERE id = ?");
    select.bind(1, id);
    if (!select.step()) return not_found("no account " + id);
    return read_account(select);
  });
}

Result<List<Entry>> SqliteLedger::entries(const std::string& account, const Page& page) {
  return read<List<Entry>>([&](Connection& c) -> Result<List<Entry>> {
    Statement exists(c, "SELECT 1 FROM accounts WHERE id = ?");
    exists.bind(1, account);
    if (!exists.step()) return not_found("no account " + account);
    std::int64_t before_sequence = INT64_MAX;
    if (!page.starting_after.empty()) {
      std::optional<std::int64_t> number = entry_number(page.starting_after);
      Statement cursor(c, "SELECT sequence FROM entries WHERE number = ? AND account = ?");
      cursor.bind(1, number.value_or(0)).bind(2, account);
      if (!number || !cursor.step()) {
        return invalid_request("no entry " + page.starting_after + " in this list", "starting_after");
      }
      before_sequence = cursor.integer(0);
    }
    // One statement, so both parts read the same snapshot: the indexed
    // entries, and those appended since the index was last brought up to date.
    std::string columns = entry_columns;
    Statement select(c, "SELECT " + columns + " FROM entries WHERE number > (SELECT value FROM ledger_state WHERE "
                        "name = 'entries_indexed_through') AND account = ?1 AND sequence < ?2 UNION ALL SELECT " +
                        columns + " FROM entries WHERE number IN (SELECT number FROM entries_by_account WHERE "
                        "account = ?1 AND sequence < ?2 ORDER BY sequence DESC LIMIT ?3) ORDER BY 7 DESC LIMIT ?3");
    select.bind(1, account).bind(2, before_sequence).bind(3, std::int64_t{page.limit} + 1);
    List<Entry> list;
    while (select.step()) list.data.push_back(read_entry(select));
    list.has_more = list.data.size() > static_cast<std::size_t>(page.limit);
    if (list.has_more) list.data.pop_back();
    return list;
  });
}

Result<Transfer> SqliteLedger::transfer(const std::string& id) {
  return read<Transfer>([&](Connection& c) -> Result<Transfer> {
    Statement select(c, std::string("SELECT ") + journal_columns + " FROM journal WHERE id = ? AND kind = 'transfer'");
    select.bind(1, id);
    if (!select.step()) return not_found("no transfer " + id);
    return read_transfer(select);
  });
}

Result<Merchant> SqliteLedger::merchant(const std::string& id) {
  return read<Merchant>([&](Connection& c) -> Result<Merchant> {
    Statement select(c, std::string("SELECT ") + merchant_columns + " FROM merchants WHERE id = ?");
    select.bind(1, id);
    if (!select.step()) return not_found("no merchant " + id);
    return read_merchant(select);
  });
}

Result<PaymentMethod> SqliteLedger::payment_method(const std::string& id) {
  return read<PaymentMethod>([&](Connection& c) -> Result<PaymentMethod> {
    Statement select(c, std::string("SELECT ") + payment_method_columns + " FROM payment_methods WHERE id = ?");
    select.bind(1, id);
    if (!select.step()) return not_found("no payment method " + id);
    return read_payment_method(select);
  });
}

Result<Payment> SqliteLedger::payment(const std::string& id) {
  return read<Payment>([&](Connection& c) -> Result<Payment> {
    Statement select(c, std::string("SELECT ") + payment_columns + " FROM payments WHERE id = ?");
    select.bind(1, id);
    if (!select.step()) return not_found("no payment " + id);
    return read_payment(select);
  });
}

Result<List<Payment>> SqliteLedger::payments(const std::string& merchant, const Page& page) {
  return read<List<Payment>>([&](Connection& c) -> Result<List<Payment>> {
    Statement exists(c, "SELECT 1 FROM merchants WHERE id = ?");
    exists.bind(1, merchant);
    if (!exists.step()) return invalid_request("no merchant " + merchant, "merchant");
    std::string before = page.starting_after.empty() ? std::string("~") : page.starting_after;
    Statement select(c, std::string("SELECT ") + payment_columns +
                            " FROM payments WHERE merchant = ? AND id < ? ORDER BY id DESC LIMIT ?");
    select.bind(1, merchant).bind(2, before).bind(3, std::int64_t{page.limit} + 1);
    List<Payment> list;
    while (select.step()) list.data.push_back(read_payment(select));
    list.has_more = list.data.size() > static_cast<std::size_t>(page.limit);
    if (list.has_more) list.data.pop_back();
    return list;
  });
}

Result<std::vector<TrialBalanceLine>> SqliteLedger::trial_balance() {
  return read<std::vector<TrialBalanceLine>>([&](Connection& c) -> Result<std::vector<TrialBalanceLine>> {
    Statement sums(c, "SELECT currency, sum(balance) FROM accounts GROUP BY currency ORDER BY currency");
    std::vector<TrialBalanceLine> lines;
    while (sums.step()) lines.push_back(TrialBalanceLine{sums.text(0), sums.integer(1), {}});
    Statement system(c, std::string("SELECT ") + account_columns +
                            " FROM accounts WHERE role IS NOT NULL ORDER BY currency, role");
    while (system.step()) {
      Account account = read_account(system);
      for (auto& line : lines) {
        if (line.currency == account.currency) line.system_accounts.push_back(account);
      }
    }
    return lines;
  });
}

Result<std::vector<Payment>> SqliteLedger::pending_card_payments(std::int64_t older_than_ms, int limit) {
  return read<std::vector<Payment>>([&](Connection& c) -> Result<std::vector<Payment>> {
    Statement select(c, std::string("SELECT ") + payment_columns +
                            " FROM payments WHERE status = 'pending' AND updated_at <= ? ORDER BY updated_at LIMIT ?");
    select.bind(1, clock_.now_ms() - older_than_ms).bind(2, std::int64_t{limit});
    std::vector<Payment> payments;
    while (select.step()) payments.push_back(read_payment(select));
    return payments;
  });
}

Result<bool> SqliteLedger::has_idempotency_key(const std::string& key) {
  return read<bool>([&](Connection& c) -> Result<bool> {
    Statement select(c, "SELECT 1 FROM idempotency_keys WHERE key = ?");
    select.bind(1, key);
    return select.step();
  });
}

Result<std::int64_t> SqliteLedger::purge_idempotency(std::int64_t created_before_ms) {
  // The delete runs on its own connection in small transactions; the busy
  // timeout makes it wait its turn behind the writer's batches.
  try {
    Connection connection(options_.path, false);
    std::int64_t purged = 0;
    for (;;) {
      connection.execute("DELETE FROM idempotency_keys WHERE key IN (SELECT key FROM idempotency_keys WHERE "
                         "created_at < " + std::to_string(created_before_ms) + " LIMIT 1000)");
      std::int64_t changed = connection.changes();
      purged += changed;
      if (changed < 1000) return purged;
    }
  } catch (const DatabaseError& error) {
    return unavailable(std::string("purging idempotency keys failed: ") + error.what());
  }
}

Ledger::Stats SqliteLedger::stats() {
  Stats stats;
  {
    std::lock_guard lock(queue_mutex_);
    stats.queue_depth = static_cast<std::int64_t>(queue_.size());
  }
  stats.queue_capacity = static_cast<std::int64_t>(options_.queue_capacity);
  stats.batches = static_cast<std::int64_t>(batches_.value());
  stats.commands = static_cast<std::int64_t>(commands_.value());
  stats.batch_size_max = static_cast<std::int64_t>(options_.batch_size_max);
  return stats;
}

bool SqliteLedger::healthy() { return healthy_; }

void SqliteLedger::shutdown() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_ready_.notify_all();
  checkpointer_wake_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (checkpointer_.joinable()) checkpointer_.join();
}

}  // namespace payd::ledger::sqlite
