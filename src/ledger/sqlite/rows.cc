#include "ledger/sqlite/rows.h"

namespace payd::ledger::sqlite {
namespace {

SystemRole parse_role(const std::string& text) {
  if (text == "external") return SystemRole::external;
  if (text == "fees") return SystemRole::fees;
  if (text == "gateway_clearing") return SystemRole::gateway_clearing;
  return SystemRole::none;
}

}  // namespace

Account read_account(const Statement& row) {
  Account account;
  account.id = row.text(0);
  account.currency = row.text(1);
  account.type = parse_account_type(row.text(2)).value_or(AccountType::internal);
  account.role = parse_role(row.text(3));
  account.overdraft_limit = row.integer(4);
  account.metadata_json = row.text(5);
  account.created_at_ms = row.integer(6);
  account.balance = row.integer(7);
  account.held = row.integer(8);
  account.version = row.integer(9);
  return account;
}

constexpr char id_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::string_view entry_prefix = "ent_";
constexpr std::size_t entry_digits = 24;

std::string entry_id(std::int64_t number) {
  std::string id(entry_prefix);
  id.append(entry_digits, '0');
  auto value = static_cast<std::uint64_t>(number);
  for (std::size_t i = id.size(); value != 0; value >>= 5) id[--i] = id_alphabet[value & 31];
  return id;
}

std::optional<std::int64_t> entry_number(std::string_view id) {
  if (id.size() != entry_prefix.size() + entry_digits || id.substr(0, entry_prefix.size()) != entry_prefix) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (char c : id.substr(entry_prefix.size())) {
    std::string_view alphabet(id_alphabet);
    std::size_t digit = alphabet.find(c);
    if (digit == std::string_view::npos || value >> 59 != 0) return std::nullopt;
    value = value << 5 | digit;
  }
  if (value == 0 || value > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<std::int64_t>(value);
}

Entry read_entry(const Statement& row) {
  return Entry{entry_id(row.integer(0)), row.text(1),    row.text(2),    row.integer(3),
               row.text(4),              row.integer(5), row.integer(6), row.integer(7)};
}

Transfer read_transfer(const Statement& row) {
  return Transfer{row.text(0), row.text(1), row.text(2), row.integer(3),
                  row.text(4), row.text(5), row.text(6), row.integer(7)};
}

Merchant read_merchant(const Statement& row) {
  Merchant merchant;
  merchant.id = row.text(0);
  merchant.name = row.text(1);
  merchant.settlement_currency = row.text(2);
  merchant.max_amount = row.integer(3);
  merchant.fee_bps = row.integer(4);
  merchant.fee_fixed = row.integer(5);
  merchant.mcc = row.text(6);
  merchant.processor = row.text(7);
  merchant.active = row.integer(8) != 0;
  merchant.account = row.text(9);
  merchant.created_at_ms = row.integer(10);
  merchant.updated_at_ms = row.integer(11);
  return merchant;
}

PaymentMethod read_payment_method(const Statement& row) {
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
  return method;
}

Payment read_payment(const Statement& row) {
  Payment payment;
  payment.id = row.text(0);
  payment.amount = row.integer(1);
  payment.currency = row.text(2);
  payment.merchant = row.text(3);
  payment.source_type = row.text(4) == "card" ? SourceType::card : SourceType::account;
  payment.source_id = row.text(5);
  payment.status = parse_payment_status(row.text(6)).value_or(PaymentStatus::failed);
  payment.capture = row.integer(7) != 0;
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
  return payment;
}

}  // namespace payd::ledger::sqlite
