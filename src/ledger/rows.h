// Rows of the ledger's tables as the domain's records, for every backend.
//
// Both schemas name and order their columns alike, so one column list and
// one reader per record serve SQLite and PostgreSQL. A reader takes any row
// type with `text(column)` ("" for NULL), `integer(column)` and
// `boolean(column)`: a SQLite statement on its current row, or a view of
// one row of a PostgreSQL result.
#pragma once

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/model.h"

namespace payd::ledger {

inline constexpr const char* account_columns =
    "id, currency, type, role, overdraft_limit, metadata, created_at, balance, held, version";
inline constexpr const char* entry_columns =
    "number, account, transfer, amount, currency, balance_after, sequence, created_at";
inline constexpr const char* journal_columns =
    "id, from_account, to_account, amount, currency, description, metadata, created_at";
inline constexpr const char* merchant_columns =
    "id, name, settlement_currency, max_amount, fee_bps, fee_fixed, mcc, processor, active, account, created_at, "
    "updated_at";
inline constexpr const char* payment_method_columns =
    "id, brand, bin, last4, exp_month, exp_year, fingerprint, customer, created_at, country, card_type";
inline constexpr const char* payment_columns =
    "id, amount, currency, merchant, source_type, source_id, status, capture, amount_captured, amount_refunded, fee, "
    "held, gateway, gateway_reference, failure_code, description, metadata, idempotency_key, created_at, updated_at, "
    "fx_rate, fx_rate_mantissa, fx_rate_scale, fx_version, fx_settlement_currency, fx_settlement_amount, review";
inline constexpr const char* fx_rate_columns = "base, quote, rate, mantissa, scale, version, updated_at";

// Entry ids encode the entry's number (its place in posting order), so they
// sort by creation like every other id: "ent_" and 24 base32 digits.
std::string entry_id(std::int64_t number);
// The number an entry id encodes; nullopt when it is not an entry id.
std::optional<std::int64_t> entry_number(std::string_view id);

SystemRole parse_system_role(const std::string& text);

// Each reads a row that selected the matching column list above.
template <typename Row>
Account read_account(const Row& row) {
  Account account;
  account.id = row.text(0);
  account.currency = row.text(1);
  account.type = parse_account_type(row.text(2)).value_or(AccountType::internal);
  account.role = parse_system_role(row.text(3));
  account.overdraft_limit = row.integer(4);
  account.metadata_json = row.text(5);
  account.created_at_ms = row.integer(6);
  account.balance = row.integer(7);
  account.held = row.integer(8);
  account.version = row.integer(9);
  return account;
}

template <typename Row>
Entry read_entry(const Row& row) {
  return Entry{entry_id(row.integer(0)), row.text(1),    row.text(2),    row.integer(3),
               row.text(4),              row.integer(5), row.integer(6), row.integer(7)};
}

template <typename Row>
Transfer read_transfer(const Row& row) {
  return Transfer{row.text(0), row.text(1), row.text(2), row.integer(3),
                  row.text(4), row.text(5), row.text(6), row.integer(7)};
}

template <typename Row>
Merchant read_merchant(const Row& row) {
  Merchant merchant;
  merchant.id = row.text(0);
  merchant.name = row.text(1);
  merchant.settlement_currency = row.text(2);
  merchant.max_amount = row.integer(3);
  merchant.fee_bps = row.integer(4);
  merchant.fee_fixed = row.integer(5);
  merchant.mcc = row.text(6);
  merchant.processor = row.text(7);
  merchant.active = row.boolean(8);
  merchant.account = row.text(9);
  merchant.created_at_ms = row.integer(10);
  merchant.updated_at_ms = row.integer(11);
  return merchant;
}

template <typename Row>
PaymentMethod read_payment_method(const Row& row) {
  PaymentMethod method;
  method.id = row.text(0);
  method.brand = row.text(1);
  method.bin = row.text(2);
  method.last4 = row.text(3);
  method.exp_month = static_cast<int>(row.integer(4));
  method.exp_year = static_cast<int>(row.integer(5));
  method.fingerprint = row.text(6);
  method.customer = row.text(7);
  method.created_at_ms = row.integer(8);
  method.country = row.text(9);
  method.card_type = row.text(10);
  return method;
}

template <typename Row>
Payment read_payment(const Row& row) {
  Payment payment;
  payment.id = row.text(0);
  payment.amount = row.integer(1);
  payment.currency = row.text(2);
  payment.merchant = row.text(3);
  payment.source_type = row.text(4) == "card" ? SourceType::card : SourceType::account;
  payment.source_id = row.text(5);
  payment.status = parse_payment_status(row.text(6)).value_or(PaymentStatus::failed);
  payment.capture = row.boolean(7);
  payment.amount_captured = row.integer(8);
  payment.amount_refunded = row.integer(9);
  payment.fee = row.integer(10);
  payment.held = row.integer(11);
  payment.gateway = row.text(12);
  payment.gateway_reference = row.text(13);
  payment.failure_code = row.text(14);
  payment.description = row.text(15);
  payment.metadata_json = row.text(16);
  payment.idempotency_key = row.text(17);
  payment.created_at_ms = row.integer(18);
  payment.updated_at_ms = row.integer(19);
  if (!row.text(20).empty()) {
    PaymentFx fx;
    fx.rate = Rate{row.integer(21), static_cast<int>(row.integer(22))};
    fx.version = row.integer(23);
    fx.settlement_currency = row.text(24);
    fx.settlement_amount = row.integer(25);
    assert(format_rate(fx.rate) == row.text(20));  // the text and the exact form agree
    payment.fx = std::move(fx);
  }
  payment.review = row.text(26);
  return payment;
}

template <typename Row>
FxRate read_fx_rate(const Row& row) {
  FxRate rate;
  rate.base = row.text(0);
  rate.quote = row.text(1);
  rate.rate = Rate{row.integer(3), static_cast<int>(row.integer(4))};
  rate.version = row.integer(5);
  rate.updated_at_ms = row.integer(6);
  assert(format_rate(rate.rate) == row.text(2));  // the text and the exact form agree
  return rate;
}

}  // namespace payd::ledger
