// Column lists and row readers shared by the writer's store and the readers.
#pragma once

#include <optional>
#include <string_view>

#include "domain/model.h"
#include "ledger/sqlite/database.h"

namespace payd::ledger::sqlite {

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
    "id, brand, bin, last4, exp_month, exp_year, fingerprint, customer, created_at";
inline constexpr const char* payment_columns =
    "id, amount, currency, merchant, source_type, source_id, status, capture, amount_captured, amount_refunded, fee, "
    "held, gateway, gateway_reference, failure_code, description, metadata, idempotency_key, created_at, updated_at";

// Entry ids encode the entry's number (its place in posting order), so they
// sort by creation like every other id: "ent_" and 24 base32 digits.
std::string entry_id(std::int64_t number);
// The number an entry id encodes; nullopt when it is not an entry id.
std::optional<std::int64_t> entry_number(std::string_view id);

// Each reads the current row of a statement that selected the columns above.
Account read_account(const Statement& row);
Entry read_entry(const Statement& row);
Transfer read_transfer(const Statement& row);
Merchant read_merchant(const Statement& row);
PaymentMethod read_payment_method(const Statement& row);
Payment read_payment(const Statement& row);

}  // namespace payd::ledger::sqlite
