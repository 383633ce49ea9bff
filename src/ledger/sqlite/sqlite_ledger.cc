#include "ledger/sqlite/sqlite_ledger.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>

#include "core/thread_name.h"
#include "ledger/executor.h"
#include "ledger/sqlite/database.h"
#include "ledger/sqlite/paced_sync.h"
#include "ledger/rows.h"
#include "ledger/sqlite/schema.h"
#include "ledger/sqlite/write_store.h"

namespace payd::ledger::sqlite {
namespace {

Problem unavailable(const std::string& detail) { return make_problem("unavailable", detail); }

// Before the writer starts the WAL over, the checkpointer copies and syncs
// in rounds until a round finds at most this many frames appended (about
// 6 ms of writes at 10,000 transfers/s), or gives up after
// restart_rounds_max rounds and leaves the writer the rest.
constexpr int restart_frames_left = 128;
constexpr int restart_rounds_max = 8;

// The reads' SQL, built once (each connection prepares a statement the
// first time it runs it, see Connection::prepared).
struct ReadSql {
  std::string account_exists = "SELECT 1 FROM accounts WHERE id = ?";
  std::string entry_cursor = "SELECT sequence FROM entries WHERE number = ? AND account = ?";
  std::string merchant_exists = "SELECT 1 FROM merchants WHERE id = ?";
  std::string balance_sums = "SELECT currency, sum(balance) FROM accounts GROUP BY currency ORDER BY currency";
  std::string key_exists = "SELECT 1 FROM idempotency_keys WHERE key = ?";
  std::string account = std::string("SELECT ") + account_columns + " FROM accounts WHERE id = ?";
  std::string transfer = std::string("SELECT ") + journal_columns + " FROM journal WHERE id = ? AND kind = 'transfer'";
  std::string merchant = std::string("SELECT ") + merchant_columns + " FROM merchants WHERE id = ?";
  std::string payment_method = std::string("SELECT ") + payment_method_columns + " FROM payment_methods WHERE id = ?";
  std::string payment = std::string("SELECT ") + payment_columns + " FROM payments WHERE id = ?";
  std::string fx_rate = std::string("SELECT ") + fx_rate_columns + " FROM fx_rates WHERE base = ? AND quote = ?";
  // One statement, so both parts read the same snapshot: the indexed
  // entries, and those the index does not hold yet (appended since the
  // index was last brought up to date, less what the run under way added).
  std::string entries_page =
      std::string("SELECT ") + entry_columns + " FROM entries WHERE number > (SELECT value FROM ledger_state WHERE "
      "name = 'entries_indexed_through') AND account = ?1 AND sequence < ?2 AND NOT (number <= (SELECT through FROM "
      "index_run) AND (account, sequence) <= (SELECT account, sequence FROM index_run)) UNION ALL SELECT " +
      entry_columns + " FROM entries WHERE number IN (SELECT number FROM entries_by_account WHERE account = ?1 AND "
      "sequence < ?2 ORDER BY sequence DESC LIMIT ?3) ORDER BY 7 DESC LIMIT ?3";
  std::string payments_page = std::string("SELECT ") + payment_columns +
                              " FROM payments WHERE merchant = ? AND id < ? ORDER BY id DESC LIMIT ?";
  std::string system_accounts = std::string("SELECT ") + account_columns +
                                " FROM accounts WHERE role IS NOT NULL ORDER BY currency, role";
  std::string pending_payments = std::string("SELECT ") + payment_columns +
                                 " FROM payments WHERE status = 'pending' AND updated_at <= ? ORDER BY updated_at "
                                 "LIMIT ?";
};

const ReadSql& read_sql() {
  static const ReadSql sql;
  return sql;
}

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
      writer_(options_.batch_size_max, options_.queue_capacity, clock, registry),
      rollbacks_(registry.counter("payd_ledger_rollbacks_total", "Batches rolled back after a database error")) {
  assert(options_.batch_size_max >= 1);
  assert(options_.index_rows_per_entry >= 0 && options_.index_slice_rows_min >= 1);
  assert(options_.queue_capacity >= options_.batch_size_max);
}

SqliteLedger::~SqliteLedger() { shutdown(); }

Status SqliteLedger::open() {
  try {
    writer_connection_ = std::make_unique<Connection>(options_.path, false);
    prepare_database(*writer_connection_);
    store_ = std::make_unique<SqliteWriteStore>(*writer_connection_, ids_, clock_);
    if (options_.pipelined_sync) {
      // NORMAL: commits do not sync the WAL (sync_wal() does), checkpoints
      // still sync it before copying and the database file after.
      writer_connection_->execute("PRAGMA synchronous=NORMAL");
      std::string wal = options_.path + "-wal";
      wal_fd_ = ::open(wal.c_str(), O_RDWR | O_CLOEXEC);
      if (wal_fd_ < 0) {
        return make_problem("internal_error", "cannot open the ledger's WAL " + wal + ": " + std::strerror(errno));
      }
    }
  } catch (const DatabaseError& error) {
    return make_problem("internal_error", std::string("cannot open the ledger: ") + error.what());
  }
  GroupCommitWriter::MakeDurable make_durable;
  if (options_.pipelined_sync) make_durable = [this] { return sync_wal(); };
  GroupCommitWriter::IdleWork idle_work;
  if (options_.index_when_idle) idle_work = [this] { index_when_idle(); };
  writer_.start([this](std::vector<Item>& batch) { return commit_batch(batch, true); }, std::move(idle_work),
                std::chrono::milliseconds(options_.index_idle_after_ms), std::move(make_durable),
                CommitWindow{std::chrono::microseconds(options_.commit_window_us)});
  checkpointer_ = std::thread([this] { checkpoint_loop(); });
  return Ok{};
}

void SqliteLedger::submit(Submission submission, std::function<void(Outcome)> done) {
  writer_.submit(std::move(submission), std::move(done));
}

void SqliteLedger::checkpoint_loop() {
  name_this_thread("ledger-ckpt");
  std::unique_ptr<Connection> connection;
  // The database file, to sync it before the writer starts the WAL over.
  int database_fd = ::open(options_.path.c_str(), O_RDONLY | O_CLOEXEC);
  while (writer_.wait_unless_stopping(std::chrono::milliseconds(options_.checkpoint_interval_ms))) {
    try {
      if (!connection) {
        // When its checkpoint passes sync the database file (after a pass
        // that copied the whole WAL), they write it back a range at a time
        // first (paced_sync.h); so do the restart rounds below.
        connection = std::make_unique<Connection>(options_.path, false, paced_sync_vfs());
        // A connection that has not read the database yet has not opened
        // its WAL, and its checkpoints do nothing: read once first.
        connection->execute("SELECT count(*) FROM schema_migrations");
      }
      Connection::CheckpointResult result = connection->checkpoint(false);
      if (result.wal_frames >= options_.wal_frames_restart_min && !wal_restart_due_) {
        // The writer starts the WAL over with a checkpoint of its own, which
        // copies what is left of the WAL and syncs the database file while
        // submissions wait. Leave it little of both: sync the database
        // file, copy what the writer appended meanwhile, and again, until a
        // round finds little new. Each round has less to sync than the one
        // before, so less is appended during it. At 10,000 transfers/s the
        // writer's restarts took 3.1 ms at the median (1.9 to 11.1) this
        // way, against 8.7 ms (3.8 to 15.4) after two passes and one sync.
        int copied_through = result.wal_frames;
        auto sync_database = [database_fd] {
          if (database_fd < 0) return;
          write_back_paced(database_fd);  // a failure leaves the pages to fdatasync
          ::fdatasync(database_fd);
        };
        for (int round = 0; round < restart_rounds_max; ++round) {
          sync_database();
          Connection::CheckpointResult pass = connection->checkpoint(false);
          int appended = pass.wal_frames - copied_through;
          copied_through = pass.wal_frames;
          if (appended <= restart_frames_left) break;
        }
        sync_database();
        wal_restart_due_ = true;
      }
    } catch (const DatabaseError&) {
      connection.reset();  // try again with a new connection next time
    }
  }
  if (database_fd >= 0) ::close(database_fd);
}

bool SqliteLedger::sync_wal() {
  if (!sync_failed_ && ::fdatasync(wal_fd_) != 0) sync_failed_ = true;
  return !sync_failed_;
}

void SqliteLedger::restart_wal() {
  // The checkpointer has copied all but the last few milliseconds of the
  // WAL; this copies the rest (and syncs the database file), and once
  // nothing is left the next write starts the WAL again from its beginning.
  // A reader still on old frames, or the checkpointer busy, leaves frames
  // behind: try again after the next commit.
  Connection::CheckpointResult result = writer_connection_->checkpoint(false);
  if (result.checkpointed_frames < result.wal_frames) wal_restart_due_ = true;
}

void SqliteLedger::index_when_idle() {
  if (store_->unindexed_entries() == 0) return;
  try {
    writer_connection_->execute("BEGIN IMMEDIATE");
    store_->index_entries();
    writer_connection_->execute("COMMIT");
  } catch (const DatabaseError&) {
    rollbacks_.add();
    try {
      writer_connection_->execute("ROLLBACK");
    } catch (const DatabaseError&) {
      // The transaction is already gone.
    }
    store_->discard_cached_state();
  }
}

std::vector<Outcome> SqliteLedger::commit_batch(std::vector<Item>& items, bool extend) {
  std::vector<Outcome> outcomes;
  outcomes.reserve(items.size());
  Executor executor(*store_, ids_, clock_);
  try {
    if (wal_restart_due_.exchange(false)) restart_wal();
    writer_connection_->execute("BEGIN IMMEDIATE");
    const std::int64_t unindexed_before = store_->unindexed_entries();
    std::size_t executed = 0;
    do {
      for (; executed < items.size(); ++executed) outcomes.push_back(executor.execute(items[executed].submission));
    } while (extend && writer_.take_more(items) > 0);
    store_->flush();
    if (!store_->index_run_active() && store_->unindexed_entries() >= options_.unindexed_entries_max) {
      store_->start_index_run();
    }
    std::int64_t posted = store_->unindexed_entries() - unindexed_before;
    store_->index_slice(std::max(options_.index_slice_rows_min, options_.index_rows_per_entry * posted));
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

template <typename T>
Result<T> SqliteLedger::read_one(const std::string& sql, std::initializer_list<std::string_view> keys,
                                 T (*reader)(const Statement&), std::string_view noun) {
  return read<T>([&](Connection& c) -> Result<T> {
    Statement& select = c.prepared(sql);
    ResetOnExit reset_select(select);
    int position = 0;
    for (std::string_view key : keys) select.bind(++position, key);
    if (select.step()) return reader(select);
    std::string missing = "no " + std::string(noun) + " ";
    for (std::string_view key : keys) {
      if (missing.back() != ' ') missing += '/';
      missing += key;
    }
    return not_found(missing);
  });
}

Result<Account> SqliteLedger::account(const std::string& id) {
  return read_one<Account>(read_sql().account, {id}, read_account<Statement>, "account");
}

Result<List<Entry>> SqliteLedger::entries(const std::string& account, const Page& page) {
  return read<List<Entry>>([&](Connection& c) -> Result<List<Entry>> {
    Statement& exists = c.prepared(read_sql().account_exists);
    ResetOnExit reset_exists(exists);
    exists.bind(1, account);
    if (!exists.step()) return not_found("no account " + account);
    std::int64_t before_sequence = INT64_MAX;
    if (!page.starting_after.empty()) {
      std::optional<std::int64_t> number = entry_number(page.starting_after);
      Statement& cursor = c.prepared(read_sql().entry_cursor);
      ResetOnExit reset_cursor(cursor);
      cursor.bind(1, number.value_or(0)).bind(2, account);
      if (!number || !cursor.step()) {
        return invalid_request("no entry " + page.starting_after + " in this list", "starting_after");
      }
      before_sequence = cursor.integer(0);
    }
    Statement& select = c.prepared(read_sql().entries_page);
    ResetOnExit reset_select(select);
    select.bind(1, account).bind(2, before_sequence).bind(3, std::int64_t{page.limit} + 1);
    std::vector<Entry> found;
    while (select.step()) found.push_back(read_entry(select));
    return page_of(std::move(found), page.limit);
  });
}

Result<Transfer> SqliteLedger::transfer(const std::string& id) {
  return read_one<Transfer>(read_sql().transfer, {id}, read_transfer<Statement>, "transfer");
}

Result<Merchant> SqliteLedger::merchant(const std::string& id) {
  return read_one<Merchant>(read_sql().merchant, {id}, read_merchant<Statement>, "merchant");
}

Result<PaymentMethod> SqliteLedger::payment_method(const std::string& id) {
  return read_one<PaymentMethod>(read_sql().payment_method, {id}, read_payment_method<Statement>, "payment method");
}

Result<Payment> SqliteLedger::payment(const std::string& id) {
  return read_one<Payment>(read_sql().payment, {id}, read_payment<Statement>, "payment");
}

Result<FxRate> SqliteLedger::fx_rate(const std::string& base, const std::string& quote) {
  return read_one<FxRate>(read_sql().fx_rate, {base, quote}, read_fx_rate<Statement>, "FX rate");
}

Result<List<Payment>> SqliteLedger::payments(const std::string& merchant, const Page& page) {
  return read<List<Payment>>([&](Connection& c) -> Result<List<Payment>> {
    Statement& exists = c.prepared(read_sql().merchant_exists);
    ResetOnExit reset_exists(exists);
    exists.bind(1, merchant);
    if (!exists.step()) return invalid_request("no merchant " + merchant, "merchant");
    std::string before = page.starting_after.empty() ? std::string("~") : page.starting_after;
    Statement& select = c.prepared(read_sql().payments_page);
    ResetOnExit reset_select(select);
    select.bind(1, merchant).bind(2, before).bind(3, std::int64_t{page.limit} + 1);
    std::vector<Payment> found;
    while (select.step()) found.push_back(read_payment(select));
    return page_of(std::move(found), page.limit);
  });
}

Result<std::vector<TrialBalanceLine>> SqliteLedger::trial_balance() {
  return read<std::vector<TrialBalanceLine>>([&](Connection& c) -> Result<std::vector<TrialBalanceLine>> {
    Statement& sums = c.prepared(read_sql().balance_sums);
    ResetOnExit reset_sums(sums);
    std::vector<TrialBalanceLine> lines;
    while (sums.step()) lines.push_back(TrialBalanceLine{sums.text(0), sums.integer(1), {}});
    Statement& system = c.prepared(read_sql().system_accounts);
    ResetOnExit reset_system(system);
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
    Statement& select = c.prepared(read_sql().pending_payments);
    ResetOnExit reset_select(select);
    select.bind(1, clock_.now_ms() - older_than_ms).bind(2, std::int64_t{limit});
    std::vector<Payment> payments;
    while (select.step()) payments.push_back(read_payment(select));
    return payments;
  });
}

Result<bool> SqliteLedger::has_idempotency_key(const std::string& key) {
  return read<bool>([&](Connection& c) -> Result<bool> {
    Statement& select = c.prepared(read_sql().key_exists);
    ResetOnExit reset_select(select);
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
      connection.execute("DELETE FROM idempotency_keys WHERE number IN (SELECT number FROM idempotency_keys WHERE "
                         "created_at < " + std::to_string(created_before_ms) + " LIMIT 1000)");
      std::int64_t changed = connection.changes();
      purged += changed;
      if (changed < 1000) return purged;
    }
  } catch (const DatabaseError& error) {
    return unavailable(std::string("purging idempotency keys failed: ") + error.what());
  }
}

Ledger::Stats SqliteLedger::stats() { return writer_.stats(); }

bool SqliteLedger::healthy() { return healthy_ && !sync_failed_; }

void SqliteLedger::shutdown() {
  writer_.shutdown();
  if (checkpointer_.joinable()) checkpointer_.join();
  if (wal_fd_ >= 0) ::close(wal_fd_);
  wal_fd_ = -1;
}

}  // namespace payd::ledger::sqlite
