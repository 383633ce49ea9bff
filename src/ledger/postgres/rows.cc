#include "ledger/postgres/rows.h"

#include "ledger/sqlite/rows.h"

namespace payd::ledger::postgres {
namespace {

SystemRole parse_role(const std::string& text) {
  if (text == "external") return SystemRole::external;
  if (text == "fees") return SystemRole::fees;
  if (text == "gateway_clearing") return SystemRole::gateway_clearing;
  return SystemRole::none;
}

bool boolean(const Rows& rows, int row, int column) { return rows.text(row, column) == "t"; }

}  // namespace

Account read_account(const Rows& rows, int row) {
  Account account;
  account.id = rows.text(row, 0);
  account.currency = rows.text(row, 1);
  account.type = parse_account_type(rows.text(row, 2)).value_or(AccountType::internal);
  account.role = parse_role(rows.text(row, 3));
  account.overdraft_limit = rows.integer(row, 4);
  account.metadata_json = rows.text(row, 5);
  account.created_at_ms = rows.integer(row, 6);
  account.balance = rows.integer(row, 7);
  account.held = rows.integer(row, 8);
  account.version = rows.integer(row, 9);
  return account;
}

Entry read_entry(const Rows& rows, int row) {
  return Entry{sqlite::entry_id(rows.integer(row, 0)), rows.text(row, 1),    rows.text(row, 2),
               rows.integer(row, 3),                   rows.text(row, 4),    rows.integer(row, 5),
               rows.integer(row, 6),                   rows.integer(row, 7)};
}

Transfer read_transfer(const Rows& rows, int row) {
  return Transfer{rows.text(row, 0), rows.text(row, 1), rows.text(row, 2), rows.integer(row, 3),
                  rows.text(row, 4), rows.text(row, 5), rows.text(row, 6), rows.integer(row, 7)};
}

Merchant read_merchant(const Rows& rows, int row) {
  Merchant merchant;
  merchant.id = rows.text(row, 0);
  merchant.name = rows.text(row, 1);
  merchant.settlement_currency = rows.text(row, 2);
  merchant.max_amount = rows.integer(row, 3);
  merchant.fee_bps = rows.integer(row, 4);
  merchant.fee_fixed = rows.integer(row, 5);
  merchant.mcc = rows.text(row, 6);
  merchant.processor = rows.text(row, 7);
  merchant.active = boolean(rows, row, 8);
  merchant.account = rows.text(row, 9);
  merchant.created_at_ms = rows.integer(row, 10);
  merchant.updated_at_ms = rows.integer(row, 11);
  return merchant;
}

PaymentMethod read_payment_method(const Rows& rows, int row) {
  PaymentMethod method;
  method.id = rows.text(row, 0);
  method.brand = rows.text(row, 1);
  method.bin = rows.text(row, 2);
  method.last4 = rows.text(row, 3);
  method.exp_month = static_cast<int>(rows.integer(row, 4));
  method.exp_year = static_cast<int>(rows.integer(row, 5));
  method.fingerprint = rows.text(row, 6);
  method.customer = rows.text(row, 7);
  method.created_at_ms = rows.integer(row, 8);
  return method;
}

Payment read_payment(const Rows& rows, int row) {
  Payment payment;
  payment.id = rows.text(row, 0);
  payment.amount = rows.integer(row, 1);
  payment.currency = rows.text(row, 2);
  payment.merchant = rows.text(row, 3);
  payment.source_type = rows.text(row, 4) == "card" ? SourceType::card : SourceType::account;
  payment.source_id = rows.text(row, 5);
  payment.status = parse_payment_status(rows.text(row, 6)).value_or(PaymentStatus::failed);
  payment.capture = boolean(rows, row, 7);
  payment.amount_captured = rows.integer(row, 8);
  payment.amount_refunded = rows.integer(row, 9);
  payment.fee = rows.integer(row, 10);
  payment.held = rows.integer(row, 11);
  payment.gateway = rows.text(row, 12);
  payment.gateway_reference = rows.text(row, 13);
  payment.failure_code = rows.text(row, 14);
  payment.description = rows.text(row, 15);
  payment.metadata_json = rows.text(row, 16);
  payment.idempotency_key = rows.text(row, 17);
  payment.created_at_ms = rows.integer(row, 18);
  payment.updated_at_ms = rows.integer(row, 19);
  return payment;
}

}  // namespace payd::ledger::postgres
