// Why the schema looks the way it does (the SQLite schema's notes apply;
// these are the differences):
// - Many payd nodes may write at once. The balance row is the lock: a batch
//   locks the balances it will change (FOR UPDATE, in account order) before
//   it reads them, so no two nodes decide on the same balance at the same
//   time. UNIQUE (account, sequence) on entries is the guard behind that
//   lock: two writers that both thought they held an account cannot both
//   append its next entry.
// - Entry numbers come from an identity column, so nodes never hand out the
//   same number; entry ids encode the number as in SQLite. Numbers are in
//   allocation order, not commit order; nothing depends on their order
//   across accounts. PostgreSQL keeps the per-account index up to date on
//   every insert, so there is no bulk-built index table here.
// - idempotency_keys has its primary key on key: the last guard when two
//   nodes execute the same key at once. The second insert fails with a
//   unique violation and its batch is run again, which then replays.
// - Triggers refuse UPDATE, DELETE and TRUNCATE of entries and journal.
// - Money columns are bigint with the same CHECKs as SQLite.
#include "ledger/postgres/schema.h"

#include <array>
#include <string>
#include <string_view>

namespace payd::ledger::postgres {
namespace {

// Any constant works, as long as every payd node uses the same one.
constexpr std::int64_t migration_lock_key = 0x7061796400000001;

constexpr std::string_view migration_1 = R"sql(
CREATE TABLE account_records (
  id text PRIMARY KEY,
  currency text NOT NULL CHECK (length(currency) = 3),
  type text NOT NULL CHECK (type IN ('customer', 'merchant', 'internal')),
  role text CHECK (role IN ('external', 'fees', 'gateway_clearing')),
  overdraft_limit bigint NOT NULL CHECK (overdraft_limit >= 0),
  metadata text NOT NULL,
  created_at bigint NOT NULL
);
CREATE UNIQUE INDEX account_records_by_role ON account_records (currency, role) WHERE role IS NOT NULL;
CREATE TABLE balances (
  account text PRIMARY KEY,
  balance bigint NOT NULL,
  held bigint NOT NULL CHECK (held >= 0),
  version bigint NOT NULL CHECK (version >= 0)
);
CREATE VIEW accounts AS
  SELECT r.id, r.currency, r.type, r.role, r.overdraft_limit, r.metadata, r.created_at, b.balance, b.held, b.version
  FROM account_records r JOIN balances b ON b.account = r.id;

CREATE TABLE entries (
  number bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account text NOT NULL,
  sequence bigint NOT NULL CHECK (sequence > 0),
  transfer text NOT NULL,
  amount bigint NOT NULL CHECK (amount <> 0),
  currency text NOT NULL,
  balance_after bigint NOT NULL,
  created_at bigint NOT NULL,
  UNIQUE (account, sequence)
);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME;
END $$;
CREATE TRIGGER entries_are_immutable BEFORE UPDATE OR DELETE ON entries
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER entries_are_not_truncated BEFORE TRUNCATE ON entries
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

CREATE TABLE journal (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('transfer', 'deposit')),
  from_account text NOT NULL,
  to_account text NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0 AND amount <= 1000000000000000),
  currency text NOT NULL,
  description text,
  metadata text NOT NULL,
  created_at bigint NOT NULL
);
CREATE TRIGGER journal_is_immutable BEFORE UPDATE OR DELETE ON journal
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER journal_is_not_truncated BEFORE TRUNCATE ON journal
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

CREATE TABLE idempotency_keys (
  key text PRIMARY KEY,
  fingerprint text NOT NULL,
  state text NOT NULL CHECK (state IN ('started', 'completed')),
  status integer NOT NULL,
  body text NOT NULL,
  payment text,
  created_at bigint NOT NULL
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

CREATE TABLE merchants (
  id text PRIMARY KEY,
  name text NOT NULL,
  settlement_currency text NOT NULL,
  max_amount bigint NOT NULL CHECK (max_amount > 0),
  fee_bps bigint NOT NULL CHECK (fee_bps BETWEEN 0 AND 10000),
  fee_fixed bigint NOT NULL CHECK (fee_fixed >= 0),
  mcc text,
  processor text,
  active boolean NOT NULL,
  account text NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);

CREATE TABLE payment_methods (
  id text PRIMARY KEY,
  brand text NOT NULL,
  bin text NOT NULL,
  last4 text NOT NULL,
  exp_month integer NOT NULL,
  exp_year integer NOT NULL,
  fingerprint text NOT NULL,
  customer text,
  created_at bigint NOT NULL
);

CREATE TABLE payments (
  id text PRIMARY KEY,
  amount bigint NOT NULL CHECK (amount > 0 AND amount <= 1000000000000000),
  currency text NOT NULL,
  merchant text NOT NULL,
  source_type text NOT NULL CHECK (source_type IN ('card', 'account')),
  source_id text NOT NULL,
  status text NOT NULL,
  capture boolean NOT NULL,
  amount_captured bigint NOT NULL CHECK (amount_captured >= 0),
  amount_refunded bigint NOT NULL CHECK (amount_refunded >= 0 AND amount_refunded <= amount_captured),
  fee bigint NOT NULL CHECK (fee >= 0),
  held bigint NOT NULL CHECK (held >= 0),
  gateway text,
  gateway_reference text,
  failure_code text,
  description text,
  metadata text NOT NULL,
  idempotency_key text,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);
CREATE INDEX payments_by_merchant ON payments (merchant, id);
CREATE INDEX payments_pending ON payments (updated_at) WHERE status = 'pending';

CREATE TABLE refunds (
  id text PRIMARY KEY,
  payment text NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  status text NOT NULL,
  reason text,
  created_at bigint NOT NULL
);
)sql";

// Reference data: the current FX rate of each pair, exact (mantissa and
// scale) beside its canonical text. One row per pair; version counts its
// updates.
constexpr std::string_view migration_2 = R"sql(
CREATE TABLE fx_rates (
  base text NOT NULL CHECK (length(base) = 3),
  quote text NOT NULL CHECK (length(quote) = 3 AND quote <> base),
  rate text NOT NULL,
  mantissa bigint NOT NULL CHECK (mantissa > 0 AND mantissa <= 999999999999),
  scale integer NOT NULL CHECK (scale BETWEEN 0 AND 10),
  version bigint NOT NULL CHECK (version > 0),
  updated_at bigint NOT NULL,
  PRIMARY KEY (base, quote)
);
)sql";

// What the BIN table said of a card when it was tokenised.
constexpr std::string_view migration_3 = R"sql(
ALTER TABLE payment_methods ADD COLUMN country text;
ALTER TABLE payment_methods ADD COLUMN card_type text CHECK (card_type IN ('credit', 'debit', 'prepaid'));
)sql";

// Cross-currency payments: the rate, version and settled amount recorded
// with the payment, its review flag, and the fx built-in account role.
constexpr std::string_view migration_4 = R"sql(
ALTER TABLE payments ADD COLUMN fx_rate text;
ALTER TABLE payments ADD COLUMN fx_rate_mantissa bigint CHECK (fx_rate_mantissa > 0 AND fx_rate_mantissa <= 999999999999);
ALTER TABLE payments ADD COLUMN fx_rate_scale integer CHECK (fx_rate_scale BETWEEN 0 AND 10);
ALTER TABLE payments ADD COLUMN fx_version bigint CHECK (fx_version > 0);
ALTER TABLE payments ADD COLUMN fx_settlement_currency text;
ALTER TABLE payments ADD COLUMN fx_settlement_amount bigint CHECK (fx_settlement_amount > 0 AND fx_settlement_amount <= 1000000000000000);
ALTER TABLE payments ADD COLUMN review text CHECK (review IN ('fx_drift'));
ALTER TABLE account_records DROP CONSTRAINT account_records_role_check;
ALTER TABLE account_records ADD CONSTRAINT account_records_role_check
  CHECK (role IN ('external', 'fees', 'gateway_clearing', 'fx'));
)sql";

// The writer sends a batch's writes and its COMMIT in one pipeline, so a
// statement that must change an exact number of rows (another node may
// have changed them first) checks the count on the server: a different
// count is a serialization failure that aborts the transaction before its
// COMMIT runs, and the writer decides the batch's commands again alone.
constexpr std::string_view migration_5 = R"sql(
CREATE FUNCTION payd_expect_changed(changed bigint, expected bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  IF changed <> expected THEN
    RAISE EXCEPTION 'changed % rows instead of %', changed, expected USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN changed;
END
$$;
)sql";

// Reference data cached by payd's nodes (cache/cache_aside.h): a change of
// a row notifies its cache key on cache_channel (schema.h) when the change
// commits, whichever node or tool made it. A node that listens drops its
// in-process copy. The keys are those of api/api.h and
// reference/fx_rates.h. A new row needs no notice: a miss is never cached.
constexpr std::string_view migration_6 = R"sql(
CREATE FUNCTION payd_notify_cache() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed jsonb := to_jsonb(OLD);
BEGIN
  PERFORM pg_notify('payd_cache', TG_ARGV[0] || (changed ->> TG_ARGV[1]) || coalesce(changed ->> TG_ARGV[2], ''));
  RETURN NULL;
END
$$;
CREATE TRIGGER merchants_notify_cache AFTER UPDATE OR DELETE ON merchants
  FOR EACH ROW EXECUTE FUNCTION payd_notify_cache('merchant:config:', 'id');
CREATE TRIGGER payment_methods_notify_cache AFTER UPDATE OR DELETE ON payment_methods
  FOR EACH ROW EXECUTE FUNCTION payd_notify_cache('payment:method:', 'id');
CREATE TRIGGER fx_rates_notify_cache AFTER UPDATE OR DELETE ON fx_rates
  FOR EACH ROW EXECUTE FUNCTION payd_notify_cache('fx:', 'base', 'quote');
)sql";

constexpr std::array migrations = {migration_1, migration_2, migration_3, migration_4, migration_5, migration_6};

}  // namespace

void apply_migrations(Connection& connection) {
  connection.execute("BEGIN");
  try {
    connection.execute("SELECT pg_advisory_xact_lock(" + std::to_string(migration_lock_key) + ")");
    connection.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY)");
    Rows current = connection.query("SELECT coalesce(max(version), 0) FROM schema_migrations", Parameters{});
    auto applied = static_cast<std::size_t>(current.integer(0, 0));
    for (std::size_t i = applied; i < migrations.size(); ++i) {
      connection.execute(migrations[i]);
      connection.execute("INSERT INTO schema_migrations (version) VALUES (" + std::to_string(i + 1) + ")");
    }
    connection.execute("COMMIT");
  } catch (const DatabaseError&) {
    if (!connection.broken()) connection.execute("ROLLBACK");
    throw;
  }
}

}  // namespace payd::ledger::postgres
