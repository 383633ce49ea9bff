// Why the schema looks the way it does:
// - Entries are stored in posting order (`number`, which their id encodes),
//   so a batch appends to the end of one B-tree instead of dirtying one page
//   per touched account. The per-account index `entries_by_account` is
//   derived data: the writer fills it in sorted runs, a slice per batch (see
//   write_store.h), and readers look at the few entries it does not hold yet
//   directly (after `entries_indexed_through`, less the part of the run
//   under way that `index_run` says is done).
//   Triggers refuse UPDATE and DELETE on entries: corrections are new entries.
// - The balance row (balance, held, version) is a narrow table of its own,
//   so the pages a batch rewrites for its touched accounts are few; it is
//   written in the same transaction as the entries, and payctl verify checks
//   it equals the sum of the entries. The view `accounts` joins the two.
// - Idempotency outcomes are rows in the same database, written in the same
//   transaction as the effects they describe. The rows are appended in the
//   order they are made; only a narrow index is keyed by the client's key,
//   which is random when clients send UUIDv4 keys (migration_6).
#include "ledger/sqlite/schema.h"

#include <array>
#include <string_view>

namespace payd::ledger::sqlite {
namespace {

constexpr std::string_view migration_1 = R"sql(
CREATE TABLE account_records (
  id TEXT PRIMARY KEY,
  currency TEXT NOT NULL CHECK (length(currency) = 3),
  type TEXT NOT NULL CHECK (type IN ('customer', 'merchant', 'internal')),
  role TEXT CHECK (role IN ('external', 'fees', 'gateway_clearing')),
  overdraft_limit INTEGER NOT NULL CHECK (overdraft_limit >= 0),
  metadata TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX account_records_by_role ON account_records (currency, role) WHERE role IS NOT NULL;
CREATE TABLE balances (
  account TEXT PRIMARY KEY,
  balance INTEGER NOT NULL,
  held INTEGER NOT NULL CHECK (held >= 0),
  version INTEGER NOT NULL CHECK (version >= 0)
) WITHOUT ROWID;
CREATE VIEW accounts AS
  SELECT r.id, r.currency, r.type, r.role, r.overdraft_limit, r.metadata, r.created_at, b.balance, b.held, b.version
  FROM account_records r JOIN balances b ON b.account = r.id;

CREATE TABLE entries (
  number INTEGER PRIMARY KEY,
  account TEXT NOT NULL,
  sequence INTEGER NOT NULL CHECK (sequence > 0),
  transfer TEXT NOT NULL,
  amount INTEGER NOT NULL CHECK (amount <> 0),
  currency TEXT NOT NULL,
  balance_after INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE entries_by_account (
  account TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  number INTEGER NOT NULL,
  PRIMARY KEY (account, sequence)
) WITHOUT ROWID;
CREATE TABLE ledger_state (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO ledger_state (name, value) VALUES ('entries_indexed_through', 0);
CREATE TRIGGER entries_are_immutable_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable'); END;
CREATE TRIGGER entries_are_immutable_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable'); END;

CREATE TABLE journal (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('transfer', 'deposit')),
  from_account TEXT NOT NULL,
  to_account TEXT NOT NULL,
  amount INTEGER NOT NULL CHECK (amount > 0 AND amount <= 1000000000000000),
  currency TEXT NOT NULL,
  description TEXT,
  metadata TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER journal_is_immutable_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'journal transfers are immutable'); END;
CREATE TRIGGER journal_is_immutable_delete BEFORE DELETE ON journal
BEGIN SELECT RAISE(ABORT, 'journal transfers are immutable'); END;

CREATE TABLE idempotency_keys (
  key TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('started', 'completed')),
  status INTEGER NOT NULL,
  body TEXT NOT NULL,
  payment TEXT,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

CREATE TABLE merchants (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  settlement_currency TEXT NOT NULL,
  max_amount INTEGER NOT NULL CHECK (max_amount > 0),
  fee_bps INTEGER NOT NULL CHECK (fee_bps BETWEEN 0 AND 10000),
  fee_fixed INTEGER NOT NULL CHECK (fee_fixed >= 0),
  mcc TEXT,
  processor TEXT,
  active INTEGER NOT NULL,
  account TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE payment_methods (
  id TEXT PRIMARY KEY,
  brand TEXT NOT NULL,
  bin TEXT NOT NULL,
  last4 TEXT NOT NULL,
  exp_month INTEGER NOT NULL,
  exp_year INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  customer TEXT,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE payments (
  id TEXT PRIMARY KEY,
  amount INTEGER NOT NULL CHECK (amount > 0 AND amount <= 1000000000000000),
  currency TEXT NOT NULL,
  merchant TEXT NOT NULL,
  source_type TEXT NOT NULL CHECK (source_type IN ('card', 'account')),
  source_id TEXT NOT NULL,
  status TEXT NOT NULL,
  capture INTEGER NOT NULL,
  amount_captured INTEGER NOT NULL CHECK (amount_captured >= 0),
  amount_refunded INTEGER NOT NULL CHECK (amount_refunded >= 0 AND amount_refunded <= amount_captured),
  fee INTEGER NOT NULL CHECK (fee >= 0),
  held INTEGER NOT NULL CHECK (held >= 0),
  gateway TEXT,
  gateway_reference TEXT,
  failure_code TEXT,
  description TEXT,
  metadata TEXT NOT NULL,
  idempotency_key TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX payments_by_merchant ON payments (merchant, id);
CREATE INDEX payments_pending ON payments (updated_at) WHERE status = 'pending';

CREATE TABLE refunds (
  id TEXT PRIMARY KEY,
  payment TEXT NOT NULL,
  amount INTEGER NOT NULL CHECK (amount > 0),
  status TEXT NOT NULL,
  reason TEXT,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// Reference data: the current FX rate of each pair, exact (mantissa and
// scale) beside its canonical text. One row per pair; version counts its
// updates.
constexpr std::string_view migration_2 = R"sql(
CREATE TABLE fx_rates (
  base TEXT NOT NULL CHECK (length(base) = 3),
  quote TEXT NOT NULL CHECK (length(quote) = 3 AND quote <> base),
  rate TEXT NOT NULL,
  mantissa INTEGER NOT NULL CHECK (mantissa > 0 AND mantissa <= 999999999999),
  scale INTEGER NOT NULL CHECK (scale BETWEEN 0 AND 10),
  version INTEGER NOT NULL CHECK (version > 0),
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (base, quote)
) WITHOUT ROWID;
)sql";

// What the BIN table said of a card when it was tokenised.
constexpr std::string_view migration_3 = R"sql(
ALTER TABLE payment_methods ADD COLUMN country TEXT;
ALTER TABLE payment_methods ADD COLUMN card_type TEXT CHECK (card_type IN ('credit', 'debit', 'prepaid'));
)sql";

// Cross-currency payments: the rate, version and settled amount recorded
// with the payment, its review flag, and the fx built-in account role. The
// role's CHECK cannot be altered in SQLite, so account_records is rebuilt
// (with the view that reads it).
constexpr std::string_view migration_4 = R"sql(
ALTER TABLE payments ADD COLUMN fx_rate TEXT;
ALTER TABLE payments ADD COLUMN fx_rate_mantissa INTEGER CHECK (fx_rate_mantissa > 0 AND fx_rate_mantissa <= 999999999999);
ALTER TABLE payments ADD COLUMN fx_rate_scale INTEGER CHECK (fx_rate_scale BETWEEN 0 AND 10);
ALTER TABLE payments ADD COLUMN fx_version INTEGER CHECK (fx_version > 0);
ALTER TABLE payments ADD COLUMN fx_settlement_currency TEXT;
ALTER TABLE payments ADD COLUMN fx_settlement_amount INTEGER CHECK (fx_settlement_amount > 0 AND fx_settlement_amount <= 1000000000000000);
ALTER TABLE payments ADD COLUMN review TEXT CHECK (review IN ('fx_drift'));
CREATE TABLE account_records_new (
  id TEXT PRIMARY KEY,
  currency TEXT NOT NULL CHECK (length(currency) = 3),
  type TEXT NOT NULL CHECK (type IN ('customer', 'merchant', 'internal')),
  role TEXT CHECK (role IN ('external', 'fees', 'gateway_clearing', 'fx')),
  overdraft_limit INTEGER NOT NULL CHECK (overdraft_limit >= 0),
  metadata TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO account_records_new (id, currency, type, role, overdraft_limit, metadata, created_at)
  SELECT id, currency, type, role, overdraft_limit, metadata, created_at FROM account_records;
DROP VIEW accounts;
DROP TABLE account_records;
ALTER TABLE account_records_new RENAME TO account_records;
CREATE UNIQUE INDEX account_records_by_role ON account_records (currency, role) WHERE role IS NOT NULL;
CREATE VIEW accounts AS
  SELECT r.id, r.currency, r.type, r.role, r.overdraft_limit, r.metadata, r.created_at, b.balance, b.held, b.version
  FROM account_records r JOIN balances b ON b.account = r.id;
)sql";

// The per-account index is filled in slices: a run (the entries after
// entries_indexed_through, up to `through`, in account order) is added a
// slice per batch, so no single commit carries a whole run. index_run is
// the run under way (`through` 0: none) and the last (account, sequence)
// of it already in entries_by_account.
constexpr std::string_view migration_5 = R"sql(
CREATE TABLE index_run (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  through INTEGER NOT NULL,
  account TEXT NOT NULL,
  sequence INTEGER NOT NULL
);
INSERT INTO index_run (id, through, account, sequence) VALUES (1, 0, '', 0);
)sql";

// Idempotency records in the order they are made (rowid), with a narrow
// unique index on the key. Clients send UUIDv4 keys, which land on random
// leaves: as rows of their own (about 475 bytes, eight to a page) each
// insert into a full leaf rebalanced it with its siblings, and a transfer
// added about 2.7 pages to the WAL for its key. Index rows are about 50
// bytes (80 to a page), so a leaf takes many inserts between rebalances,
// and the records themselves are appended.
constexpr std::string_view migration_6 = R"sql(
CREATE TABLE idempotency_records (
  number INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('started', 'completed')),
  status INTEGER NOT NULL,
  body TEXT NOT NULL,
  payment TEXT,
  created_at INTEGER NOT NULL
);
INSERT INTO idempotency_records (key, fingerprint, state, status, body, payment, created_at)
  SELECT key, fingerprint, state, status, body, payment, created_at FROM idempotency_keys ORDER BY created_at, key;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_records RENAME TO idempotency_keys;
CREATE UNIQUE INDEX idempotency_keys_by_key ON idempotency_keys (key);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
)sql";

constexpr std::array migrations = {migration_1, migration_2, migration_3, migration_4, migration_5, migration_6};

}  // namespace

void prepare_database(Connection& connection) {
  // synchronous=FULL: every commit is fsynced before it is acknowledged (the
  // migrations; SqliteLedger switches its writer to NORMAL and syncs the WAL
  // on a thread of its own when pipelined_sync is on).
  // A page cache (32 MiB) keeps the hot B-tree pages (accounts, recent
  // entries) in memory. No memory map: mapped pages count in payd's resident
  // memory, once per connection that maps them, and UUIDv4 idempotency keys
  // touch pages all over their index, so with 64 MiB mapped RSS passed 160
  // MiB in a benchmark run (65 MiB without), for no more writes per second
  // and fewer reads (the read-heavy workload ran 20-22k/s mapped, 27-28k/s
  // not; page faults cost more than copies here). A background checkpointer
  // copies the WAL into the database file on the other core (SqliteLedger),
  // so commits do not wait for that I/O; the writer only copies the last few
  // frames when the WAL is to start over.
  connection.execute(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF; PRAGMA cache_size=-32768; "
      "PRAGMA mmap_size=0; PRAGMA wal_autocheckpoint=0; PRAGMA temp_store=MEMORY;");
  connection.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)");
  Statement current(connection, "SELECT coalesce(max(version), 0) FROM schema_migrations");
  current.step();
  std::int64_t applied = current.integer(0);
  current.reset();
  for (std::size_t i = static_cast<std::size_t>(applied); i < migrations.size(); ++i) {
    connection.execute("BEGIN IMMEDIATE");
    try {
      connection.execute(migrations[i]);
      connection.execute("INSERT INTO schema_migrations (version) VALUES (" + std::to_string(i + 1) + ")");
      connection.execute("COMMIT");
    } catch (...) {
      connection.execute("ROLLBACK");
      throw;
    }
  }
}

void prepare_reader(Connection& connection) {
  connection.execute("PRAGMA query_only=ON; PRAGMA cache_size=-8192; PRAGMA mmap_size=0;");
}

}  // namespace payd::ledger::sqlite
