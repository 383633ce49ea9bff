// The ledger port: commands that move money, and reads.
//
// Writes are Commands submitted to a group-commit writer: one thread drains
// a bounded queue and commits up to batch_size_max commands per
// transaction, deciding each one on its own. A command carries its
// idempotency key and fingerprint; the writer checks the key, executes the
// command, and stores the outcome (status and exact body) in the same
// transaction as the effects (API.md, Idempotency). Reads go through their
// own connections and never wait for the writer.
//
// Thread safety: every method may be called from any thread. submit()'s
// `done` callbacks run on a ledger thread (the writer's, or the one that
// makes its commits durable, see group_commit.h) after the transaction is
// durable (or after it failed): they must be short and must not call
// submit() and wait.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/result.h"
#include "domain/model.h"

namespace payd::ledger {

// ---- Commands ------------------------------------------------------------

struct CreateAccount {
  std::string currency;
  AccountType type = AccountType::customer;
  Minor overdraft_limit = 0;
  std::string metadata_json = "{}";
};

struct MakeDeposit {
  std::string account;
  Minor amount = 0;
  std::string currency;
  std::string metadata_json = "{}";
};

struct MakeTransfer {
  std::string from;
  std::string to;
  Minor amount = 0;
  std::string currency;
  std::string description;
  std::string metadata_json = "{}";
};

struct MerchantFields {
  std::optional<std::string> name;
  std::optional<std::string> settlement_currency;
  std::optional<Minor> max_amount;
  std::optional<std::int64_t> fee_bps;
  std::optional<Minor> fee_fixed;
  std::optional<std::string> mcc;
  std::optional<std::string> processor;
  std::optional<bool> active;
};

struct CreateMerchant {
  MerchantFields fields;  // name, settlement_currency and max_amount are set
};

struct UpdateMerchant {
  std::string merchant;
  MerchantFields fields;  // settlement_currency cannot change (400)
};

struct CreatePaymentMethod {
  PaymentMethod method;  // everything but id and created_at, which the writer sets
};

// A payment from a wallet account: decided entirely inside the ledger.
struct WalletPayment {
  Minor amount = 0;
  std::string currency;
  std::string merchant;
  std::string account;
  bool capture = true;
  std::string description;
  std::string metadata_json = "{}";
  // The current rate from `currency` to the merchant's settlement currency,
  // read by the API when they differ. Missing or of another pair: 400.
  std::optional<FxRate> fx_rate;
};

// Phase 1 of a card payment: validate and record it `pending`, with the key
// marked started. Outcome: started (with payment_id) to go on to the
// gateway, or a stored final reply (merchant inactive, over limit).
struct BeginCardPayment {
  Minor amount = 0;
  std::string currency;
  std::string merchant;
  std::string payment_method;
  bool capture = true;
  std::string description;
  std::string metadata_json = "{}";
  std::optional<FxRate> fx_rate;  // as for WalletPayment
};

enum class GatewayResult { approved, declined, insufficient_funds, error, timeout };

// Phase 2 of a card payment: record what the gateway said. A timeout stores
// a 202 with the payment left pending for the recovery worker; any other
// result resolves the payment. Idempotent: a payment no longer pending is
// rendered as it is.
struct FinishCardPayment {
  std::string payment;
  GatewayResult result = GatewayResult::timeout;
  std::string gateway;
  std::string gateway_reference;
};

struct CapturePayment {
  std::string payment;
  std::optional<Minor> amount;
  // The API found the current rate more than the tolerance away from a
  // cross-currency payment's rate: a successful capture marks it for
  // review (it still settles at the payment's rate).
  bool fx_drift = false;
};

struct VoidPayment {
  std::string payment;
};

struct RefundPayment {
  std::string payment;
  std::optional<Minor> amount;
  std::string reason;
};

// Sets the current rate of a pair (validated by the API: two different
// known currencies, a parsed rate). Answers 200 with the stored rate, its
// version one more than the pair's previous one.
struct SetFxRate {
  std::string base;
  std::string quote;
  Rate rate;
};

using Command = std::variant<CreateAccount, MakeDeposit, MakeTransfer, CreateMerchant, UpdateMerchant,
                             CreatePaymentMethod, WalletPayment, BeginCardPayment, FinishCardPayment,
                             CapturePayment, VoidPayment, RefundPayment, SetFxRate>;

struct IdempotencyTag {
  std::string key;
  std::string fingerprint;
};

struct Submission {
  Command command;
  std::optional<IdempotencyTag> idempotency;
  std::string request_id;  // for problem bodies
};

// ---- Outcomes ------------------------------------------------------------

struct Reply {
  unsigned status = 200;
  std::string body;  // JSON (application/json for 2xx, problem+json otherwise)
  bool is_problem() const { return status >= 400; }
};

struct Outcome {
  enum class Kind {
    executed,  // the command ran; `reply` is its answer (stored when the rules say so)
    replayed,  // the key was completed before with this fingerprint; `reply` is the stored one
    started,   // BeginCardPayment recorded a pending payment: call the gateway for `payment_id`
    resume,    // the key belongs to a card payment whose owner died: resume `payment_id`
  };
  Kind kind = Kind::executed;
  Reply reply;
  std::string payment_id;
};

// ---- Port ----------------------------------------------------------------

struct Page {
  int limit = 20;               // 1..100
  std::string starting_after;   // id, or empty
};

template <typename T>
struct List {
  std::vector<T> data;
  bool has_more = false;
};

// The page of at most `limit` records from those a read found asking for
// limit + 1: the extra one only says there are more.
template <typename T>
List<T> page_of(std::vector<T> found, int limit) {
  List<T> list{std::move(found), false};
  list.has_more = list.data.size() > static_cast<std::size_t>(limit);
  if (list.has_more) list.data.resize(static_cast<std::size_t>(limit));
  return list;
}

struct TrialBalanceLine {
  std::string currency;
  Minor sum = 0;  // always 0 in a healthy ledger
  std::vector<Account> system_accounts;
};

class Ledger {
 public:
  virtual ~Ledger() = default;

  // Queues `submission`; `done` runs exactly once. When the queue is full,
  // `done` gets 503 overloaded at once; when the database fails, 503
  // unavailable (nothing stored, retry safe).
  virtual void submit(Submission submission, std::function<void(Outcome)> done) = 0;

  virtual Result<Account> account(const std::string& id) = 0;
  virtual Result<List<Entry>> entries(const std::string& account, const Page& page) = 0;
  virtual Result<Transfer> transfer(const std::string& id) = 0;
  virtual Result<Merchant> merchant(const std::string& id) = 0;
  virtual Result<PaymentMethod> payment_method(const std::string& id) = 0;
  virtual Result<Payment> payment(const std::string& id) = 0;
  // The current rate of base/quote; not_found when it was never set.
  virtual Result<FxRate> fx_rate(const std::string& base, const std::string& quote) = 0;
  virtual Result<List<Payment>> payments(const std::string& merchant, const Page& page) = 0;
  virtual Result<std::vector<TrialBalanceLine>> trial_balance() = 0;

  // The reads of the HTTP routes, for an event loop that must not wait on
  // a database. `done` runs exactly once with what the synchronous form
  // would return. By default it runs at once, inside the call (a backend
  // whose reads are local and fast); a backend that overrides these runs
  // it later on the event loop and never inside the call.
  template <typename T>
  using ReadDone = std::function<void(Result<T>)>;
  virtual void account_async(const std::string& id, ReadDone<Account> done) { done(account(id)); }
  virtual void entries_async(const std::string& account, const Page& page, ReadDone<List<Entry>> done) {
    done(entries(account, page));
  }
  virtual void transfer_async(const std::string& id, ReadDone<Transfer> done) { done(transfer(id)); }
  virtual void merchant_async(const std::string& id, ReadDone<Merchant> done) { done(merchant(id)); }
  virtual void payment_method_async(const std::string& id, ReadDone<PaymentMethod> done) {
    done(payment_method(id));
  }
  virtual void payment_async(const std::string& id, ReadDone<Payment> done) { done(payment(id)); }
  virtual void payments_async(const std::string& merchant, const Page& page, ReadDone<List<Payment>> done) {
    done(payments(merchant, page));
  }
  virtual void fx_rate_async(const std::string& base, const std::string& quote, ReadDone<FxRate> done) {
    done(fx_rate(base, quote));
  }
  virtual void trial_balance_async(ReadDone<std::vector<TrialBalanceLine>> done) { done(trial_balance()); }

  // Card payments left pending and not updated for `older_than_ms`, oldest
  // first, at most `limit`: the recovery worker's work list.
  virtual Result<std::vector<Payment>> pending_card_payments(std::int64_t older_than_ms, int limit) = 0;

  // Whether a durable idempotency record exists for `key` (completed or
  // started): a request with it is a retry, not a new attempt.
  virtual Result<bool> has_idempotency_key(const std::string& key) = 0;
  // The same for the event loop, as the *_async reads above.
  virtual void has_idempotency_key_async(const std::string& key, ReadDone<bool> done) {
    done(has_idempotency_key(key));
  }

  // Deletes idempotency records older than the retention; returns how many.
  virtual Result<std::int64_t> purge_idempotency(std::int64_t created_before_ms) = 0;

  // Queue depth and batch statistics for /v1/admin/status.
  struct Stats {
    std::int64_t queue_depth = 0;
    std::int64_t queue_capacity = 0;
    std::int64_t batches = 0;
    std::int64_t commands = 0;
    std::int64_t batch_size_max = 0;
  };
  virtual Stats stats() = 0;
  virtual bool healthy() = 0;

  // Stops accepting, commits what is queued, joins the writer.
  virtual void shutdown() = 0;
};

}  // namespace payd::ledger
