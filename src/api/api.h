// Api: payd's HTTP handler. Decode and validate, make a command, encode.
//
// Every request goes through one of three paths:
//  - reads go straight to the ledger's read connections, and those of the
//    ledger's records wait for them off the event loop (the *_async reads);
//  - money-moving POSTs: 415 check, Idempotency-Key, body validation (400s
//    are never stored), then the in-flight key gate (409), then one ledger
//    submission whose outcome is stored with its effects and replayed
//    byte for byte. The records a command is built from (merchant, payment
//    method, payment, FX rate) are read with the same *_async reads, so a
//    POST does not hold the event loop while the database answers either;
//  - card payments add the gateway phases of CardFlow.
// Problems are RFC 9457 bodies with the stable codes of API.md.
//
// Thread-safe: handle() is called on the server's threads; ledger outcomes
// arrive on a ledger thread (see ledger.h).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "api/idempotency_cache.h"
#include "api/in_flight_keys.h"
#include "api/rate_limiter.h"
#include "cache/cache.h"
#include "cache/cache_aside.h"
#include "cache/redis_cache.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/scheduler.h"
#include "domain/render.h"
#include "gateway/gateway.h"
#include "gateway/health.h"
#include "http/http.h"
#include "ledger/ledger.h"
#include "metrics/metrics.h"
#include "payments/card_flow.h"
#include "reference/bins.h"
#include "reference/fx_rates.h"

namespace payd::api {

struct ApiOptions {
  RateLimitOptions rate_limits;
  std::int64_t session_ttl_ms = 15 * 60 * 1000;
  std::string card_fingerprint_key;  // secret for card fingerprints
  std::string ledger_backend = "sqlite";
  // A cross-currency capture is marked review:"fx_drift" when the current
  // rate is more than this many basis points away from the payment's.
  std::int64_t fx_drift_tolerance_bps = 50;
};

struct Dependencies {
  ledger::Ledger& ledger;
  cache::Cache& cache;
  gateway::Gateway& gateway;
  payments::CardFlow& card_flow;
  Clock& clock;
  IdGenerator& ids;
  metrics::Registry& registry;
  reference::FxRates& fx_rates;
  reference::Bins& bins;
  gateway::StatusStore& gateway_statuses;
  cache::CacheAside& reference_cache;    // merchant config, payment methods (cache-aside)
  cache::RedisCache* redis = nullptr;    // the payment cache on Redis, when configured
  Scheduler* scheduler = nullptr;        // the HTTP event loop: where cache answers continue
};

// One request being answered.
struct Call {
  http::Request request;
  http::Respond respond;
  std::string route;                // "POST /v1/transfers": the metrics label
  std::vector<std::string> params;  // path parameters, in order
};

class Api final : public http::Handler {
 public:
  Api(Dependencies dependencies, ApiOptions options);
  ~Api() override;

  void handle(http::Request request, http::Respond respond) override;

 private:
  using Handler = void (Api::*)(Call call);
  struct Route {
    std::string method;
    std::vector<std::string> pattern;  // segments; "*" matches one parameter
    Handler handler;
    std::string label;
  };
  // 415 check, key parse and body parse shared by every POST.
  struct Prepared {
    std::optional<std::string> key;
    boost::json::value body;
    const boost::json::object& object() const { return body.get_object(); }
  };
  // Makes the ledger command for a POST from its body and calls `done`
  // exactly once with it (or the problem to answer), at once or later
  // from a ledger read's completion. `prepared` and `call` stay valid
  // until then.
  using BuildDone = std::function<void(Result<ledger::Command> command)>;
  using BuildCommand = std::function<void(const Prepared& prepared, Call& call, BuildDone done)>;
  // A build that needs no reads.
  using BuildAtOnce = std::function<Result<ledger::Command>(const Prepared& prepared)>;
  static BuildCommand at_once(BuildAtOnce build);
  // Answers the call and releases its key.
  using Finish = std::function<void(const ledger::Outcome& outcome)>;
  // What to do with the ledger's outcome; by default, finish with it.
  using Continue = std::function<void(const ledger::Outcome& outcome, Finish finish)>;
  // How the submission reaches the ledger; by default, straight to it.
  using Dispatch = std::function<void(ledger::Submission submission, std::function<void(ledger::Outcome)> done)>;

  void add_routes();

  // Plumbing (api.cc).
  void reply(Call& call, unsigned status, std::string body, std::vector<http::Header> headers = {});
  void reply_problem(Call& call, const Problem& problem);
  void reply_outcome(Call& call, const ledger::Outcome& outcome);
  template <typename T>
  void reply_read(Call& call, const Result<T>& result);
  // A ledger *_async read's `done` that answers `call` with its result.
  template <typename T>
  ledger::Ledger::ReadDone<T> reply_when_read(Call call);
  // The same for a read of JSON text (through the reference cache),
  // answered as it is.
  ledger::Ledger::ReadDone<std::string> reply_text_when_read(Call call);
  // The POST path: prepare, take the key (409 when in flight), build the
  // command, submit it. `key_required` as API.md lists.
  // A submission on its way: shared by the steps that may complete later
  // (the cache's idempotency answer, the ledger's reads for the build).
  struct Submitting {
    Call call;
    Prepared prepared;
    std::optional<ledger::IdempotencyTag> tag;
    IdempotencyCache::Check fast;
    BuildCommand build;
    Continue next;
    Dispatch dispatch;
  };
  void proceed(std::shared_ptr<Submitting> state);
  // 409 idempotency_key_in_use, counted.
  Problem key_in_use();
  void build_and_dispatch(std::shared_ptr<Submitting> state);
  void dispatch(std::shared_ptr<Submitting> state, ledger::Command command);
  void submit(Call call, bool key_required, const BuildCommand& build, Continue next = {},
              Dispatch dispatch = {});
  Result<Prepared> prepare(const Call& call, bool key_required);
  Result<ledger::Page> page_from_query(const std::string& query, std::string* merchant);

  // Accounts, deposits, transfers, merchants, payment methods (ledger_routes.cc).
  void create_account(Call call);
  void get_account(Call call);
  void list_entries(Call call);
  void create_deposit(Call call);
  void create_transfer(Call call);
  void get_transfer(Call call);
  void create_merchant(Call call);
  void update_merchant(Call call);
  void get_merchant(Call call);
  void create_payment_method(Call call);
  void get_payment_method(Call call);

  // Payments and sessions (payment_routes.cc).
  struct PaymentContext;
  void create_payment(Call call);
  // create_payment's build, in the order of its reads: the merchant's FX
  // rate, the payment method, then the session and the rate limit.
  void build_payment(std::shared_ptr<PaymentContext> context, BuildDone done);
  void read_payment_source(std::shared_ptr<PaymentContext> context, BuildDone done);
  void take_session(std::shared_ptr<PaymentContext> context, BuildDone done);
  void limit_payment_rate(std::shared_ptr<PaymentContext> context, BuildDone done);
  void get_payment(Call call);
  void list_payments(Call call);
  void capture_payment(Call call);
  void void_payment(Call call);
  void refund_payment(Call call);
  void create_session(Call call);
  void get_session(Call call);

  // Operations (operation_routes.cc).
  void healthz(Call call);
  void readyz(Call call);
  void reply_readiness(Call& call, bool ledger_ready);
  void metrics(Call call);
  void problem_description(Call call);
  void admin_status(Call call);
  void trial_balance(Call call);
  void list_gateways(Call call);

  // Cache-aside keys and lifetimes (DESIGN.md, key layout).
  static std::string merchant_cache_key(const std::string& id) { return "merchant:config:" + id; }
  static std::string payment_method_cache_key(const std::string& id) { return "payment:method:" + id; }
  static constexpr std::int64_t merchant_cache_ttl_ms = 15 * 60 * 1000;
  static constexpr std::int64_t payment_method_cache_ttl_ms = 60 * 60 * 1000;
  // `key` through the reference cache; on a miss `read` (a ledger
  // *_async read) loads the record, rendered as JSON.
  template <typename T>
  void read_through_cache(const std::string& key, std::int64_t ttl_ms,
                          std::function<void(ledger::Ledger::ReadDone<T>)> read,
                          ledger::Ledger::ReadDone<std::string> done);
  // A payment method's JSON, through the cache.
  void payment_method_json(const std::string& id, ledger::Ledger::ReadDone<std::string> done);
  // The merchant's JSON, through the cache.
  void merchant_json(const std::string& id, ledger::Ledger::ReadDone<std::string> done);
  // A payment method, through the cache (created_at left out).
  void cached_payment_method(const std::string& id, ledger::Ledger::ReadDone<PaymentMethod> done);
  std::string cache_status() const;
  // Reference data: FX rates, BINs (reference_routes.cc).
  void put_fx_rate(Call call);
  void get_fx_rate(Call call);
  void get_bin(Call call);

  Dependencies deps_;
  ApiOptions options_;
  InFlightKeys in_flight_;
  RateLimiter rate_limiter_;
  IdempotencyCache idempotency_cache_;
  std::vector<Route> routes_;
  metrics::Counter& keys_in_use_;
  metrics::Counter& rate_limited_;
  metrics::Counter& fx_drift_reviews_;
};

// A page of a ledger list, as API.md renders lists.
template <typename T>
std::string render(const ledger::List<T>& list) {
  return render_list_of(list.data, list.has_more);
}

template <typename T>
void Api::reply_read(Call& call, const Result<T>& result) {
  if (!result.ok()) return reply_problem(call, result.problem());
  reply(call, 200, render(result.value()));
}

template <typename T>
ledger::Ledger::ReadDone<T> Api::reply_when_read(Call call) {
  return [this, call = std::move(call)](Result<T> result) mutable { reply_read(call, result); };
}

}  // namespace payd::api
