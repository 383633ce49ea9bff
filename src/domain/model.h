// The ledger's records, as the API shows them.
//
// Plain structs with no behaviour: the ledger reads and writes them, the API
// renders them (render.h). Money fields are minor units; times are Unix
// milliseconds; metadata is kept as its serialised JSON object ("{}" when
// none), validated at the API boundary.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/fx.h"
#include "core/money.h"
#include "domain/payment_state.h"

namespace payd {

enum class AccountType { customer, merchant, internal };
std::string_view to_string(AccountType type);
std::optional<AccountType> parse_account_type(std::string_view text);

// Built-in accounts, one of each per currency, made on first use. The fx
// account of a currency is the counterparty of cross-currency payments:
// it takes the payment currency on one side and pays out the settlement
// currency on the other, so each currency balances on its own.
enum class SystemRole { none, external, fees, gateway_clearing, fx };
std::string_view to_string(SystemRole role);

struct Account {
  std::string id;
  std::string currency;
  AccountType type = AccountType::customer;
  SystemRole role = SystemRole::none;
  Minor balance = 0;          // sum of posted entries
  Minor held = 0;             // sum of open authorisation holds
  Minor overdraft_limit = 0;  // >= 0; system accounts are not limited
  std::int64_t version = 0;   // number of entries
  std::int64_t created_at_ms = 0;
  std::string metadata_json = "{}";
};

// available = balance - held + overdraft_limit; nullopt on overflow.
std::optional<Minor> available(const Account& account);

struct Entry {
  std::string id;
  std::string account;
  std::string transfer;  // the journal transfer (tr_, dep_, pay_, re_ id)
  Minor amount = 0;      // signed: negative debits, positive credits
  std::string currency;
  Minor balance_after = 0;
  std::int64_t sequence = 0;  // 1, 2, ... per account
  std::int64_t created_at_ms = 0;
};

struct Transfer {
  std::string id;
  std::string from;
  std::string to;
  Minor amount = 0;
  std::string currency;
  std::string description;
  std::string metadata_json = "{}";
  std::int64_t created_at_ms = 0;
};

struct Deposit {
  std::string id;
  std::string account;
  Minor amount = 0;
  std::string currency;
  std::string metadata_json = "{}";
  std::int64_t created_at_ms = 0;
};

struct Merchant {
  std::string id;
  std::string name;
  std::string settlement_currency;
  Minor max_amount = 0;
  std::int64_t fee_bps = 0;
  Minor fee_fixed = 0;
  std::string mcc;        // empty when none
  std::string processor;  // gateway name; empty means the default
  bool active = true;
  std::string account;  // ledger account in the settlement currency
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

struct PaymentMethod {
  std::string id;
  std::string brand;
  std::string bin;  // first six digits
  std::string last4;
  int exp_month = 0;
  int exp_year = 0;
  std::string fingerprint;  // keyed hash of the number; the number itself is never kept
  std::string customer;     // account id or empty
  std::int64_t created_at_ms = 0;
  std::string country;    // issuing country from the BIN table; empty when unknown
  std::string card_type;  // credit, debit or prepaid from the BIN table; empty when unknown
};

// How a payment in another currency than its merchant's settlement
// currency converts: at the rate current when it was created, recorded with
// it and used for its capture and refunds whatever the rate does later.
struct PaymentFx {
  Rate rate;                        // payment currency -> settlement currency
  std::int64_t version = 0;         // the rate's version
  std::string settlement_currency;  // the merchant's
  Minor settlement_amount = 0;      // `amount` converted (core/fx.h: half to even)
};

enum class SourceType { card, account };
std::string_view to_string(SourceType type);

struct Payment {
  std::string id;
  Minor amount = 0;
  std::string currency;
  std::string merchant;
  SourceType source_type = SourceType::account;
  std::string source_id;  // pm_ or acct_
  PaymentStatus status = PaymentStatus::pending;
  bool capture = true;  // requested at creation
  Minor amount_captured = 0;
  Minor amount_refunded = 0;
  Minor fee = 0;
  Minor held = 0;  // open wallet hold; 0 once captured, voided or failed
  std::string gateway;
  std::string gateway_reference;
  std::string failure_code;
  std::string description;
  std::string metadata_json = "{}";
  std::string idempotency_key;  // the key that created it (for recovery)
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::optional<PaymentFx> fx;  // when the currency differs from the settlement currency
  std::string review;           // "fx_drift", or empty
};

// What a cross-currency payment's `amount` of its own currency settles as
// (the whole `amount` for any other payment). Precondition: 0 <= amount <=
// payment.amount, whose conversion fitted when the payment was made.
Minor settlement_of(const Payment& payment, Minor amount);

enum class RefundStatus { succeeded, pending, failed };
std::string_view to_string(RefundStatus status);

struct Refund {
  std::string id;
  std::string payment;
  Minor amount = 0;
  RefundStatus status = RefundStatus::succeeded;
  std::string reason;
  std::int64_t created_at_ms = 0;
};

// The current rate of a currency pair (API.md, Reference data): one unit
// of `base` buys `rate` units of `quote`. `version` is 1 for the first rate
// of the pair and one more for each later one.
struct FxRate {
  std::string base;
  std::string quote;
  Rate rate;
  std::int64_t version = 0;
  std::int64_t updated_at_ms = 0;
};

}  // namespace payd
