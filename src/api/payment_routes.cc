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

// What create_payment learns while building its command, for what follows.
struct PaymentContext {
  Payment payment;  // amount, currency, capture: enough to call the gateway
  std::optional<PaymentMethod> method;
  std::optional<cache::Entry> session;  // taken from the cache; put back unless consumed
  std::string session_id;
};

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

// The current rate from `currency` to the settlement currency of the
// merchant (`merchant_json`, through the cache), when they differ. An
// unknown merchant is left to the ledger, which refuses it; a missing rate
// is 400 with param currency, and nothing is written.
Result<std::optional<FxRate>> rate_for_payment(const Result<std::string>& merchant_json, reference::FxRates& fx_rates,
                                               const std::string& merchant_id, const std::string& currency) {
  if (!merchant_json.ok()) {
    if (merchant_json.problem().code == "not_found") return std::optional<FxRate>();
    return merchant_json.problem();
  }
  boost::system::error_code error;
  boost::json::value merchant = boost::json::parse(merchant_json.value(), error);
  const boost::json::value* currency_value =
      !error && merchant.is_object() ? merchant.get_object().if_contains("settlement_currency") : nullptr;
  if (!currency_value || !currency_value->is_string()) {
    return make_problem("internal_error", "the merchant's settlement currency could not be read");
  }
  const std::string settlement(currency_value->get_string());
  if (settlement == currency) return std::optional<FxRate>();
  Result<FxRate> rate = fx_rates.current(currency, settlement);
  if (!rate.ok()) {
    if (rate.problem().code != "not_found") return rate.take_problem();
    return invalid_request("merchant " + merchant_id + " settles in " + settlement + " and there is no " + currency +
                               "/" + settlement + " FX rate",
                           "currency");
  }
  return std::optional<FxRate>(std::move(rate.value()));
}

}  // namespace

Result<PaymentMethod> Api::cached_payment_method(const std::string& id) {
  Result<std::string> text = payment_method_json(id);
  if (!text.ok()) return text.take_problem();
  std::optional<PaymentMethod> method = payment_method_from_json(text.value());
  if (method && method->id == id) return std::move(*method);
  return deps_.ledger.payment_method(id);  // not what we cached: ask the ledger
}

Result<std::string> Api::merchant_json(const std::string& id) {
  return deps_.reference_cache.get(merchant_cache_key(id), merchant_cache_ttl_ms, [&]() -> Result<std::string> {
    Result<Merchant> merchant = deps_.ledger.merchant(id);
    if (!merchant.ok()) return merchant.take_problem();
    return render(merchant.value());
  });
}

void Api::create_payment(Call call) {
  auto context = std::make_shared<PaymentContext>();
  auto build = [this, context](const Prepared& prepared, Call&) -> Result<ledger::Command> {
    Fields fields(prepared.object());
    if (Status known = fields.only({"amount", "currency", "merchant", "payment_method", "account", "capture",
                                    "session", "description", "metadata"});
        !known.ok()) {
      return known.take_problem();
    }
    Result<Minor> amount = fields.amount("amount");
    if (!amount.ok()) return amount.take_problem();
    Result<std::string> currency = fields.currency("currency");
    if (!currency.ok()) return currency.take_problem();
    Result<std::string> merchant = fields.id("merchant", "mer_");
    if (!merchant.ok()) return merchant.take_problem();
    Result<std::optional<FxRate>> fx_rate =
        rate_for_payment(merchant_json(merchant.value()), deps_.fx_rates, merchant.value(), currency.value());
    if (!fx_rate.ok()) return fx_rate.take_problem();
    Result<std::optional<std::string>> method_id = fields.optional_id("payment_method", "pm_");
    if (!method_id.ok()) return method_id.take_problem();
    Result<std::optional<std::string>> account = fields.optional_id("account", "acct_");
    if (!account.ok()) return account.take_problem();
    if (method_id.value().has_value() == account.value().has_value()) {
      return invalid_request("give exactly one source: payment_method or account", "payment_method");
    }
    Result<std::optional<bool>> capture = fields.optional_bool("capture");
    if (!capture.ok()) return capture.take_problem();
    Result<std::optional<std::string>> session = fields.optional_id("session", "cs_");
    if (!session.ok()) return session.take_problem();
    Result<std::optional<std::string>> description = fields.optional_string("description");
    if (!description.ok()) return description.take_problem();
    Result<std::string> metadata = fields.metadata();
    if (!metadata.ok()) return metadata.take_problem();

    Payment& payment = context->payment;
    payment.amount = amount.value();
    payment.currency = currency.value();
    payment.merchant = merchant.value();
    payment.capture = capture.value().value_or(true);
    std::string customer;
    if (method_id.value()) {
      Result<PaymentMethod> method = cached_payment_method(*method_id.value());
      if (!method.ok()) {
        if (method.problem().code == "not_found") return invalid_request("no payment method " + *method_id.value(), "payment_method");
        return method.take_problem();
      }
      customer = method->customer.empty() ? "card:" + method->fingerprint : method->customer;
      context->method = std::move(method.value());
    } else {
      customer = *account.value();
    }

    if (session.value()) {
      context->session_id = *session.value();
      context->session = deps_.cache.take(session_key(context->session_id));
      if (!context->session) return invalid_request("the session has expired or was used", "session");
      Status matches = check_session(*context->session, payment, customer);
      if (!matches.ok()) {
        deps_.cache.set(session_key(context->session_id), context->session->value, context->session->ttl_left_ms);
        return matches.problem();
      }
    }

    if (rate_limiter_.enabled()) {
      Result<bool> seen = deps_.ledger.has_idempotency_key(*prepared.key);
      if (!seen.ok()) return seen.take_problem();
      if (!seen.value()) {
        RateDecision decision = rate_limiter_.attempt(customer);
        if (!decision.allowed) {
          rate_limited_.add();
          if (context->session) {
            deps_.cache.set(session_key(context->session_id), context->session->value, context->session->ttl_left_ms);
          }
          Problem problem = make_problem("rate_limited", "too many new payment attempts for this customer");
          problem.retry_after_s = static_cast<unsigned>(decision.retry_after_s);
          problem.headers.emplace_back("RateLimit-Policy", decision.policy_header);
          problem.headers.emplace_back("RateLimit", decision.limit_header);
          return problem;
        }
      }
    }

    std::string text = description.value().value_or("");
    if (context->method) {
      return ledger::Command(ledger::BeginCardPayment{payment.amount, payment.currency, payment.merchant,
                                                      context->method->id, payment.capture, text, metadata.value(),
                                                      fx_rate.value()});
    }
    return ledger::Command(ledger::WalletPayment{payment.amount, payment.currency, payment.merchant, *account.value(),
                                                 payment.capture, text, metadata.value(), fx_rate.value()});
  };

  std::string request_id = call.request.request_id;
  auto next = [this, context, request_id](const ledger::Outcome& outcome, Finish finish) {
    auto finish_and_settle_session = [this, context, finish](const ledger::Outcome& final_outcome) {
      unsigned status = final_outcome.reply.status;
      bool consumed = status == 201 || status == 202;
      if (context->session && !consumed) {
        deps_.cache.set(session_key(context->session_id), context->session->value, context->session->ttl_left_ms);
      }
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
  auto build = [this, id, card_payment, fx_drift](const Prepared& prepared, Call&) -> Result<ledger::Command> {
    Fields fields(prepared.object());
    if (Status known = fields.only({"amount"}); !known.ok()) return known.take_problem();
    Result<std::optional<Minor>> amount = fields.optional_amount("amount");
    if (!amount.ok()) return amount.take_problem();
    Result<Payment> payment = deps_.ledger.payment(id);
    if (!payment.ok()) return payment.take_problem();
    if (amount.value() && *amount.value() > payment->amount) {
      return invalid_request("the capture amount is more than the authorised " + std::to_string(payment->amount),
                             "amount");
    }
    if (payment->source_type == SourceType::card && payment->status == PaymentStatus::authorized) {
      *card_payment = payment.value();
    }
    // The capture settles at the payment's own rate; a current rate that
    // moved beyond the tolerance only marks it for review.
    if (payment->fx) {
      Result<FxRate> current = deps_.fx_rates.current(payment->currency, payment->fx->settlement_currency);
      if (!current.ok()) return current.take_problem();
      *fx_drift = rate_moved_more_than(payment->fx->rate, current->rate, options_.fx_drift_tolerance_bps);
    }
    return ledger::Command(ledger::CapturePayment{id, amount.value(), *fx_drift});
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
  submit(std::move(call), true, [id](const Prepared& prepared, Call&) -> Result<ledger::Command> {
    Fields fields(prepared.object());
    if (Status known = fields.only({}); !known.ok()) return known.take_problem();
    return ledger::Command(ledger::VoidPayment{id});
  });
}

void Api::refund_payment(Call call) {
  std::string id = call.params[0];
  submit(std::move(call), true, [this, id](const Prepared& prepared, Call&) -> Result<ledger::Command> {
    Fields fields(prepared.object());
    if (Status known = fields.only({"amount", "reason"}); !known.ok()) return known.take_problem();
    Result<std::optional<Minor>> amount = fields.optional_amount("amount");
    if (!amount.ok()) return amount.take_problem();
    Result<std::optional<std::string>> reason = fields.optional_string("reason", 200);
    if (!reason.ok()) return reason.take_problem();
    Result<Payment> payment = deps_.ledger.payment(id);
    if (!payment.ok()) return payment.take_problem();
    return ledger::Command(ledger::RefundPayment{id, amount.value(), reason.value().value_or("")});
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
  if (!merchant_json(merchant.value()).ok()) {
    return reply_problem(call, invalid_request("no merchant " + merchant.value(), "merchant"));
  }
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
  deps_.cache.set(session_key(id), body, options_.session_ttl_ms);
  reply(call, 201, std::move(body));
}

void Api::get_session(Call call) {
  std::optional<std::string> session = deps_.cache.get(session_key(call.params[0]));
  if (!session) return reply_problem(call, not_found("no open session " + call.params[0]));
  reply(call, 200, std::move(*session));
}

}  // namespace payd::api
