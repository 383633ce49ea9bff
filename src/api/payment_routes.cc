// Routes for payments (wallet and card), captures, voids, refunds and
// checkout sessions.
#include <boost/json/parse.hpp>

#include "api/api.h"
#include "api/body.h"
#include "core/fx.h"
#include "core/json_writer.h"

namespace payd::api {
namespace {

std::string session_key(const std::string& id) { return "payment:session:" + id; }

Status check_session(const cache::Entry& session, const Payment& payment, const std::string& customer) {
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(session.value, error);
  if (error || !value.is_object()) return invalid_request("the session is not usable", "session");
  const auto& object = value.get_object();
  auto text = [&](const char* name) -> std::string {
    const auto* member = object.if_contains(name);
    return member && member->is_string() ? std::string(member->get_string()) : std::string();
  };
  const auto* amount = object.if_contains("amount");
  bool matches = text("merchant") == payment.merchant && text("currency") == payment.currency && amount &&
                 amount->is_int64() && amount->get_int64() == payment.amount &&
                 (text("customer").empty() || text("customer") == customer);
  if (!matches) return invalid_request("the payment does not match its session", "session");
  return Ok{};
}

// A payment method from its JSON (as render() wrote it), or nullopt when the
// text is not one. Everything but created_at, which payments do not use.
std::optional<PaymentMethod> payment_method_from_json(const std::string& text) {
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(text, error);
  if (error || !value.is_object()) return std::nullopt;
  const auto& object = value.get_object();
  const auto* card_value = object.if_contains("card");
  const auto* customer = object.if_contains("customer");
  if (!card_value || !card_value->is_object() || !customer) return std::nullopt;
  const auto& card = card_value->get_object();
  auto text_of = [](const boost::json::object& from, const char* name, std::string& out) {
    const auto* member = from.if_contains(name);
    if (!member || !member->is_string()) return false;
    out = std::string(member->get_string());
    return true;
  };
  auto int_of = [](const boost::json::object& from, const char* name, int& out) {
    const auto* member = from.if_contains(name);
    if (!member || !member->is_int64()) return false;
    out = static_cast<int>(member->get_int64());
    return true;
  };
  PaymentMethod method;
  bool complete = text_of(object, "id", method.id) && text_of(card, "brand", method.brand) &&
                  text_of(card, "bin", method.bin) && text_of(card, "last4", method.last4) &&
                  text_of(card, "fingerprint", method.fingerprint) && int_of(card, "exp_month", method.exp_month) &&
                  int_of(card, "exp_year", method.exp_year);
  if (!complete) return std::nullopt;
  if (customer->is_string()) {
    method.customer = std::string(customer->get_string());
  } else if (!customer->is_null()) {
    return std::nullopt;
  }
  return method;
}

// Calls `done` with the current rate from `currency` to the settlement
// currency of the merchant (`merchant_json`, through the cache), when they
// differ. An unknown merchant is left to the ledger, which refuses it; a
// missing rate is 400 with param currency, and nothing is written.
void rate_for_payment(const Result<std::string>& merchant_json, reference::FxRates& fx_rates,
                      const std::string& merchant_id, const std::string& currency,
                      std::function<void(Result<std::optional<FxRate>>)> done) {
  if (!merchant_json.ok()) {
    if (merchant_json.problem().code == "not_found") return done(std::optional<FxRate>());
    return done(merchant_json.problem());
  }
  boost::system::error_code error;
  boost::json::value merchant = boost::json::parse(merchant_json.value(), error);
  const boost::json::value* currency_value =
      !error && merchant.is_object() ? merchant.get_object().if_contains("settlement_currency") : nullptr;
  if (!currency_value || !currency_value->is_string()) {
    return done(make_problem("internal_error", "the merchant's settlement currency could not be read"));
  }
  const std::string settlement(currency_value->get_string());
  if (settlement == currency) return done(std::optional<FxRate>());
  fx_rates.current(currency, settlement, [merchant_id, currency, settlement, done](Result<FxRate> rate) {
    if (rate.ok()) return done(std::optional<FxRate>(std::move(rate.value())));
    if (rate.problem().code != "not_found") return done(rate.take_problem());
    done(invalid_request("merchant " + merchant_id + " settles in " + settlement + " and there is no " + currency +
                             "/" + settlement + " FX rate",
                         "currency"));
  });
}

}  // namespace

// What create_payment learns while building its command, for what follows.
struct Api::PaymentContext {
  const Prepared* prepared = nullptr;  // the submission's: valid until the build's `done` ran
  Payment payment;                     // amount, currency, capture: enough to call the gateway
  std::optional<FxRate> fx_rate;
  std::optional<PaymentMethod> method;  // the source: a card ...
  std::optional<std::string> account;   // ... or a wallet account
  std::string customer;
  std::string description;
  std::string metadata;
  std::optional<cache::Entry> session;  // taken from the cache; put back unless consumed
  std::string session_id;

  void put_back_session(cache::Cache& cache) const {
    if (session) cache.set(session_key(session_id), session->value, session->ttl_left_ms);
  }
  ledger::Command command() const {
    if (method) {
      return ledger::BeginCardPayment{payment.amount, payment.currency, payment.merchant, method->id, payment.capture,
                                      description, metadata, fx_rate};
    }
    return ledger::WalletPayment{payment.amount, payment.currency, payment.merchant, *account, payment.capture,
                                 description, metadata, fx_rate};
  }
};

void Api::cached_payment_method(const std::string& id, ledger::Ledger::ReadDone<PaymentMethod> done) {
  payment_method_json(id, [this, id, done](Result<std::string> text) {
    if (!text.ok()) return done(text.take_problem());
    std::optional<PaymentMethod> method = payment_method_from_json(text.value());
    if (method && method->id == id) return done(std::move(*method));
    deps_.ledger.payment_method_async(id, done);  // not what we cached: ask the ledger
  });
}

void Api::create_payment(Call call) {
  auto context = std::make_shared<PaymentContext>();
  auto build = [this, context](const Prepared& prepared, Call&, BuildDone done) {
    context->prepared = &prepared;
    build_payment(context, std::move(done));
  };
  std::string request_id = call.request.request_id;
  auto next = [this, context, request_id](const ledger::Outcome& outcome, Finish finish) {
    auto finish_and_settle_session = [this, context, finish](const ledger::Outcome& final_outcome) {
      unsigned status = final_outcome.reply.status;
      bool consumed = status == 201 || status == 202;
      if (!consumed) context->put_back_session(deps_.cache);
      finish(final_outcome);
    };
    switch (outcome.kind) {
      case ledger::Outcome::Kind::started:
        context->payment.id = outcome.payment_id;
        deps_.card_flow.authorize(context->payment, *context->method, request_id, finish_and_settle_session);
        return;
      case ledger::Outcome::Kind::resume:
        deps_.card_flow.resume(outcome.payment_id, request_id, finish_and_settle_session);
        return;
      default:
        finish_and_settle_session(outcome);
    }
  };
  submit(std::move(call), true, build, next);
}

// The amount, currency and merchant; then the rate to the merchant's
// settlement currency.
void Api::build_payment(std::shared_ptr<PaymentContext> context, BuildDone done) {
  Fields fields(context->prepared->object());
  if (Status known = fields.only({"amount", "currency", "merchant", "payment_method", "account", "capture", "session",
                                  "description", "metadata"});
      !known.ok()) {
    return done(known.take_problem());
  }
  Result<Minor> amount = fields.amount("amount");
  if (!amount.ok()) return done(amount.take_problem());
  Result<std::string> currency = fields.currency("currency");
  if (!currency.ok()) return done(currency.take_problem());
  Result<std::string> merchant = fields.id("merchant", "mer_");
  if (!merchant.ok()) return done(merchant.take_problem());
  Payment& payment = context->payment;
  payment.amount = amount.value();
  payment.currency = currency.value();
  payment.merchant = merchant.value();
  merchant_json(payment.merchant, [this, context, done](Result<std::string> merchant_json) {
    auto rate_read = [this, context, done](Result<std::optional<FxRate>> fx_rate) {
      if (!fx_rate.ok()) return done(fx_rate.take_problem());
      context->fx_rate = std::move(fx_rate.value());
      read_payment_source(context, done);
    };
    rate_for_payment(merchant_json, deps_.fx_rates, context->payment.merchant, context->payment.currency, rate_read);
  });
}

// The other fields; then who pays: the payment method (through the cache)
// or the account.
void Api::read_payment_source(std::shared_ptr<PaymentContext> context, BuildDone done) {
  Fields fields(context->prepared->object());
  Result<std::optional<std::string>> method_id = fields.optional_id("payment_method", "pm_");
  if (!method_id.ok()) return done(method_id.take_problem());
  Result<std::optional<std::string>> account = fields.optional_id("account", "acct_");
  if (!account.ok()) return done(account.take_problem());
  if (method_id.value().has_value() == account.value().has_value()) {
    return done(invalid_request("give exactly one source: payment_method or account", "payment_method"));
  }
  Result<std::optional<bool>> capture = fields.optional_bool("capture");
  if (!capture.ok()) return done(capture.take_problem());
  Result<std::optional<std::string>> session = fields.optional_id("session", "cs_");
  if (!session.ok()) return done(session.take_problem());
  Result<std::optional<std::string>> description = fields.optional_string("description");
  if (!description.ok()) return done(description.take_problem());
  Result<std::string> metadata = fields.metadata();
  if (!metadata.ok()) return done(metadata.take_problem());
  context->payment.capture = capture.value().value_or(true);
  context->session_id = session.value().value_or("");
  context->description = description.value().value_or("");
  context->metadata = metadata.value();
  if (account.value()) {
    context->account = account.value();
    context->customer = *account.value();
    return take_session(context, done);
  }
  std::string id = *method_id.value();
  cached_payment_method(id, [this, context, id, done](Result<PaymentMethod> method) {
    if (!method.ok()) {
      if (method.problem().code != "not_found") return done(method.take_problem());
      return done(invalid_request("no payment method " + id, "payment_method"));
    }
    context->customer = method->customer.empty() ? "card:" + method->fingerprint : method->customer;
    context->method = std::move(method.value());
    take_session(context, done);
  });
}

// The session the payment names, if any: taken from the cache so no other
// payment can use it, and put back when this one fails.
void Api::take_session(std::shared_ptr<PaymentContext> context, BuildDone done) {
  if (!context->session_id.empty()) {
    context->session = deps_.cache.take(session_key(context->session_id));
    if (!context->session) return done(invalid_request("the session has expired or was used", "session"));
    Status matches = check_session(*context->session, context->payment, context->customer);
    if (!matches.ok()) {
      context->put_back_session(deps_.cache);
      return done(matches.take_problem());
    }
  }
  limit_payment_rate(context, std::move(done));
}

// A new attempt (a key the ledger has not seen) counts against the
// customer's rate limits; a retry does not.
void Api::limit_payment_rate(std::shared_ptr<PaymentContext> context, BuildDone done) {
  if (!rate_limiter_.enabled()) return done(context->command());
  deps_.ledger.has_idempotency_key_async(*context->prepared->key, [this, context, done](Result<bool> seen) {
    if (!seen.ok()) {
      context->put_back_session(deps_.cache);
      return done(seen.take_problem());
    }
    RateDecision decision = seen.value() ? RateDecision{true} : rate_limiter_.attempt(context->customer);
    if (decision.allowed) return done(context->command());
    rate_limited_.add();
    context->put_back_session(deps_.cache);
    Problem problem = make_problem("rate_limited", "too many new payment attempts for this customer");
    problem.retry_after_s = static_cast<unsigned>(decision.retry_after_s);
    problem.headers.emplace_back("RateLimit-Policy", decision.policy_header);
    problem.headers.emplace_back("RateLimit", decision.limit_header);
    done(std::move(problem));
  });
}

void Api::get_payment(Call call) {
  std::string id = call.params[0];
  deps_.ledger.payment_async(id, reply_when_read<Payment>(std::move(call)));
}

void Api::list_payments(Call call) {
  std::string merchant;
  Result<ledger::Page> page = page_from_query(call.request.query, &merchant);
  if (!page.ok()) return reply_problem(call, page.problem());
  if (merchant.empty()) return reply_problem(call, invalid_request("merchant is required", "merchant"));
  deps_.ledger.payments_async(merchant, page.value(), reply_when_read<ledger::List<Payment>>(std::move(call)));
}

void Api::capture_payment(Call call) {
  std::string id = call.params[0];
  auto card_payment = std::make_shared<std::optional<Payment>>();
  auto fx_drift = std::make_shared<bool>(false);
  auto build = [this, id, card_payment, fx_drift](const Prepared& prepared, Call&, BuildDone done) {
    Fields fields(prepared.object());
    if (Status known = fields.only({"amount"}); !known.ok()) return done(known.take_problem());
    Result<std::optional<Minor>> amount = fields.optional_amount("amount");
    if (!amount.ok()) return done(amount.take_problem());
    auto payment_read = [this, id, card_payment, fx_drift, amount = amount.value(), done](Result<Payment> payment) {
      if (!payment.ok()) return done(payment.take_problem());
      if (amount && *amount > payment->amount) {
        return done(invalid_request("the capture amount is more than the authorised " +
                                        std::to_string(payment->amount),
                                    "amount"));
      }
      if (payment->source_type == SourceType::card && payment->status == PaymentStatus::authorized) {
        *card_payment = payment.value();
      }
      if (!payment->fx) return done(ledger::Command(ledger::CapturePayment{id, amount, false}));
      // The capture settles at the payment's own rate; a current rate that
      // moved beyond the tolerance only marks it for review.
      auto rate_read = [this, id, fx_drift, amount, rate = payment->fx->rate, done](Result<FxRate> current) {
        if (!current.ok()) return done(current.take_problem());
        *fx_drift = rate_moved_more_than(rate, current->rate, options_.fx_drift_tolerance_bps);
        done(ledger::Command(ledger::CapturePayment{id, amount, *fx_drift}));
      };
      deps_.fx_rates.current(payment->currency, payment->fx->settlement_currency, rate_read);
    };
    deps_.ledger.payment_async(id, payment_read);
  };
  auto count_review = [this, fx_drift](const ledger::Outcome& outcome, Finish finish) {
    if (*fx_drift && outcome.kind == ledger::Outcome::Kind::executed && outcome.reply.status == 200) {
      fx_drift_reviews_.add();
    }
    finish(outcome);
  };
  // A card capture is confirmed at the gateway first, outside any
  // transaction; the gateway call is idempotent per payment, so a retry after
  // a crash between the two steps captures once.
  auto dispatch = [this, card_payment](ledger::Submission submission, std::function<void(ledger::Outcome)> done) {
    if (*card_payment) {
      deps_.card_flow.capture(**card_payment, std::move(submission), std::move(done));
    } else {
      deps_.ledger.submit(std::move(submission), std::move(done));
    }
  };
  submit(std::move(call), true, build, count_review, dispatch);
}

void Api::void_payment(Call call) {
  std::string id = call.params[0];
  submit(std::move(call), true, at_once([id](const Prepared& prepared) -> Result<ledger::Command> {
    Fields fields(prepared.object());
    if (Status known = fields.only({}); !known.ok()) return known.take_problem();
    return ledger::Command(ledger::VoidPayment{id});
  }));
}

void Api::refund_payment(Call call) {
  std::string id = call.params[0];
  submit(std::move(call), true, [this, id](const Prepared& prepared, Call&, BuildDone done) {
    Fields fields(prepared.object());
    if (Status known = fields.only({"amount", "reason"}); !known.ok()) return done(known.take_problem());
    Result<std::optional<Minor>> amount = fields.optional_amount("amount");
    if (!amount.ok()) return done(amount.take_problem());
    Result<std::optional<std::string>> reason = fields.optional_string("reason", 200);
    if (!reason.ok()) return done(reason.take_problem());
    ledger::RefundPayment refund{id, amount.value(), reason.value().value_or("")};
    // A payment that cannot be read is answered before the ledger sees the key.
    deps_.ledger.payment_async(id, [refund, done](Result<Payment> payment) {
      if (!payment.ok()) return done(payment.take_problem());
      done(ledger::Command(refund));
    });
  });
}

void Api::create_session(Call call) {
  Result<Prepared> prepared = prepare(call, false);
  if (!prepared.ok()) return reply_problem(call, prepared.problem());
  Fields fields(prepared->object());
  if (Status known = fields.only({"merchant", "amount", "currency", "customer", "payment_method"}); !known.ok()) {
    return reply_problem(call, known.problem());
  }
  Result<std::string> merchant = fields.id("merchant", "mer_");
  if (!merchant.ok()) return reply_problem(call, merchant.problem());
  Result<Minor> amount = fields.amount("amount");
  if (!amount.ok()) return reply_problem(call, amount.problem());
  Result<std::string> currency = fields.currency("currency");
  if (!currency.ok()) return reply_problem(call, currency.problem());
  Result<std::optional<std::string>> customer = fields.optional_id("customer", "acct_");
  if (!customer.ok()) return reply_problem(call, customer.problem());
  Result<std::optional<std::string>> method = fields.optional_id("payment_method", "pm_");
  if (!method.ok()) return reply_problem(call, method.problem());
  std::int64_t now_ms = deps_.clock.now_ms();
  std::string body;
  JsonWriter json(body);
  json.begin_object();
  json.member("id", deps_.ids.next(IdType::session)).member("object", "session").member("status", "open");
  json.member("merchant", merchant.value()).member("amount", amount.value()).member("currency", currency.value());
  json.member_or_null("customer", customer.value().value_or(""));
  json.member_or_null("payment_method", method.value().value_or(""));
  json.member("created_at", format_rfc3339(now_ms));
  json.member("expires_at", format_rfc3339(now_ms + options_.session_ttl_ms));
  json.end_object();
  std::string id = body.substr(7, body.find('"', 7) - 7);
  std::string merchant_id = merchant.value();
  merchant_json(merchant_id, [this, call = std::move(call), merchant_id, id, body](Result<std::string> found) mutable {
    if (!found.ok()) return reply_problem(call, invalid_request("no merchant " + merchant_id, "merchant"));
    deps_.cache.set(session_key(id), body, options_.session_ttl_ms);
    reply(call, 201, std::move(body));
  });
}

void Api::get_session(Call call) {
  std::optional<std::string> session = deps_.cache.get(session_key(call.params[0]));
  if (!session) return reply_problem(call, not_found("no open session " + call.params[0]));
  reply(call, 200, std::move(*session));
}

}  // namespace payd::api
