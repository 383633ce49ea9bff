#include "ledger/sqlite/write_store.h"

#include <algorithm>
#include <cassert>
#include <iterator>
#include <limits>

#include "ledger/rows.h"

namespace payd::ledger::sqlite {

// Prepared once per writer connection and reused for every command.
struct SqliteWriteStore::Statements {
  explicit Statements(Connection& c)
      : select_account(c, std::string("SELECT ") + account_columns + " FROM accounts WHERE id = ?"),
        select_system_account(c, std::string("SELECT ") + account_columns +
                                     " FROM accounts WHERE currency = ? AND role = ?"),
        insert_account(c,
                       "INSERT INTO account_records (id, currency, type, role, overdraft_limit, metadata, "
                       "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
        insert_balance(c, "INSERT INTO balances (account, balance, held, version) VALUES (?, 0, 0, 0)"),
        update_balance(c, "UPDATE balances SET balance = ?, held = ?, version = ? WHERE account = ?"),
        select_key(c, "SELECT fingerprint, state, status, body, payment, created_at FROM idempotency_keys WHERE key = ?"),
        upsert_key(c,
                   "INSERT INTO idempotency_keys (key, fingerprint, state, status, body, payment, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET state = excluded.state, "
                   "status = excluded.status, body = excluded.body"),
        insert_entry(c,
                     "INSERT INTO entries (number, account, transfer, amount, currency, balance_after, sequence, "
                     "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
        select_unindexed(c,
                         "SELECT account, sequence, number FROM entries WHERE number > ?1 AND number <= ?2 AND "
                         "(account, sequence) > (?3, ?4) ORDER BY number"),
        insert_index_row(c, "INSERT INTO entries_by_account (account, sequence, number) VALUES (?, ?, ?)"),
        save_run(c, "UPDATE index_run SET through = ?, account = ?, sequence = ? WHERE id = 1"),
        set_indexed_through(c, "UPDATE ledger_state SET value = ? WHERE name = 'entries_indexed_through'"),
        insert_journal(c,
                       "INSERT INTO journal (id, kind, from_account, to_account, amount, currency, description, "
                       "metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        select_merchant(c, std::string("SELECT ") + merchant_columns + " FROM merchants WHERE id = ?"),
        upsert_merchant(c,
                        "INSERT INTO merchants (id, name, settlement_currency, max_amount, fee_bps, fee_fixed, mcc, "
                        "processor, active, account, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                        "?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, max_amount = "
                        "excluded.max_amount, fee_bps = excluded.fee_bps, fee_fixed = excluded.fee_fixed, mcc = "
                        "excluded.mcc, processor = excluded.processor, active = excluded.active, updated_at = "
                        "excluded.updated_at"),
        select_payment_method(c, std::string("SELECT ") + payment_method_columns +
                                     " FROM payment_methods WHERE id = ?"),
        insert_payment_method(c,
                              "INSERT INTO payment_methods (id, brand, bin, last4, exp_month, exp_year, "
                              "fingerprint, customer, created_at, country, card_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                              "?, ?, ?)"),
        select_payment(c, std::string("SELECT ") + payment_columns + " FROM payments WHERE id = ?"),
        upsert_payment(c,
                       "INSERT INTO payments (id, amount, currency, merchant, source_type, source_id, status, "
                       "capture, amount_captured, amount_refunded, fee, held, gateway, gateway_reference, "
                       "failure_code, description, metadata, idempotency_key, created_at, updated_at, fx_rate, "
                       "fx_rate_mantissa, fx_rate_scale, fx_version, fx_settlement_currency, fx_settlement_amount, "
                       "review) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                       "?) ON CONFLICT (id) DO UPDATE SET "
                       "status = excluded.status, amount_captured = excluded.amount_captured, amount_refunded = "
                       "excluded.amount_refunded, fee = excluded.fee, held = excluded.held, gateway = "
                       "excluded.gateway, gateway_reference = excluded.gateway_reference, failure_code = "
                       "excluded.failure_code, updated_at = excluded.updated_at, review = excluded.review"),
        insert_refund(c,
                      "INSERT INTO refunds (id, payment, amount, status, reason, created_at) VALUES (?, ?, ?, ?, ?, "
                      "?)"),
        upsert_fx_rate(c,
                       "INSERT INTO fx_rates (base, quote, rate, mantissa, scale, version, updated_at) VALUES (?, ?, "
                       "?, ?, ?, 1, ?) ON CONFLICT (base, quote) DO UPDATE SET rate = excluded.rate, mantissa = excluded.mantissa, "
                       "scale = excluded.scale, version = fx_rates.version + 1, updated_at = excluded.updated_at "
                       "RETURNING " + std::string(fx_rate_columns)) {}

  Statement select_account;
  Statement select_system_account;
  Statement insert_account;
  Statement insert_balance;
  Statement update_balance;
  Statement select_key;
  Statement upsert_key;
  Statement insert_entry;
  Statement select_unindexed;
  Statement insert_index_row;
  Statement save_run;
  Statement set_indexed_through;
  Statement insert_journal;
  Statement select_merchant;
  Statement upsert_merchant;
  Statement select_payment_method;
  Statement insert_payment_method;
  Statement select_payment;
  Statement upsert_payment;
  Statement insert_refund;
  Statement upsert_fx_rate;
};

SqliteWriteStore::SqliteWriteStore(Connection& connection, IdGenerator& ids, Clock& clock)
    : connection_(connection), ids_(ids), clock_(clock) {
  statements_ = std::make_unique<Statements>(connection);
  load_entry_numbers();
}

void SqliteWriteStore::load_entry_numbers() {
  Statement state(connection_, "SELECT (SELECT coalesce(max(number), 0) FROM entries), (SELECT value FROM "
                               "ledger_state WHERE name = 'entries_indexed_through'), through, account, sequence "
                               "FROM index_run");
  [[maybe_unused]] bool found = state.step();
  assert(found);
  next_entry_number_ = state.integer(0) + 1;
  indexed_through_ = state.integer(1);
  run_through_ = state.integer(2);
  assert(indexed_through_ < next_entry_number_ && (run_through_ == 0 || run_through_ > indexed_through_));
  run_.clear();
  run_next_ = 0;
  pending_.clear();
  if (run_through_ > 0) {
    PendingRows rows;
    load_unindexed(rows, indexed_through_, run_through_, state.text(3), state.integer(4));
    take_run(std::move(rows));
  }
  load_unindexed(pending_, std::max(indexed_through_, run_through_), next_entry_number_, "", 0);
}

void SqliteWriteStore::load_unindexed(PendingRows& rows, std::int64_t after_number, std::int64_t through_number,
                                      const std::string& after_account, std::int64_t after_sequence) {
  Statement& select = statements_->select_unindexed;
  ResetOnExit reset(select);
  select.bind(1, after_number).bind(2, through_number).bind(3, after_account).bind(4, after_sequence);
  while (select.step()) rows[select.text(0)].push_back(IndexRow{select.integer(1), select.integer(2)});
}

void SqliteWriteStore::take_run(PendingRows&& rows) {
  run_.clear();
  run_.reserve(rows.size());
  run_next_ = 0;
  for (auto& [account, account_rows] : rows) run_.emplace_back(account, std::move(account_rows));
  std::sort(run_.begin(), run_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
}

std::int64_t SqliteWriteStore::unindexed_entries() const { return next_entry_number_ - 1 - indexed_through_; }

void SqliteWriteStore::save_run(const std::string& account, std::int64_t sequence) {
  statements_->save_run.bind(1, run_through_).bind(2, account).bind(3, sequence);
  statements_->save_run.run();
}

void SqliteWriteStore::start_index_run() {
  assert(!index_run_active());
  if (unindexed_entries() == 0) return;
  run_through_ = next_entry_number_ - 1;
  take_run(std::move(pending_));
  pending_.clear();
  save_run("", 0);
}

void SqliteWriteStore::index_slice(std::int64_t rows_max) {
  if (!index_run_active()) return;
  assert(rows_max >= 1);
  Statement& insert = statements_->insert_index_row;
  std::int64_t added = 0;
  const std::string* last_account = nullptr;
  std::int64_t last_sequence = 0;
  while (run_next_ < run_.size() && added < rows_max) {
    auto& [account, rows] = run_[run_next_];
    std::size_t taken = std::min(rows.size(), static_cast<std::size_t>(rows_max - added));
    for (std::size_t i = 0; i < taken; ++i) {
      insert.bind(1, account).bind(2, rows[i].sequence).bind(3, rows[i].number);
      insert.run();
    }
    added += static_cast<std::int64_t>(taken);
    last_account = &account;
    last_sequence = rows[taken - 1].sequence;
    if (taken < rows.size()) {
      rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(taken));
      break;
    }
    ++run_next_;
  }
  if (run_next_ < run_.size()) {
    save_run(*last_account, last_sequence);
    return;
  }
  run_.clear();
  run_next_ = 0;
  statements_->set_indexed_through.bind(1, run_through_);
  statements_->set_indexed_through.run();
  indexed_through_ = run_through_;
  run_through_ = 0;
  save_run("", 0);
}

void SqliteWriteStore::index_entries() {
  while (unindexed_entries() > 0) {
    if (!index_run_active()) start_index_run();
    index_slice(std::numeric_limits<std::int64_t>::max());
  }
}

SqliteWriteStore::~SqliteWriteStore() = default;

Account* SqliteWriteStore::find_account(const std::string& id) {
  auto cached = accounts_.find(id);
  if (cached != accounts_.end()) return &cached->second;
  Statement& select = statements_->select_account;
  ResetOnExit reset(select);
  select.bind(1, id);
  if (!select.step()) return nullptr;
  auto [it, inserted] = accounts_.emplace(id, read_account(select));
  assert(inserted);
  return &it->second;
}

Account& SqliteWriteStore::system_account(const std::string& currency, SystemRole role) {
  std::string cache_key = currency + std::string(to_string(role));
  if (auto known = system_accounts_.find(cache_key); known != system_accounts_.end()) {
    Account* account = find_account(known->second);
    assert(account != nullptr);
    return *account;
  }
  Statement& select = statements_->select_system_account;
  select.bind(1, currency).bind(2, to_string(role));
  if (select.step()) {
    Account loaded = read_account(select);
    select.reset();
    system_accounts_[cache_key] = loaded.id;
    auto [it, inserted] = accounts_.try_emplace(loaded.id, loaded);
    return it->second;
  }
  select.reset();
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

Account& SqliteWriteStore::insert_account(const Account& account) {
  assert(account.balance == 0 && account.version == 0 && account.held == 0);
  Statement& insert = statements_->insert_account;
  insert.bind(1, account.id).bind(2, account.currency).bind(3, to_string(account.type));
  insert.bind_text_or_null(4, to_string(account.role)).bind(5, account.overdraft_limit);
  insert.bind(6, account.metadata_json).bind(7, account.created_at_ms);
  insert.run();
  statements_->insert_balance.bind(1, account.id);
  statements_->insert_balance.run();
  auto [it, inserted] = accounts_.insert_or_assign(account.id, account);
  return it->second;
}

void SqliteWriteStore::touch(Account& account) {
  if (touched_set_.insert(&account).second) touched_.push_back(&account);
}

std::optional<StoredKey> SqliteWriteStore::find_key(const std::string& key) {
  Statement& select = statements_->select_key;
  ResetOnExit reset(select);
  select.bind(1, key);
  if (!select.step()) return std::nullopt;
  StoredKey stored;
  stored.key = key;
  stored.fingerprint = select.text(0);
  stored.state = select.text(1) == "started" ? StoredKey::State::started : StoredKey::State::completed;
  stored.status = static_cast<unsigned>(select.integer(2));
  stored.body = select.text(3);
  stored.payment = select.text(4);
  stored.created_at_ms = select.integer(5);
  return stored;
}

void SqliteWriteStore::put_key(const StoredKey& key) {
  Statement& upsert = statements_->upsert_key;
  upsert.bind(1, key.key).bind(2, key.fingerprint);
  upsert.bind(3, key.state == StoredKey::State::started ? "started" : "completed");
  upsert.bind(4, static_cast<std::int64_t>(key.status)).bind(5, key.body);
  upsert.bind_text_or_null(6, key.payment).bind(7, key.created_at_ms);
  upsert.run();
}

void SqliteWriteStore::insert_entry(const Entry& entry) {
  Statement& insert = statements_->insert_entry;
  insert.bind(1, next_entry_number_).bind(2, entry.account).bind(3, entry.transfer).bind(4, entry.amount);
  insert.bind(5, entry.currency).bind(6, entry.balance_after).bind(7, entry.sequence).bind(8, entry.created_at_ms);
  insert.run();
  pending_[entry.account].push_back(IndexRow{entry.sequence, next_entry_number_++});
}

void SqliteWriteStore::insert_transfer(const Transfer& transfer) {
  Statement& insert = statements_->insert_journal;
  insert.bind(1, transfer.id).bind(2, "transfer").bind(3, transfer.from).bind(4, transfer.to);
  insert.bind(5, transfer.amount).bind(6, transfer.currency).bind_text_or_null(7, transfer.description);
  insert.bind(8, transfer.metadata_json).bind(9, transfer.created_at_ms);
  insert.run();
}

void SqliteWriteStore::insert_deposit(const Deposit& deposit) {
  Account& external = system_account(deposit.currency, SystemRole::external);
  Statement& insert = statements_->insert_journal;
  insert.bind(1, deposit.id).bind(2, "deposit").bind(3, external.id).bind(4, deposit.account);
  insert.bind(5, deposit.amount).bind(6, deposit.currency).bind_null(7);
  insert.bind(8, deposit.metadata_json).bind(9, deposit.created_at_ms);
  insert.run();
}

std::optional<Merchant> SqliteWriteStore::find_merchant(const std::string& id) {
  Statement& select = statements_->select_merchant;
  ResetOnExit reset(select);
  select.bind(1, id);
  if (!select.step()) return std::nullopt;
  return read_merchant(select);
}

void SqliteWriteStore::put_merchant(const Merchant& m) {
  Statement& upsert = statements_->upsert_merchant;
  upsert.bind(1, m.id).bind(2, m.name).bind(3, m.settlement_currency).bind(4, m.max_amount);
  upsert.bind(5, m.fee_bps).bind(6, m.fee_fixed).bind_text_or_null(7, m.mcc).bind_text_or_null(8, m.processor);
  upsert.bind(9, std::int64_t{m.active ? 1 : 0}).bind(10, m.account).bind(11, m.created_at_ms);
  upsert.bind(12, m.updated_at_ms);
  upsert.run();
}

std::optional<PaymentMethod> SqliteWriteStore::find_payment_method(const std::string& id) {
  Statement& select = statements_->select_payment_method;
  ResetOnExit reset(select);
  select.bind(1, id);
  if (!select.step()) return std::nullopt;
  return read_payment_method(select);
}

void SqliteWriteStore::insert_payment_method(const PaymentMethod& p) {
  Statement& insert = statements_->insert_payment_method;
  insert.bind(1, p.id).bind(2, p.brand).bind(3, p.bin).bind(4, p.last4);
  insert.bind(5, std::int64_t{p.exp_month}).bind(6, std::int64_t{p.exp_year}).bind(7, p.fingerprint);
  insert.bind_text_or_null(8, p.customer).bind(9, p.created_at_ms);
  insert.bind_text_or_null(10, p.country).bind_text_or_null(11, p.card_type);
  insert.run();
}

std::optional<Payment> SqliteWriteStore::find_payment(const std::string& id) {
  Statement& select = statements_->select_payment;
  ResetOnExit reset(select);
  select.bind(1, id);
  if (!select.step()) return std::nullopt;
  return read_payment(select);
}

void SqliteWriteStore::put_payment(const Payment& p) {
  Statement& upsert = statements_->upsert_payment;
  upsert.bind(1, p.id).bind(2, p.amount).bind(3, p.currency).bind(4, p.merchant);
  upsert.bind(5, to_string(p.source_type)).bind(6, p.source_id).bind(7, to_string(p.status));
  upsert.bind(8, std::int64_t{p.capture ? 1 : 0}).bind(9, p.amount_captured).bind(10, p.amount_refunded);
  upsert.bind(11, p.fee).bind(12, p.held).bind_text_or_null(13, p.gateway).bind_text_or_null(14, p.gateway_reference);
  upsert.bind_text_or_null(15, p.failure_code).bind_text_or_null(16, p.description).bind(17, p.metadata_json);
  upsert.bind_text_or_null(18, p.idempotency_key).bind(19, p.created_at_ms).bind(20, p.updated_at_ms);
  std::string rate = p.fx ? format_rate(p.fx->rate) : std::string();
  if (p.fx) {
    upsert.bind(21, rate).bind(22, p.fx->rate.mantissa).bind(23, std::int64_t{p.fx->rate.scale});
    upsert.bind(24, p.fx->version).bind(25, p.fx->settlement_currency).bind(26, p.fx->settlement_amount);
  } else {
    for (int column = 21; column <= 26; ++column) upsert.bind_null(column);
  }
  upsert.bind_text_or_null(27, p.review);
  upsert.run();
}

void SqliteWriteStore::insert_refund(const Refund& r) {
  Statement& insert = statements_->insert_refund;
  insert.bind(1, r.id).bind(2, r.payment).bind(3, r.amount).bind(4, to_string(r.status));
  insert.bind_text_or_null(5, r.reason).bind(6, r.created_at_ms);
  insert.run();
}

FxRate SqliteWriteStore::put_fx_rate(const std::string& base, const std::string& quote, const Rate& rate,
                                     std::int64_t now_ms) {
  Statement& upsert = statements_->upsert_fx_rate;
  std::string rate_text = format_rate(rate);
  ResetOnExit reset(upsert);
  upsert.bind(1, base).bind(2, quote).bind(3, rate_text).bind(4, rate.mantissa);
  upsert.bind(5, std::int64_t{rate.scale}).bind(6, now_ms);
  [[maybe_unused]] bool returned = upsert.step();
  assert(returned);
  return read_fx_rate(upsert);
}

void SqliteWriteStore::flush() {
  Statement& update = statements_->update_balance;
  for (Account* account : touched_) {
    assert(account->held >= 0 && account->version >= 0);
    update.bind(1, account->balance).bind(2, account->held).bind(3, account->version).bind(4, account->id);
    update.run();
    assert(connection_.changes() == 1);
  }
  touched_.clear();
  touched_set_.clear();
  if (accounts_.size() > cached_accounts_max) accounts_.clear();
}

void SqliteWriteStore::discard_cached_state() {
  load_entry_numbers();
  accounts_.clear();
  system_accounts_.clear();
  touched_.clear();
  touched_set_.clear();
}

}  // namespace payd::ledger::sqlite
