#include "ledger/postgres/reads.h"

#include <algorithm>
#include <cassert>
#include <optional>
#include <string_view>

#include "ledger/postgres/rows.h"
#include "ledger/rows.h"

namespace payd::ledger::postgres {
namespace {

std::string select_from(const char* columns, const std::string& rest) {
  return std::string("SELECT ") + columns + " FROM " + rest;
}

constexpr int column_count(std::string_view columns) {
  return static_cast<int>(std::count(columns.begin(), columns.end(), ',')) + 1;
}

// A read of one row found by its key: not_found with `missing` when there
// is none.
template <typename T>
Read<T> single_row_read(const char* statement, Parameters parameters, T (*reader)(const Rows&, int),
                        std::string missing) {
  Read<T> read;
  read.statements.push_back({statement, std::move(parameters)});
  read.answer = [reader, missing = std::move(missing)](std::vector<Rows>& rows) -> Result<T> {
    assert(rows.size() == 1);
    if (rows[0].size() == 0) return not_found(missing);
    return reader(rows[0], 0);
  };
  return read;
}

// The page of `limit` records from rows that hold up to limit + 1.
template <typename T>
List<T> page_from_rows(const Rows& rows, int limit, T (*reader)(const Rows&, int)) {
  std::vector<T> found;
  for (int row = 0; row < rows.size(); ++row) found.push_back(reader(rows, row));
  return page_of(std::move(found), limit);
}

}  // namespace

const std::vector<ReadStatement>& read_statements() {
  static const std::vector<ReadStatement> statements = {
      {"read_account", select_from(account_columns, "accounts WHERE id = $1")},
      {"read_transfer", select_from(journal_columns, "journal WHERE id = $1 AND kind = 'transfer'")},
      {"read_merchant", select_from(merchant_columns, "merchants WHERE id = $1")},
      {"read_payment_method", select_from(payment_method_columns, "payment_methods WHERE id = $1")},
      {"read_payment", select_from(payment_columns, "payments WHERE id = $1")},
      {"read_fx_rate", select_from(fx_rate_columns, "fx_rates WHERE base = $1 AND quote = $2")},
      {"read_account_exists", "SELECT 1 FROM balances WHERE account = $1"},
      {"read_entry_cursor", "SELECT sequence FROM entries WHERE number = $2 AND account = $1"},
      // Newest first, before the cursor entry when there is one ($2 NULL:
      // from the newest).
      {"read_entries_page",
       select_from(entry_columns,
                   "entries WHERE account = $1 AND sequence < coalesce((SELECT sequence FROM entries WHERE number = "
                   "$2 AND account = $1), 9223372036854775807) ORDER BY sequence DESC LIMIT $3")},
      {"read_merchant_exists", "SELECT 1 FROM merchants WHERE id = $1"},
      // COLLATE "C": ids compare bytewise, as in SQLite, whatever the
      // database's collation. "~" sorts after every id.
      {"read_payments_page",
       select_from(payment_columns,
                   "payments WHERE merchant = $1 AND id COLLATE \"C\" < $2 ORDER BY id COLLATE \"C\" DESC LIMIT $3")},
      {"read_idempotency_key", "SELECT 1 FROM idempotency_keys WHERE key = $1"},
      // Every currency's sum, joined with its system accounts (none: one
      // row of NULL account columns). The sums' columns are renamed so the
      // account columns name the accounts view alone.
      {"read_trial_balance",
       std::string("SELECT ") + account_columns +
           ", sum_currency, sum_balance FROM (SELECT currency AS sum_currency, sum(balance)::bigint AS sum_balance "
           "FROM accounts GROUP BY currency) sums LEFT JOIN accounts ON currency = sum_currency AND role IS NOT NULL "
           "ORDER BY sum_currency, role"},
  };
  return statements;
}

Read<Account> account_read(const std::string& id) {
  return single_row_read("read_account", Parameters().add(id), read_account, "no account " + id);
}

Read<Transfer> transfer_read(const std::string& id) {
  return single_row_read("read_transfer", Parameters().add(id), read_transfer, "no transfer " + id);
}

Read<Merchant> merchant_read(const std::string& id) {
  return single_row_read("read_merchant", Parameters().add(id), read_merchant, "no merchant " + id);
}

Read<PaymentMethod> payment_method_read(const std::string& id) {
  return single_row_read("read_payment_method", Parameters().add(id), read_payment_method,
                         "no payment method " + id);
}

Read<Payment> payment_read(const std::string& id) {
  return single_row_read("read_payment", Parameters().add(id), read_payment, "no payment " + id);
}

Read<FxRate> fx_rate_read(const std::string& base, const std::string& quote) {
  return single_row_read("read_fx_rate", Parameters().add(base).add(quote), read_fx_rate,
                         "no FX rate " + base + "/" + quote);
}

Read<List<Entry>> entries_read(const std::string& account, const Page& page) {
  std::optional<std::int64_t> cursor = entry_number(page.starting_after);
  Parameters account_and_cursor = Parameters().add(account);
  if (cursor) {
    account_and_cursor.add(*cursor);
  } else {
    account_and_cursor.add_null();
  }
  Read<List<Entry>> read;
  read.statements.push_back({"read_account_exists", Parameters().add(account)});
  read.statements.push_back({"read_entry_cursor", account_and_cursor});
  read.statements.push_back({"read_entries_page", Parameters(account_and_cursor).add(std::int64_t{page.limit} + 1)});
  read.answer = [account, page, cursor](std::vector<Rows>& rows) -> Result<List<Entry>> {
    assert(rows.size() == 3);
    if (rows[0].size() == 0) return not_found("no account " + account);
    if (!page.starting_after.empty() && (!cursor || rows[1].size() == 0)) {
      return invalid_request("no entry " + page.starting_after + " in this list", "starting_after");
    }
    return page_from_rows(rows[2], page.limit, read_entry);
  };
  return read;
}

Read<List<Payment>> payments_read(const std::string& merchant, const Page& page) {
  std::string before = page.starting_after.empty() ? std::string("~") : page.starting_after;
  Read<List<Payment>> read;
  read.statements.push_back({"read_merchant_exists", Parameters().add(merchant)});
  read.statements.push_back(
      {"read_payments_page", Parameters().add(merchant).add(before).add(std::int64_t{page.limit} + 1)});
  read.answer = [merchant, page](std::vector<Rows>& rows) -> Result<List<Payment>> {
    assert(rows.size() == 2);
    if (rows[0].size() == 0) return invalid_request("no merchant " + merchant, "merchant");
    return page_from_rows(rows[1], page.limit, read_payment);
  };
  return read;
}

Read<bool> idempotency_key_read(const std::string& key) {
  Read<bool> read;
  read.statements.push_back({"read_idempotency_key", Parameters().add(key)});
  read.answer = [](std::vector<Rows>& rows) -> Result<bool> {
    assert(rows.size() == 1);
    return rows[0].size() != 0;
  };
  return read;
}

Read<std::vector<TrialBalanceLine>> trial_balance_read() {
  Read<std::vector<TrialBalanceLine>> read;
  read.statements.push_back({"read_trial_balance", Parameters()});
  read.answer = [](std::vector<Rows>& rows) -> Result<std::vector<TrialBalanceLine>> {
    assert(rows.size() == 1);
    constexpr int sum_currency_column = column_count(account_columns);  // after the account columns
    std::vector<TrialBalanceLine> lines;
    for (int row = 0; row < rows[0].size(); ++row) {
      std::string currency = rows[0].text(row, sum_currency_column);
      if (lines.empty() || lines.back().currency != currency) {
        lines.push_back({currency, rows[0].integer(row, sum_currency_column + 1), {}});
      }
      if (!rows[0].is_null(row, 0)) lines.back().system_accounts.push_back(read_account(rows[0], row));
    }
    assert(lines.size() <= static_cast<std::size_t>(rows[0].size()));
    return lines;
  };
  return read;
}

}  // namespace payd::ledger::postgres
