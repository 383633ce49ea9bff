#include "domain/model.h"

#include <cassert>

#include "core/currency.h"

namespace payd {

std::string_view to_string(AccountType type) {
  switch (type) {
    case AccountType::customer: return "customer";
    case AccountType::merchant: return "merchant";
    case AccountType::internal: return "internal";
  }
  return "customer";
}

std::optional<AccountType> parse_account_type(std::string_view text) {
  if (text == "customer") return AccountType::customer;
  if (text == "merchant") return AccountType::merchant;
  if (text == "internal") return AccountType::internal;
  return std::nullopt;
}

std::string_view to_string(SystemRole role) {
  switch (role) {
    case SystemRole::none: return "";
    case SystemRole::external: return "external";
    case SystemRole::fees: return "fees";
    case SystemRole::gateway_clearing: return "gateway_clearing";
    case SystemRole::fx: return "fx";
  }
  return "";
}

std::optional<Minor> available(const Account& account) {
  std::optional<Minor> unheld = checked_subtract(account.balance, account.held);
  if (!unheld) return std::nullopt;
  return checked_add(*unheld, account.overdraft_limit);
}

Minor settlement_of(const Payment& payment, Minor amount) {
  assert(amount >= 0 && amount <= payment.amount);
  if (!payment.fx) return amount;
  const Currency* from = find_currency(payment.currency);
  const Currency* to = find_currency(payment.fx->settlement_currency);
  assert(from && to);
  std::optional<Minor> settled = convert_minor(amount, from->minor_units, to->minor_units, payment.fx->rate);
  assert(settled.has_value() && *settled <= payment.fx->settlement_amount);
  return settled.value_or(0);
}

std::string_view to_string(SourceType type) { return type == SourceType::card ? "card" : "account"; }

std::string_view to_string(RefundStatus status) {
  switch (status) {
    case RefundStatus::succeeded: return "succeeded";
    case RefundStatus::pending: return "pending";
    case RefundStatus::failed: return "failed";
  }
  return "failed";
}

}  // namespace payd
