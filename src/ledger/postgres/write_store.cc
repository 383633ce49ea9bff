#include "ledger/postgres/write_store.h"

#include <algorithm>
#include <cassert>

#include "ledger/postgres/rows.h"
#include "ledger/rows.h"

namespace payd::ledger::postgres {
namespace {

const std::string locked_accounts_from =
    std::string("SELECT ") + locked_account_columns + " FROM balances b JOIN account_records r ON r.id = b.account ";

constexpr const char* key_columns = "key, fingerprint, state, status, body, payment, created_at";

StoredKey read_key(const Rows& rows, int row) {
  StoredKey stored;
  stored.key = rows.text(row, 0);
  stored.fingerprint = rows.text(row, 1);
  stored.state = rows.text(row, 2) == "started" ? StoredKey::State::started : StoredKey::State::completed;
  stored.status = static_cast<unsigned>(rows.integer(row, 3));
  stored.body = rows.text(row, 4);
  stored.payment = rows.text(row, 5);
  stored.created_at_ms = rows.integer(row, 6);
  return stored;
}

struct PreparedStatement {
  const char* name;
  std::string sql;
};

std::vector<PreparedStatement> store_statements() {
  return {
      {"begin", "BEGIN"},
      {"lock_accounts", locked_accounts_from + "WHERE b.account = ANY($1::text[]) ORDER BY b.account FOR UPDATE OF b"},
      {"lock_account", locked_accounts_from + "WHERE b.account = $1 FOR UPDATE OF b"},
      {"merchant_accounts", "SELECT id, account FROM merchants WHERE id = ANY($1::text[])"},
      {"lock_system_account", locked_accounts_from + "WHERE r.currency = $1 AND r.role = $2 FOR UPDATE OF b"},
      {"insert_account",
       "WITH record AS (INSERT INTO account_records (id, currency, type, role, overdraft_limit, metadata, created_at) "
       "VALUES ($1, $2, $3, $4, $5, $6, $7)) INSERT INTO balances (account, balance, held, version) "
       "VALUES ($1, 0, 0, 0)"},
      {"commit", "COMMIT"},
      {"update_balances",
       "WITH changed AS (UPDATE balances b SET balance = u.balance, held = u.held, version = u.version FROM "
       "unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS u(account, balance, held, version) WHERE "
       "b.account = u.account RETURNING 1) SELECT payd_expect_changed(count(*), cardinality($1::text[])) FROM changed"},
      {"select_key", std::string("SELECT ") + key_columns + " FROM idempotency_keys WHERE key = $1"},
      {"select_keys", std::string("SELECT ") + key_columns + " FROM idempotency_keys WHERE key = ANY($1::text[])"},
      {"insert_keys",
       "INSERT INTO idempotency_keys (key, fingerprint, state, status, body, payment, created_at) SELECT key, "
       "fingerprint, state, status, body, NULLIF(payment, ''), created_at FROM unnest($1::text[], $2::text[], "
       "$3::text[], $4::integer[], $5::text[], $6::text[], $7::bigint[]) AS u(key, fingerprint, state, status, "
       "body, payment, created_at)"},
      {"complete_key",
       "WITH changed AS (UPDATE idempotency_keys SET state = 'completed', status = $2, body = $3 WHERE key = $1 "
       "AND state = 'started' RETURNING 1) SELECT payd_expect_changed(count(*), 1) FROM changed"},
      {"insert_entries",
       "INSERT INTO entries (account, sequence, transfer, amount, currency, balance_after, created_at) SELECT "
       "account, sequence, transfer, amount, currency, balance_after, created_at FROM unnest($1::text[], "
       "$2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::bigint[]) WITH ORDINALITY AS "
       "u(account, sequence, transfer, amount, currency, balance_after, created_at, position) ORDER BY position"},
      {"insert_journal",
       "INSERT INTO journal (id, kind, from_account, to_account, amount, currency, description, metadata, "
       "created_at) SELECT id, kind, from_account, to_account, amount, currency, NULLIF(description, ''), "
       "metadata, created_at FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], "
       "$6::text[], $7::text[], $8::text[], $9::bigint[]) AS u(id, kind, from_account, to_account, amount, "
       "currency, description, metadata, created_at)"},
      {"select_merchants", std::string("SELECT ") + merchant_columns + " FROM merchants WHERE id = ANY($1::text[])"},
      {"upsert_merchant",
       "INSERT INTO merchants (id, name, settlement_currency, max_amount, fee_bps, fee_fixed, mcc, processor, "
       "active, account, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON "
       "CONFLICT (id) DO UPDATE SET name = excluded.name, max_amount = excluded.max_amount, fee_bps = "
       "excluded.fee_bps, fee_fixed = excluded.fee_fixed, mcc = excluded.mcc, processor = excluded.processor, "
       "active = excluded.active, updated_at = excluded.updated_at"},
      {"select_payment_method",
       std::string("SELECT ") + payment_method_columns + " FROM payment_methods WHERE id = $1"},
      {"insert_payment_method",
       "INSERT INTO payment_methods (id, brand, bin, last4, exp_month, exp_year, fingerprint, customer, "
       "created_at, country, card_type) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"},
      {"lock_payment", std::string("SELECT ") + payment_columns + " FROM payments WHERE id = $1 FOR UPDATE"},
      // Every payment the batch made or changed, in one statement: new ones
      // inserted, the others updated. Empty text is NULL; the FX columns
      // are NULL together, for a payment in one currency.
      {"upsert_payments",
       "INSERT INTO payments (id, amount, currency, merchant, source_type, source_id, status, capture, "
       "amount_captured, amount_refunded, fee, held, gateway, gateway_reference, failure_code, description, "
       "metadata, idempotency_key, created_at, updated_at, fx_rate, fx_rate_mantissa, fx_rate_scale, fx_version, "
       "fx_settlement_currency, fx_settlement_amount, review) SELECT id, amount, currency, merchant, source_type, "
       "source_id, status, capture, amount_captured, amount_refunded, fee, held, NULLIF(gateway, ''), "
       "NULLIF(gateway_reference, ''), NULLIF(failure_code, ''), NULLIF(description, ''), metadata, "
       "NULLIF(idempotency_key, ''), created_at, updated_at, NULLIF(fx_rate, ''), CASE WHEN fx_rate <> '' THEN "
       "fx_rate_mantissa END, CASE WHEN fx_rate <> '' THEN fx_rate_scale END, CASE WHEN fx_rate <> '' THEN "
       "fx_version END, CASE WHEN fx_rate <> '' THEN fx_settlement_currency END, CASE WHEN fx_rate <> '' THEN "
       "fx_settlement_amount END, NULLIF(review, '') FROM unnest($1::text[], $2::bigint[], $3::text[], "
       "$4::text[], $5::text[], $6::text[], $7::text[], $8::boolean[], $9::bigint[], $10::bigint[], $11::bigint[], "
       "$12::bigint[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], "
       "$19::bigint[], $20::bigint[], $21::text[], $22::bigint[], $23::integer[], $24::bigint[], $25::text[], "
       "$26::bigint[], $27::text[]) AS u(id, amount, currency, merchant, source_type, source_id, status, capture, "
       "amount_captured, amount_refunded, fee, held, gateway, gateway_reference, failure_code, description, "
       "metadata, idempotency_key, created_at, updated_at, fx_rate, fx_rate_mantissa, fx_rate_scale, fx_version, "
       "fx_settlement_currency, fx_settlement_amount, review) ON CONFLICT (id) DO UPDATE SET status = "
       "excluded.status, amount_captured = excluded.amount_captured, amount_refunded = excluded.amount_refunded, "
       "fee = excluded.fee, held = excluded.held, gateway = excluded.gateway, gateway_reference = "
       "excluded.gateway_reference, failure_code = excluded.failure_code, updated_at = excluded.updated_at, "
       "review = excluded.review"},
      {"insert_refund",
       "INSERT INTO refunds (id, payment, amount, status, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6)"},
      {"upsert_fx_rate",
       "INSERT INTO fx_rates (base, quote, rate, mantissa, scale, version, updated_at) VALUES ($1, $2, $3, $4, $5, 1, "
       "$6) ON CONFLICT (base, quote) DO UPDATE SET rate = excluded.rate, mantissa = excluded.mantissa, "
       "scale = excluded.scale, version = fx_rates.version + 1, updated_at = excluded.updated_at "
       "RETURNING " + std::string(fx_rate_columns)},
  };
}

// The accounts a command names directly; the rest are locked when found.
// What a command will touch that can be named before it runs: its account
// fields, its merchant (whose account is looked up) and its currency (whose
// built-in accounts are locked once they exist). Locking these in the
// batch's first statement, in one order, keeps nodes from deadlocking on
// the hottest rows: merchant, fees and external accounts.
struct NamedAccounts {
  std::vector<std::string> accounts;
  std::vector<std::string> merchants;
  std::vector<std::string> currencies;
};

void name_accounts(const Command& command, NamedAccounts& named) {
  if (const auto* deposit = std::get_if<MakeDeposit>(&command)) {
    named.accounts.push_back(deposit->account);
    named.currencies.push_back(deposit->currency);
  }
  if (const auto* transfer = std::get_if<MakeTransfer>(&command)) {
    named.accounts.push_back(transfer->from);
    named.accounts.push_back(transfer->to);
  }
  if (const auto* payment = std::get_if<WalletPayment>(&command)) {
    named.accounts.push_back(payment->account);
    named.merchants.push_back(payment->merchant);
    named.currencies.push_back(payment->currency);
    if (payment->fx_rate) named.currencies.push_back(payment->fx_rate->quote);
  }
}

std::string_view boolean_text(bool value) { return value ? "true" : "false"; }

}  // namespace

PostgresWriteStore::PostgresWriteStore(Connection& connection, IdGenerator& ids, Clock& clock)
    : connection_(connection), ids_(ids), clock_(clock) {
  // Every statement of the writer finds its rows through a primary key.
  // The planner may think otherwise: its statistics of a table that grows
  // by thousands of rows a second are stale, and a generic plan made while
  // a table was nearly empty keeps a sequential scan (of every idempotency
  // key, per batch) long after. Sequential scans are only a last resort here.
  connection_.execute("SET enable_seqscan = off");
  for (const PreparedStatement& statement : store_statements()) connection_.prepare(statement.name, statement.sql);
}

void PostgresWriteStore::begin_batch(const std::vector<const Submission*>& submissions) {
  assert(accounts_.empty() && touched_.empty() && keys_loaded_.empty());
  NamedAccounts named;
  for (const Submission* submission : submissions) name_accounts(submission->command, named);
  std::vector<std::string>& ids = named.accounts;
  std::sort(named.merchants.begin(), named.merchants.end());
  named.merchants.erase(std::unique(named.merchants.begin(), named.merchants.end()), named.merchants.end());
  std::vector<PipelinedStatement> pipeline;
  pipeline.push_back({"begin", Parameters()});
  bool begun = false;
  if (std::vector<std::string> unknown = merchants_without_account(named.merchants); !unknown.empty()) {
    // Merchants' accounts are locked with the rest, so a merchant seen for
    // the first time is looked up first, in a round trip of its own. Its
    // account never changes, so this happens once per merchant.
    pipeline.push_back({"merchant_accounts", Parameters().add(text_array(unknown))});
    Rows found = std::move(connection_.run_pipeline(pipeline).back());
    for (int row = 0; row < found.size(); ++row) merchant_accounts_[found.text(row, 0)] = found.text(row, 1);
    pipeline.clear();
    begun = true;
  }
  for (const std::string& merchant : named.merchants) {
    if (auto known = merchant_accounts_.find(merchant); known != merchant_accounts_.end()) ids.push_back(known->second);
  }
  for (const std::string& currency : named.currencies) {
    for (SystemRole role : {SystemRole::external, SystemRole::fees, SystemRole::gateway_clearing, SystemRole::fx}) {
      auto known = system_accounts_.find(currency + std::string(to_string(role)));
      if (known != system_accounts_.end()) ids.push_back(known->second);
    }
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (!ids.empty()) pipeline.push_back({"lock_accounts", Parameters().add(text_array(ids))});
  // Keys are read once the accounts are locked: a node that executed the
  // same key and held those locks has committed by then, and is replayed.
  std::vector<std::string> keys = key_names(submissions);
  if (!keys.empty()) pipeline.push_back({"select_keys", Parameters().add(text_array(keys))});
  // The merchants are read once for the batch, however many payments name them.
  if (!named.merchants.empty()) pipeline.push_back({"select_merchants", Parameters().add(text_array(named.merchants))});
  std::vector<Rows> results = connection_.run_pipeline(pipeline);
  auto result = results.begin();
  if (!begun) ++result;  // BEGIN, when it was not sent with the merchant lookup
  if (!ids.empty()) load_accounts(*result++);
  if (!keys.empty()) load_keys(std::move(keys), *result++);
  if (!named.merchants.empty()) load_merchants(*result++);
  assert(result == results.end());
}

std::vector<std::string> PostgresWriteStore::merchants_without_account(const std::vector<std::string>& merchants) {
  std::vector<std::string> unknown;
  for (const std::string& merchant : merchants) {
    if (!merchant_accounts_.contains(merchant)) unknown.push_back(merchant);
  }
  return unknown;
}

void PostgresWriteStore::load_merchants(const Rows& rows) {
  for (int row = 0; row < rows.size(); ++row) {
    Merchant merchant = read_merchant(rows, row);
    std::string id = merchant.id;
    merchants_.insert_or_assign(std::move(id), std::move(merchant));
  }
}

void PostgresWriteStore::load_accounts(const Rows& rows) {
  for (int row = 0; row < rows.size(); ++row) {
    Account account = read_account(rows, row);
    std::string id = account.id;
    accounts_.emplace(std::move(id), std::move(account));
  }
}

std::vector<std::string> PostgresWriteStore::key_names(const std::vector<const Submission*>& submissions) {
  std::vector<std::string> names;
  for (const Submission* submission : submissions) {
    if (submission->idempotency) names.push_back(submission->idempotency->key);
  }
  return names;
}

void PostgresWriteStore::load_keys(std::vector<std::string> names, const Rows& rows) {
  for (std::string& name : names) keys_loaded_.emplace(std::move(name), std::nullopt);
  for (int row = 0; row < rows.size(); ++row) {
    StoredKey stored = read_key(rows, row);
    auto loaded = keys_loaded_.find(stored.key);
    assert(loaded != keys_loaded_.end());
    keys_in_database_.insert(stored.key);
    loaded->second = std::move(stored);
  }
}

void PostgresWriteStore::end_batch() {
  accounts_.clear();
  touched_.clear();
  touched_set_.clear();
  entries_.clear();
  journal_.clear();
  refunds_.clear();
  payments_.clear();
  payment_order_.clear();
  keys_.clear();
  key_order_.clear();
  keys_loaded_.clear();
  keys_in_database_.clear();
  merchants_.clear();
}

Account* PostgresWriteStore::find_account(const std::string& id) {
  if (auto cached = accounts_.find(id); cached != accounts_.end()) return &cached->second;
  Rows rows = connection_.run("lock_account", Parameters().add(id));
  if (rows.size() == 0) return nullptr;
  auto [it, inserted] = accounts_.emplace(id, read_account(rows, 0));
  assert(inserted);
  return &it->second;
}

Account& PostgresWriteStore::system_account(const std::string& currency, SystemRole role) {
  std::string cache_key = currency + std::string(to_string(role));
  if (auto known = system_accounts_.find(cache_key); known != system_accounts_.end()) {
    if (Account* account = find_account(known->second)) return *account;
  }
  Rows rows = connection_.run("lock_system_account", Parameters().add(currency).add(to_string(role)));
  if (rows.size() != 0) {
    Account loaded = read_account(rows, 0);
    system_accounts_[cache_key] = loaded.id;
    auto [it, inserted] = accounts_.try_emplace(loaded.id, loaded);
    return it->second;
  }
  // Another node making the same account at once makes this insert fail
  // on the unique (currency, role) index: a conflict, run again.
  Account account;
  account.id = ids_.next(IdType::account);
  account.currency = currency;
  account.type = AccountType::internal;
  account.role = role;
  account.created_at_ms = clock_.now_ms();
  Account& made = insert_account(account);
  system_accounts_[cache_key] = made.id;
  return made;
}

Account& PostgresWriteStore::insert_account(const Account& account) {
  assert(account.balance == 0 && account.version == 0 && account.held == 0);
  Parameters parameters;
  parameters.add(account.id).add(account.currency).add(to_string(account.type));
  parameters.add_text_or_null(to_string(account.role)).add(account.overdraft_limit);
  parameters.add(account.metadata_json).add(account.created_at_ms);
  connection_.run("insert_account", parameters);
  auto [it, inserted] = accounts_.insert_or_assign(account.id, account);
  return it->second;
}

void PostgresWriteStore::touch(Account& account) {
  if (touched_set_.insert(&account).second) touched_.push_back(&account);
}

std::optional<StoredKey> PostgresWriteStore::find_key(const std::string& key) {
  if (auto staged = keys_.find(key); staged != keys_.end()) return staged->second;
  if (auto loaded = keys_loaded_.find(key); loaded != keys_loaded_.end()) return loaded->second;
  Rows rows = connection_.run("select_key", Parameters().add(key));
  if (rows.size() == 0) return std::nullopt;
  keys_in_database_.insert(key);
  StoredKey stored = read_key(rows, 0);
  assert(stored.key == key);
  return stored;
}

void PostgresWriteStore::put_key(const StoredKey& key) {
  auto [it, inserted] = keys_.insert_or_assign(key.key, key);
  if (inserted) key_order_.push_back(key.key);
}

void PostgresWriteStore::insert_entry(const Entry& entry) { entries_.push_back(entry); }

void PostgresWriteStore::insert_transfer(const Transfer& t) {
  journal_.push_back(JournalRow{t.id, "transfer", t.from, t.to, t.amount, t.currency, t.description,
                                t.metadata_json, t.created_at_ms});
}

void PostgresWriteStore::insert_deposit(const Deposit& d) {
  Account& external = system_account(d.currency, SystemRole::external);
  journal_.push_back(
      JournalRow{d.id, "deposit", external.id, d.account, d.amount, d.currency, {}, d.metadata_json, d.created_at_ms});
}

std::optional<Merchant> PostgresWriteStore::find_merchant(const std::string& id) {
  if (auto cached = merchants_.find(id); cached != merchants_.end()) return cached->second;
  Rows rows = connection_.run("select_merchants", Parameters().add(text_array({id})));
  if (rows.size() == 0) return std::nullopt;
  load_merchants(rows);
  return merchants_.at(id);
}

void PostgresWriteStore::put_merchant(const Merchant& m) {
  Parameters parameters;
  parameters.add(m.id).add(m.name).add(m.settlement_currency).add(m.max_amount).add(m.fee_bps).add(m.fee_fixed);
  parameters.add_text_or_null(m.mcc).add_text_or_null(m.processor).add(boolean_text(m.active)).add(m.account);
  parameters.add(m.created_at_ms).add(m.updated_at_ms);
  connection_.run("upsert_merchant", parameters);
  merchants_.insert_or_assign(m.id, m);
}

std::optional<PaymentMethod> PostgresWriteStore::find_payment_method(const std::string& id) {
  Rows rows = connection_.run("select_payment_method", Parameters().add(id));
  if (rows.size() == 0) return std::nullopt;
  return read_payment_method(rows, 0);
}

void PostgresWriteStore::insert_payment_method(const PaymentMethod& p) {
  Parameters parameters;
  parameters.add(p.id).add(p.brand).add(p.bin).add(p.last4).add(std::int64_t{p.exp_month});
  parameters.add(std::int64_t{p.exp_year}).add(p.fingerprint).add_text_or_null(p.customer).add(p.created_at_ms);
  parameters.add_text_or_null(p.country).add_text_or_null(p.card_type);
  connection_.run("insert_payment_method", parameters);
}

std::optional<Payment> PostgresWriteStore::find_payment(const std::string& id) {
  if (auto staged = payments_.find(id); staged != payments_.end()) return staged->second;
  Rows rows = connection_.run("lock_payment", Parameters().add(id));
  if (rows.size() == 0) return std::nullopt;
  return read_payment(rows, 0);
}

void PostgresWriteStore::put_payment(const Payment& payment) {
  auto [it, inserted] = payments_.insert_or_assign(payment.id, payment);
  if (inserted) payment_order_.push_back(payment.id);
}

void PostgresWriteStore::insert_refund(const Refund& refund) { refunds_.push_back(refund); }

FxRate PostgresWriteStore::put_fx_rate(const std::string& base, const std::string& quote, const Rate& rate,
                                       std::int64_t now_ms) {
  Parameters parameters;
  parameters.add(base).add(quote).add(format_rate(rate)).add(rate.mantissa).add(std::int64_t{rate.scale});
  parameters.add(now_ms);
  Rows rows = connection_.run("upsert_fx_rate", parameters);
  assert(rows.size() == 1);
  return read_fx_rate(rows, 0);
}

void PostgresWriteStore::flush_and_commit() {
  std::vector<PipelinedStatement> pipeline;
  stage_balances(pipeline);
  stage_entries(pipeline);
  stage_journal(pipeline);
  stage_rows(pipeline);
  // A failed statement aborts the transaction and the server skips the
  // COMMIT; checks of changed rows are on the server for that reason.
  pipeline.push_back({"commit", Parameters()});
  connection_.run_pipeline(pipeline);
}

void PostgresWriteStore::stage_balances(std::vector<PipelinedStatement>& pipeline) {
  if (touched_.empty()) return;
  std::vector<std::string> ids;
  std::vector<std::int64_t> balances, helds, versions;
  for (const Account* account : touched_) {
    assert(account->held >= 0 && account->version >= 0);
    ids.push_back(account->id);
    balances.push_back(account->balance);
    helds.push_back(account->held);
    versions.push_back(account->version);
  }
  Parameters parameters;
  parameters.add(text_array(ids)).add(integer_array(balances)).add(integer_array(helds));
  parameters.add(integer_array(versions));
  pipeline.push_back({"update_balances", std::move(parameters)});
}

void PostgresWriteStore::stage_entries(std::vector<PipelinedStatement>& pipeline) {
  if (entries_.empty()) return;
  std::vector<std::string> accounts, transfers, currencies;
  std::vector<std::int64_t> sequences, amounts, balances_after, created;
  for (const Entry& entry : entries_) {
    accounts.push_back(entry.account);
    sequences.push_back(entry.sequence);
    transfers.push_back(entry.transfer);
    amounts.push_back(entry.amount);
    currencies.push_back(entry.currency);
    balances_after.push_back(entry.balance_after);
    created.push_back(entry.created_at_ms);
  }
  Parameters parameters;
  parameters.add(text_array(accounts)).add(integer_array(sequences)).add(text_array(transfers));
  parameters.add(integer_array(amounts)).add(text_array(currencies)).add(integer_array(balances_after));
  parameters.add(integer_array(created));
  pipeline.push_back({"insert_entries", std::move(parameters)});
}

void PostgresWriteStore::stage_journal(std::vector<PipelinedStatement>& pipeline) {
  if (journal_.empty()) return;
  std::vector<std::string> ids, kinds, froms, tos, currencies, descriptions, metadata;
  std::vector<std::int64_t> amounts, created;
  for (const JournalRow& row : journal_) {
    ids.push_back(row.id);
    kinds.push_back(row.kind);
    froms.push_back(row.from);
    tos.push_back(row.to);
    amounts.push_back(row.amount);
    currencies.push_back(row.currency);
    descriptions.push_back(row.description);
    metadata.push_back(row.metadata_json);
    created.push_back(row.created_at_ms);
  }
  Parameters parameters;
  parameters.add(text_array(ids)).add(text_array(kinds)).add(text_array(froms)).add(text_array(tos));
  parameters.add(integer_array(amounts)).add(text_array(currencies)).add(text_array(descriptions));
  parameters.add(text_array(metadata)).add(integer_array(created));
  pipeline.push_back({"insert_journal", std::move(parameters)});
}

void PostgresWriteStore::stage_rows(std::vector<PipelinedStatement>& pipeline) {
  for (const Refund& r : refunds_) {
    Parameters parameters;
    parameters.add(r.id).add(r.payment).add(r.amount).add(to_string(r.status)).add_text_or_null(r.reason);
    parameters.add(r.created_at_ms);
    pipeline.push_back({"insert_refund", std::move(parameters)});
  }
  stage_payments(pipeline);
  stage_keys(pipeline);
}

void PostgresWriteStore::stage_payments(std::vector<PipelinedStatement>& pipeline) {
  if (payment_order_.empty()) return;
  std::vector<std::string> ids, currencies, merchants, source_types, source_ids, statuses, captures, gateways,
      references, failures, descriptions, metadata, keys, rates, settlement_currencies, reviews;
  std::vector<std::int64_t> amounts, captured, refunded, fees, helds, created, updated, mantissas, scales, versions,
      settlement_amounts;
  for (const std::string& id : payment_order_) {
    const Payment& p = payments_.at(id);
    ids.push_back(p.id);
    amounts.push_back(p.amount);
    currencies.push_back(p.currency);
    merchants.push_back(p.merchant);
    source_types.emplace_back(to_string(p.source_type));
    source_ids.push_back(p.source_id);
    statuses.emplace_back(to_string(p.status));
    captures.emplace_back(boolean_text(p.capture));
    captured.push_back(p.amount_captured);
    refunded.push_back(p.amount_refunded);
    fees.push_back(p.fee);
    helds.push_back(p.held);
    gateways.push_back(p.gateway);
    references.push_back(p.gateway_reference);
    failures.push_back(p.failure_code);
    descriptions.push_back(p.description);
    metadata.push_back(p.metadata_json);
    keys.push_back(p.idempotency_key);
    created.push_back(p.created_at_ms);
    updated.push_back(p.updated_at_ms);
    rates.push_back(p.fx ? format_rate(p.fx->rate) : std::string());
    mantissas.push_back(p.fx ? p.fx->rate.mantissa : 0);
    scales.push_back(p.fx ? p.fx->rate.scale : 0);
    versions.push_back(p.fx ? p.fx->version : 0);
    settlement_currencies.push_back(p.fx ? p.fx->settlement_currency : std::string());
    settlement_amounts.push_back(p.fx ? p.fx->settlement_amount : 0);
    reviews.push_back(p.review);
  }
  Parameters parameters;
  parameters.add(text_array(ids)).add(integer_array(amounts)).add(text_array(currencies)).add(text_array(merchants));
  parameters.add(text_array(source_types)).add(text_array(source_ids)).add(text_array(statuses));
  parameters.add(text_array(captures)).add(integer_array(captured)).add(integer_array(refunded));
  parameters.add(integer_array(fees)).add(integer_array(helds)).add(text_array(gateways)).add(text_array(references));
  parameters.add(text_array(failures)).add(text_array(descriptions)).add(text_array(metadata)).add(text_array(keys));
  parameters.add(integer_array(created)).add(integer_array(updated)).add(text_array(rates));
  parameters.add(integer_array(mantissas)).add(integer_array(scales)).add(integer_array(versions));
  parameters.add(text_array(settlement_currencies)).add(integer_array(settlement_amounts)).add(text_array(reviews));
  pipeline.push_back({"upsert_payments", std::move(parameters)});
}

void PostgresWriteStore::stage_keys(std::vector<PipelinedStatement>& pipeline) {
  std::vector<std::string> names, fingerprints, states, bodies, payments;
  std::vector<std::int64_t> statuses, created;
  for (const std::string& name : key_order_) {
    const StoredKey& key = keys_.at(name);
    if (keys_in_database_.contains(name)) {
      // Only a started key is ever put again; another node completing it
      // first leaves no started row to update: a conflict.
      assert(key.state == StoredKey::State::completed);
      Parameters parameters;
      parameters.add(key.key).add(std::int64_t{key.status}).add(key.body);
      pipeline.push_back({"complete_key", std::move(parameters)});
      continue;
    }
    names.push_back(key.key);
    fingerprints.push_back(key.fingerprint);
    states.emplace_back(key.state == StoredKey::State::started ? "started" : "completed");
    statuses.push_back(key.status);
    bodies.push_back(key.body);
    payments.push_back(key.payment);
    created.push_back(key.created_at_ms);
  }
  if (names.empty()) return;
  Parameters parameters;
  parameters.add(text_array(names)).add(text_array(fingerprints)).add(text_array(states));
  parameters.add(integer_array(statuses)).add(text_array(bodies)).add(text_array(payments));
  parameters.add(integer_array(created));
  pipeline.push_back({"insert_keys", std::move(parameters)});
}

}  // namespace payd::ledger::postgres
