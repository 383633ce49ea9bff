#include "api/api.h"

#include <boost/json/object.hpp>

#include "api/body.h"
#include "domain/idempotency.h"

namespace payd::api {
namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> segments;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) segments.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

bool is_json_content_type(const std::string& value) {
  std::string type = value.substr(0, value.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  if (type.size() != 16) return false;
  for (std::size_t i = 0; i < type.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(type[i])) != "application/json"[i]) return false;
  }
  return true;
}

}  // namespace

Api::Api(Dependencies dependencies, ApiOptions options)
    : deps_(dependencies),
      options_(std::move(options)),
      rate_limiter_(deps_.cache, deps_.clock, options_.rate_limits),
      idempotency_cache_(deps_.redis, deps_.registry),
      keys_in_use_(deps_.registry.counter("payd_idempotency_conflicts_total",
                                          "Requests refused because their key was used with another request",
                                          {{"code", "idempotency_key_in_use"}})),
      rate_limited_(deps_.registry.counter("payd_rate_limited_total", "Payment attempts refused by a rate limit")),
      fx_drift_reviews_(deps_.registry.counter("payd_fx_drift_reviews_total",
                                               "Cross-currency captures marked for review: the rate had drifted")) {
  add_routes();
}

Api::~Api() = default;

void Api::add_routes() {
  auto add = [this](std::string method, std::string path, Handler handler) {
    std::vector<std::string> pattern = split_path(path);
    std::string label = method + " " + path;
    routes_.push_back(Route{std::move(method), std::move(pattern), handler, std::move(label)});
  };
  add("GET", "/healthz", &Api::healthz);
  add("GET", "/readyz", &Api::readyz);
  add("GET", "/metrics", &Api::metrics);
  add("GET", "/problems/*", &Api::problem_description);
  add("POST", "/v1/accounts", &Api::create_account);
  add("GET", "/v1/accounts/*", &Api::get_account);
  add("GET", "/v1/accounts/*/entries", &Api::list_entries);
  add("POST", "/v1/deposits", &Api::create_deposit);
  add("POST", "/v1/transfers", &Api::create_transfer);
  add("GET", "/v1/transfers/*", &Api::get_transfer);
  add("POST", "/v1/merchants", &Api::create_merchant);
  add("GET", "/v1/merchants/*", &Api::get_merchant);
  add("PATCH", "/v1/merchants/*", &Api::update_merchant);
  add("POST", "/v1/payment_methods", &Api::create_payment_method);
  add("GET", "/v1/payment_methods/*", &Api::get_payment_method);
  add("POST", "/v1/payments", &Api::create_payment);
  add("GET", "/v1/payments", &Api::list_payments);
  add("GET", "/v1/payments/*", &Api::get_payment);
  add("POST", "/v1/payments/*/capture", &Api::capture_payment);
  add("POST", "/v1/payments/*/void", &Api::void_payment);
  add("POST", "/v1/payments/*/refunds", &Api::refund_payment);
  add("POST", "/v1/sessions", &Api::create_session);
  add("GET", "/v1/sessions/*", &Api::get_session);
  add("GET", "/v1/gateways", &Api::list_gateways);
  add("PUT", "/v1/fx_rates/*/*", &Api::put_fx_rate);
  add("GET", "/v1/fx_rates/*/*", &Api::get_fx_rate);
  add("GET", "/v1/bins/*", &Api::get_bin);
  add("GET", "/v1/admin/status", &Api::admin_status);
  add("GET", "/v1/admin/trial_balance", &Api::trial_balance);
}

void Api::handle(http::Request request, http::Respond respond) {
  std::vector<std::string> segments = split_path(request.path);
  std::string allowed;
  for (const Route& route : routes_) {
    if (route.pattern.size() != segments.size()) continue;
    std::vector<std::string> params;
    bool matches = true;
    for (std::size_t i = 0; i < segments.size() && matches; ++i) {
      if (route.pattern[i] == "*") {
        params.push_back(segments[i]);
      } else {
        matches = route.pattern[i] == segments[i];
      }
    }
    if (!matches) continue;
    if (route.method == request.method) {
      (this->*route.handler)(Call{std::move(request), std::move(respond), route.label, std::move(params)});
      return;
    }
    allowed += allowed.empty() ? route.method : ", " + route.method;
  }
  Call call{std::move(request), std::move(respond), {}, {}};
  if (allowed.empty()) {
    reply_problem(call, not_found("no route " + call.request.method + " " + call.request.path));
    return;
  }
  Problem problem = make_problem("method_not_allowed", call.request.method + " is not allowed here");
  unsigned status = problem.status();
  reply(call, status, render_problem(problem, call.request.request_id), {{"Allow", allowed}});
}

void Api::reply(Call& call, unsigned status, std::string body, std::vector<http::Header> headers) {
  http::Response response;
  response.status = status;
  response.content_type = status >= 400 ? "application/problem+json" : "application/json";
  response.body = std::move(body);
  response.headers = std::move(headers);
  response.route = call.route;
  call.respond(std::move(response));
}

void Api::reply_problem(Call& call, const Problem& problem) {
  std::vector<http::Header> headers;
  if (problem.retry_after_s > 0) headers.push_back({"Retry-After", std::to_string(problem.retry_after_s)});
  for (const auto& [name, value] : problem.headers) headers.push_back({name, value});
  reply(call, problem.status(), render_problem(problem, call.request.request_id), std::move(headers));
}

void Api::reply_outcome(Call& call, const ledger::Outcome& outcome) {
  std::vector<http::Header> headers;
  if (outcome.kind == ledger::Outcome::Kind::replayed) headers.push_back({"Idempotent-Replayed", "true"});
  if (outcome.reply.status == 503) headers.push_back({"Retry-After", "1"});
  reply(call, outcome.reply.status, outcome.reply.body, std::move(headers));
}

Result<Api::Prepared> Api::prepare(const Call& call, bool key_required) {
  const http::Request& request = call.request;
  bool has_body = request.body.find_first_not_of(" \t\r\n") != std::string::npos;
  if (has_body && !is_json_content_type(request.content_type)) {
    return make_problem("unsupported_media_type", "send the body as application/json");
  }
  Prepared prepared;
  if (request.idempotency_key) {
    Result<std::string> key = parse_idempotency_key(*request.idempotency_key);
    if (!key.ok()) return key.take_problem();
    prepared.key = std::move(key.value());
  } else if (key_required) {
    return make_problem("idempotency_key_missing", "this request moves money and needs an Idempotency-Key header");
  }
  Result<boost::json::value> body = parse_body(request.body);
  if (!body.ok()) return body.take_problem();
  prepared.body = std::move(body.value());
  return prepared;
}

Api::BuildCommand Api::at_once(BuildAtOnce build) {
  return [build = std::move(build)](const Prepared& prepared, Call&, BuildDone done) { done(build(prepared)); };
}

ledger::Ledger::ReadDone<std::string> Api::reply_text_when_read(Call call) {
  return [this, call = std::move(call)](Result<std::string> text) mutable {
    if (!text.ok()) return reply_problem(call, text.problem());
    reply(call, 200, std::move(text.value()));
  };
}

void Api::submit(Call call, bool key_required, const BuildCommand& build, Continue next, Dispatch dispatch) {
  Result<Prepared> prepared = prepare(call, key_required);
  if (!prepared.ok()) return reply_problem(call, prepared.problem());
  std::optional<std::string> key = prepared->key;
  if (key && !in_flight_.try_acquire(*key)) return reply_problem(call, key_in_use());
  auto state = std::make_shared<Submitting>(Submitting{std::move(call), std::move(prepared.value()), std::nullopt, {},
                                                       build, std::move(next), std::move(dispatch)});
  if (!key) return proceed(std::move(state));
  state->tag = ledger::IdempotencyTag{
      *key, request_fingerprint(state->call.request.method, state->call.request.path, state->prepared.body)};
  if (!idempotency_cache_.active() || !deps_.scheduler) return proceed(std::move(state));
  // Ask the cache without holding this thread; go on on the event loop.
  idempotency_cache_.check_async(*key, state->tag->fingerprint, [this, state](IdempotencyCache::Check fast) {
    deps_.scheduler->post([this, state, fast = std::move(fast)]() mutable {
      state->fast = std::move(fast);
      proceed(state);
    });
  });
}

void Api::proceed(std::shared_ptr<Submitting> state) {
  IdempotencyCache::Check& fast = state->fast;
  if (!state->tag) return build_and_dispatch(std::move(state));
  const std::string& key = state->tag->key;
  if (fast.verdict == IdempotencyCache::Check::Verdict::replay) {
    in_flight_.release(key);
    return reply(state->call, fast.status, std::move(fast.body), {{"Idempotent-Replayed", "true"}});
  }
  if (fast.verdict != IdempotencyCache::Check::Verdict::in_use) return build_and_dispatch(std::move(state));
  // The marker may outlive its request when Redis lost the delete (a
  // failover): a key the ledger already knows goes to the ledger, which
  // replays it.
  deps_.ledger.has_idempotency_key_async(key, [this, state](Result<bool> known) {
    if (known.ok() && known.value()) {
      state->fast.verdict = IdempotencyCache::Check::Verdict::proceed;
      return build_and_dispatch(state);
    }
    in_flight_.release(state->tag->key);
    reply_problem(state->call, key_in_use());
  });
}

Problem Api::key_in_use() {
  keys_in_use_.add();
  return retry_soon("idempotency_key_in_use", "a request with this key is being processed");
}

void Api::build_and_dispatch(std::shared_ptr<Submitting> state) {
  // `done` keeps the state, so the build's `prepared` and `call` outlive it.
  auto done = [this, state](Result<ledger::Command> command) {
    if (command.ok()) return dispatch(state, std::move(command.value()));
    if (state->tag) {
      in_flight_.release(state->tag->key);
      idempotency_cache_.finish(state->tag->key, state->tag->fingerprint, state->fast.marked, 0, {});
    }
    reply_problem(state->call, command.problem());
  };
  state->build(state->prepared, state->call, std::move(done));
}

void Api::dispatch(std::shared_ptr<Submitting> state, ledger::Command command) {
  Finish finish = [this, state](const ledger::Outcome& outcome) {
    if (state->tag) {
      in_flight_.release(state->tag->key);
      idempotency_cache_.finish(state->tag->key, state->tag->fingerprint, state->fast.marked, outcome.reply.status,
                                outcome.reply.body);
    }
    reply_outcome(state->call, outcome);
  };
  ledger::Submission submission{std::move(command), state->tag, state->call.request.request_id};
  auto done = [next = state->next, finish = std::move(finish)](ledger::Outcome outcome) {
    if (next) {
      next(outcome, finish);
    } else {
      finish(outcome);
    }
  };
  if (state->dispatch) {
    state->dispatch(std::move(submission), std::move(done));
  } else {
    deps_.ledger.submit(std::move(submission), std::move(done));
  }
}

Result<ledger::Page> Api::page_from_query(const std::string& query, std::string* merchant) {
  ledger::Page page;
  std::size_t start = 0;
  while (start < query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    std::string pair = query.substr(start, end - start);
    start = end + 1;
    std::size_t equals = pair.find('=');
    std::string name = pair.substr(0, equals);
    std::string value = equals == std::string::npos ? std::string() : pair.substr(equals + 1);
    if (name == "limit") {
      bool digits = !value.empty() && value.size() <= 3 && value.find_first_not_of("0123456789") == std::string::npos;
      int limit = digits ? std::stoi(value) : 0;
      if (limit < 1 || limit > 100) return invalid_request("limit must be an integer from 1 to 100", "limit");
      page.limit = limit;
    } else if (name == "starting_after") {
      page.starting_after = value;
    } else if (name == "merchant" && merchant) {
      *merchant = value;
    } else if (!name.empty()) {
      return invalid_request("unknown query parameter " + name, name);
    }
  }
  return page;
}

}  // namespace payd::api
