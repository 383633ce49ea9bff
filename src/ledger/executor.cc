#include "ledger/executor.h"

#include <algorithm>
#include <cassert>

#include "core/currency.h"

#include "domain/idempotency.h"
#include "domain/render.h"

namespace payd::ledger {
namespace {

Reply created(std::string body) { return Reply{201, std::move(body)}; }
Reply ok(std::string body) { return Reply{200, std::move(body)}; }

std::string merchant_account_detail(const std::string& id) { return "no merchant " + id; }

bool is_customer_facing(const Account& account) { return account.role == SystemRole::none; }

}  // namespace

Outcome Executor::execute(const Submission& submission) {
  const auto& tag = submission.idempotency;
  if (tag) {
    if (std::optional<StoredKey> stored = store_.find_key(tag->key)) {
      if (stored->fingerprint != tag->fingerprint) {
        Problem problem = make_problem("idempotency_key_reused",
                                       "this Idempotency-Key was used before with a different request");
        return Outcome{Outcome::Kind::executed, Reply{422, render_problem(problem, submission.request_id)}, {}};
      }
      if (stored->state == StoredKey::State::started) {
        return Outcome{Outcome::Kind::resume, {}, stored->payment};
      }
      return Outcome{Outcome::Kind::replayed, Reply{stored->status, stored->body}, {}};
    }
  }

  Decision decision = run(submission);
  if (!decision.started_payment.empty()) {
    assert(std::holds_alternative<BeginCardPayment>(submission.command));
    if (tag) {
      store_.put_key(StoredKey{tag->key, tag->fingerprint, StoredKey::State::started, 0, {},
                               decision.started_payment, clock_.now_ms()});
    }
    return Outcome{Outcome::Kind::started, {}, decision.started_payment};
  }

  if (tag && is_stored_outcome(decision.reply.status, decision.problem_code)) {
    store_.put_key(StoredKey{tag->key, tag->fingerprint, StoredKey::State::completed, decision.reply.status,
                             decision.reply.body, {}, clock_.now_ms()});
  }
  return Outcome{Outcome::Kind::executed, std::move(decision.reply), {}};
}

Executor::Decision Executor::run(const Submission& submission) {
  return std::visit([&](const auto& command) { return run(command, submission); }, submission.command);
}

Executor::Decision Executor::refuse(const Submission& submission, Problem problem) {
  unsigned status = problem.status();
  return Decision{Reply{status, render_problem(problem, submission.request_id)}, {}, problem.code};
}

Executor::Decision Executor::fail_payment(const Submission& submission, Payment& payment, const std::string& code,
                                          std::string detail) {
  payment.status = PaymentStatus::failed;
  payment.failure_code = code;
  payment.held = 0;
  store_.put_payment(payment);
  Problem problem = make_problem(code, std::move(detail));
  problem.extensions.emplace_back("payment", payment.id);
  return refuse(submission, std::move(problem));
}

Status Executor::check_postable(const std::vector<Leg>& legs, const char* param) {
  for (const Leg& leg : legs) {
    if (!checked_add(leg.account->balance, leg.amount)) {
      return invalid_request("the amount would overflow the balance of account " + leg.account->id, param);
    }
  }
  return Ok{};
}

void Executor::post(const std::string& journal, const std::vector<Leg>& legs, std::int64_t now_ms) {
  std::vector<std::pair<std::string, Minor>> sums;  // by currency; at most two
  for (const Leg& leg : legs) {
    assert(leg.amount != 0);
    auto sum = std::find_if(sums.begin(), sums.end(), [&](const auto& s) { return s.first == leg.account->currency; });
    if (sum == sums.end()) sum = sums.insert(sums.end(), {leg.account->currency, 0});
    sum->second += leg.amount;
    Account& account = *leg.account;
    std::optional<Minor> balance = checked_add(account.balance, leg.amount);
    assert(balance.has_value());
    account.balance = *balance;
    account.version += 1;
    store_.insert_entry(Entry{{}, account.id, journal, leg.amount, account.currency, account.balance,
                              account.version, now_ms});
    store_.touch(account);
  }
  assert(std::all_of(sums.begin(), sums.end(), [](const auto& s) { return s.second == 0; }));
}

std::vector<Executor::Leg> Executor::capture_legs(Account& source, const Merchant& merchant, const Payment& payment,
                                                  Minor amount, Minor settled, Minor fee) {
  assert(source.currency == payment.currency && fee <= settled);
  std::vector<Leg> legs;
  legs.reserve(5);
  legs.push_back(Leg{&source, -amount});
  if (payment.fx) {
    assert(merchant.settlement_currency == payment.fx->settlement_currency);
    legs.push_back(Leg{&store_.system_account(payment.currency, SystemRole::fx), amount});
    if (settled != 0) {
      legs.push_back(Leg{&store_.system_account(merchant.settlement_currency, SystemRole::fx), -settled});
    }
  } else {
    assert(settled == amount);
  }
  Account* merchant_account = store_.find_account(merchant.account);
  assert(merchant_account != nullptr);
  if (settled - fee != 0) legs.push_back(Leg{merchant_account, settled - fee});
  if (fee != 0) legs.push_back(Leg{&store_.system_account(merchant.settlement_currency, SystemRole::fees), fee});
  return legs;
}

Status Executor::capture(Payment& payment, Account& source, const Merchant& merchant, Minor amount,
                         std::int64_t now_ms) {
  Minor settled = settlement_of(payment, amount);
  Minor fee = compute_fee(settled, merchant.fee_bps, merchant.fee_fixed);
  std::vector<Leg> legs = capture_legs(source, merchant, payment, amount, settled, fee);
  if (Status postable = check_postable(legs, "amount"); !postable.ok()) return postable;
  post(payment.id, legs, now_ms);
  payment.status = PaymentStatus::captured;
  payment.amount_captured = amount;
  payment.fee = fee;
  return Ok{};
}

Executor::Decision Executor::run(const CreateAccount& command, const Submission&) {
  Account account;
  account.id = ids_.next(IdType::account);
  account.currency = command.currency;
  account.type = command.type;
  account.overdraft_limit = command.overdraft_limit;
  account.created_at_ms = clock_.now_ms();
  account.metadata_json = command.metadata_json;
  return Decision{created(render(store_.insert_account(account))), {}};
}

Executor::Decision Executor::run(const MakeDeposit& command, const Submission& submission) {
  Account* account = store_.find_account(command.account);
  if (!account || !is_customer_facing(*account)) {
    return refuse(submission, invalid_request("no account " + command.account, "account"));
  }
  if (account->currency != command.currency) {
    return refuse(submission, invalid_request("account " + account->id + " holds " + account->currency, "account"));
  }
  Account& external = store_.system_account(command.currency, SystemRole::external);
  std::vector<Leg> legs = {{&external, -command.amount}, {account, command.amount}};
  if (Status postable = check_postable(legs, "amount"); !postable.ok()) {
    return refuse(submission, postable.problem());
  }
  Deposit deposit{ids_.next(IdType::deposit), account->id, command.amount, command.currency, command.metadata_json,
                  clock_.now_ms()};
  post(deposit.id, legs, deposit.created_at_ms);
  store_.insert_deposit(deposit);
  return Decision{created(render(deposit)), {}};
}

Executor::Decision Executor::run(const MakeTransfer& command, const Submission& submission) {
  if (command.from == command.to) {
    return refuse(submission, invalid_request("from and to must be different accounts", "to"));
  }
  Account* from = store_.find_account(command.from);
  if (!from || !is_customer_facing(*from)) {
    return refuse(submission, invalid_request("no account " + command.from, "from"));
  }
  Account* to = store_.find_account(command.to);
  if (!to || !is_customer_facing(*to)) {
    return refuse(submission, invalid_request("no account " + command.to, "to"));
  }
  for (const Account* account : {from, to}) {
    if (account->currency != command.currency) {
      return refuse(submission, invalid_request("account " + account->id + " holds " + account->currency,
                                                account == from ? "from" : "to"));
    }
  }
  Minor funds = available(*from).value_or(0);
  if (funds < command.amount) {
    return refuse(submission, make_problem("insufficient_funds",
                                           "account " + from->id + " has " + std::to_string(funds) +
                                               " available, " + std::to_string(command.amount) + " requested",
                                           "amount"));
  }
  std::vector<Leg> legs = {{from, -command.amount}, {to, command.amount}};
  if (Status postable = check_postable(legs, "amount"); !postable.ok()) {
    return refuse(submission, postable.problem());
  }
  Transfer transfer{ids_.next(IdType::transfer), from->id, to->id, command.amount, command.currency,
                    command.description, command.metadata_json, clock_.now_ms()};
  post(transfer.id, legs, transfer.created_at_ms);
  store_.insert_transfer(transfer);
  return Decision{created(render(transfer)), {}};
}

Executor::Decision Executor::run(const CreateMerchant& command, const Submission&) {
  const MerchantFields& fields = command.fields;
  assert(fields.name && fields.settlement_currency && fields.max_amount);
  std::int64_t now_ms = clock_.now_ms();
  Account account;
  account.id = ids_.next(IdType::account);
  account.currency = *fields.settlement_currency;
  account.type = AccountType::merchant;
  account.created_at_ms = now_ms;
  store_.insert_account(account);

  Merchant merchant;
  merchant.id = ids_.next(IdType::merchant);
  merchant.name = *fields.name;
  merchant.settlement_currency = *fields.settlement_currency;
  merchant.max_amount = *fields.max_amount;
  merchant.fee_bps = fields.fee_bps.value_or(0);
  merchant.fee_fixed = fields.fee_fixed.value_or(0);
  merchant.mcc = fields.mcc.value_or("");
  merchant.processor = fields.processor.value_or("");
  merchant.active = fields.active.value_or(true);
  merchant.account = account.id;
  merchant.created_at_ms = now_ms;
  merchant.updated_at_ms = now_ms;
  store_.put_merchant(merchant);
  return Decision{created(render(merchant)), {}};
}

Executor::Decision Executor::run(const UpdateMerchant& command, const Submission& submission) {
  std::optional<Merchant> merchant = store_.find_merchant(command.merchant);
  if (!merchant) return refuse(submission, not_found("no merchant " + command.merchant));
  const MerchantFields& fields = command.fields;
  if (fields.settlement_currency && *fields.settlement_currency != merchant->settlement_currency) {
    return refuse(submission,
                  invalid_request("the settlement currency of a merchant cannot change", "settlement_currency"));
  }
  if (fields.name) merchant->name = *fields.name;
  if (fields.max_amount) merchant->max_amount = *fields.max_amount;
  if (fields.fee_bps) merchant->fee_bps = *fields.fee_bps;
  if (fields.fee_fixed) merchant->fee_fixed = *fields.fee_fixed;
  if (fields.mcc) merchant->mcc = *fields.mcc;
  if (fields.processor) merchant->processor = *fields.processor;
  if (fields.active) merchant->active = *fields.active;
  merchant->updated_at_ms = clock_.now_ms();
  store_.put_merchant(*merchant);
  return Decision{ok(render(*merchant)), {}};
}

Executor::Decision Executor::run(const CreatePaymentMethod& command, const Submission& submission) {
  PaymentMethod method = command.method;
  if (!method.customer.empty()) {
    Account* customer = store_.find_account(method.customer);
    if (!customer || !is_customer_facing(*customer)) {
      return refuse(submission, invalid_request("no account " + method.customer, "customer"));
    }
  }
  method.id = ids_.next(IdType::payment_method);
  method.created_at_ms = clock_.now_ms();
  store_.insert_payment_method(method);
  return Decision{created(render(method)), {}};
}

Result<Merchant> Executor::merchant_for_payment(const std::string& id) {
  std::optional<Merchant> merchant = store_.find_merchant(id);
  if (!merchant) return invalid_request(merchant_account_detail(id), "merchant");
  return *merchant;
}

Result<std::optional<PaymentFx>> Executor::payment_fx(Minor amount, const std::string& currency,
                                                      const Merchant& merchant, const std::optional<FxRate>& rate) {
  const std::string& settlement = merchant.settlement_currency;
  if (settlement == currency) return std::optional<PaymentFx>();
  if (!rate || rate->base != currency || rate->quote != settlement) {
    return invalid_request("merchant " + merchant.id + " settles in " + settlement + " and there is no " + currency +
                               "/" + settlement + " FX rate",
                           "currency");
  }
  const Currency* from = find_currency(currency);
  const Currency* to = find_currency(settlement);
  assert(from && to);
  std::optional<Minor> settled = convert_minor(amount, from->minor_units, to->minor_units, rate->rate);
  if (!settled || !amount_in_range(*settled)) {
    return invalid_request(std::to_string(amount) + " " + currency + " at " + format_rate(rate->rate) + " is " +
                               (settled && *settled < amount_min ? "less than one " : "more than 10^15 ") + settlement +
                               " minor units",
                           "amount");
  }
  return std::optional<PaymentFx>(PaymentFx{rate->rate, rate->version, settlement, *settled});
}

template <typename PaymentCommand>
Payment Executor::new_payment(const PaymentCommand& command, const Merchant& merchant, SourceType source_type,
                              const std::string& source_id, const std::string& gateway,
                              std::optional<PaymentFx> fx, const Submission& submission) {
  Payment payment;
  payment.id = ids_.next(IdType::payment);
  payment.amount = command.amount;
  payment.currency = command.currency;
  payment.merchant = merchant.id;
  payment.source_type = source_type;
  payment.source_id = source_id;
  payment.capture = command.capture;
  payment.description = command.description;
  payment.metadata_json = command.metadata_json;
  payment.gateway = gateway;
  payment.created_at_ms = clock_.now_ms();
  payment.updated_at_ms = payment.created_at_ms;
  payment.fx = std::move(fx);
  if (submission.idempotency) payment.idempotency_key = submission.idempotency->key;
  return payment;
}

std::optional<Executor::Decision> Executor::refuse_by_merchant(const Submission& submission, Payment& payment,
                                                               const Merchant& merchant) {
  if (!merchant.active) {
    return fail_payment(submission, payment, "merchant_inactive", "merchant " + merchant.id + " is not active");
  }
  // The maximum is in the settlement currency, so a converted amount is
  // compared in that currency.
  Minor settled = payment.fx ? payment.fx->settlement_amount : payment.amount;
  if (settled > merchant.max_amount) {
    return fail_payment(submission, payment, "amount_over_limit",
                        "the merchant's maximum amount is " + std::to_string(merchant.max_amount) + " " +
                            merchant.settlement_currency);
  }
  return std::nullopt;
}

Executor::Decision Executor::run(const WalletPayment& command, const Submission& submission) {
  Result<Merchant> merchant = merchant_for_payment(command.merchant);
  if (!merchant.ok()) return refuse(submission, merchant.problem());
  Account* account = store_.find_account(command.account);
  if (!account || !is_customer_facing(*account)) {
    return refuse(submission, invalid_request("no account " + command.account, "account"));
  }
  if (account->currency != command.currency) {
    return refuse(submission, invalid_request("account " + account->id + " holds " + account->currency, "account"));
  }
  if (account->id == merchant->account) {
    return refuse(submission, invalid_request("a merchant cannot pay itself", "account"));
  }
  Result<std::optional<PaymentFx>> fx = payment_fx(command.amount, command.currency, *merchant, command.fx_rate);
  if (!fx.ok()) return refuse(submission, fx.problem());
  Payment payment =
      new_payment(command, *merchant, SourceType::account, account->id, "ledger", std::move(fx.value()), submission);
  if (std::optional<Decision> refused = refuse_by_merchant(submission, payment, *merchant)) return *refused;
  Minor funds = available(*account).value_or(0);
  if (funds < command.amount) {
    return fail_payment(submission, payment, "insufficient_funds",
                        "account " + account->id + " has " + std::to_string(funds) + " available, " +
                            std::to_string(command.amount) + " requested");
  }
  if (command.capture) {
    if (Status captured = capture(payment, *account, *merchant, command.amount, payment.created_at_ms);
        !captured.ok()) {
      return refuse(submission, captured.problem());
    }
  } else {
    std::optional<Minor> held = checked_add(account->held, command.amount);
    if (!held) return refuse(submission, invalid_request("the hold would overflow", "amount"));
    account->held = *held;
    store_.touch(*account);
    payment.status = PaymentStatus::authorized;
    payment.held = command.amount;
  }
  store_.put_payment(payment);
  return Decision{created(render(payment)), {}};
}

Executor::Decision Executor::run(const BeginCardPayment& command, const Submission& submission) {
  Result<Merchant> merchant = merchant_for_payment(command.merchant);
  if (!merchant.ok()) return refuse(submission, merchant.problem());
  std::optional<PaymentMethod> method = store_.find_payment_method(command.payment_method);
  if (!method) {
    return refuse(submission, invalid_request("no payment method " + command.payment_method, "payment_method"));
  }
  Result<std::optional<PaymentFx>> fx = payment_fx(command.amount, command.currency, *merchant, command.fx_rate);
  if (!fx.ok()) return refuse(submission, fx.problem());
  std::string gateway = merchant->processor.empty() ? "simulated" : merchant->processor;
  Payment payment =
      new_payment(command, *merchant, SourceType::card, method->id, gateway, std::move(fx.value()), submission);
  if (std::optional<Decision> refused = refuse_by_merchant(submission, payment, *merchant)) return *refused;
  payment.status = PaymentStatus::pending;
  store_.put_payment(payment);
  return Decision{{}, payment.id};
}

void Executor::complete_started_key(const Payment& payment, const Reply& reply) {
  if (payment.idempotency_key.empty()) return;
  std::optional<StoredKey> stored = store_.find_key(payment.idempotency_key);
  if (!stored || stored->state != StoredKey::State::started || stored->payment != payment.id) return;
  stored->state = StoredKey::State::completed;
  stored->status = reply.status;
  stored->body = reply.body;
  store_.put_key(*stored);
}

Executor::Decision Executor::run(const FinishCardPayment& command, const Submission& submission) {
  std::optional<Payment> payment = store_.find_payment(command.payment);
  if (!payment) return refuse(submission, make_problem("internal_error", "no payment " + command.payment));
  if (payment->status != PaymentStatus::pending) {
    return Decision{ok(render(*payment)), {}};
  }
  payment->gateway = command.gateway.empty() ? payment->gateway : command.gateway;
  payment->gateway_reference = command.gateway_reference;
  payment->updated_at_ms = clock_.now_ms();
  Decision decision;
  switch (command.result) {
    case GatewayResult::timeout:
      store_.put_payment(*payment);
      decision = Decision{Reply{202, render(*payment)}, {}};
      break;
    case GatewayResult::declined:
      decision = fail_payment(submission, *payment, "card_declined", "the card was declined");
      break;
    case GatewayResult::insufficient_funds:
      decision = fail_payment(submission, *payment, "insufficient_funds", "the card has insufficient funds");
      break;
    case GatewayResult::error:
      decision = fail_payment(submission, *payment, "processing_error", "the gateway kept failing");
      break;
    case GatewayResult::approved: {
      if (payment->capture) {
        std::optional<Merchant> merchant = store_.find_merchant(payment->merchant);
        assert(merchant.has_value());
        Account& clearing = store_.system_account(payment->currency, SystemRole::gateway_clearing);
        if (Status captured = capture(*payment, clearing, *merchant, payment->amount, payment->updated_at_ms);
            !captured.ok()) {
          return refuse(submission, captured.problem());
        }
      } else {
        payment->status = PaymentStatus::authorized;
      }
      store_.put_payment(*payment);
      decision = Decision{created(render(*payment)), {}};
      break;
    }
  }
  complete_started_key(*payment, decision.reply);
  return decision;
}

Executor::Decision Executor::run(const CapturePayment& command, const Submission& submission) {
  std::optional<Payment> payment = store_.find_payment(command.payment);
  if (!payment) return refuse(submission, not_found("no payment " + command.payment));
  if (!can_capture(payment->status)) {
    return refuse(submission, make_problem("invalid_state", "payment " + payment->id + " is " +
                                                                std::string(to_string(payment->status)) +
                                                                " and cannot be captured"));
  }
  Minor amount = command.amount.value_or(payment->amount);
  if (amount > payment->amount) {
    return refuse(submission, invalid_request("the capture amount is more than the authorised " +
                                                  std::to_string(payment->amount),
                                              "amount"));
  }
  std::optional<Merchant> merchant = store_.find_merchant(payment->merchant);
  assert(merchant.has_value());
  Account* source = payment->source_type == SourceType::account
                        ? store_.find_account(payment->source_id)
                        : &store_.system_account(payment->currency, SystemRole::gateway_clearing);
  assert(source != nullptr);
  std::int64_t now_ms = clock_.now_ms();
  if (Status captured = capture(*payment, *source, *merchant, amount, now_ms); !captured.ok()) {
    return refuse(submission, captured.problem());
  }
  if (payment->source_type == SourceType::account) {
    assert(source->held >= payment->held);
    source->held -= payment->held;
    store_.touch(*source);
  }
  payment->held = 0;
  payment->updated_at_ms = now_ms;
  if (command.fx_drift && payment->fx) payment->review = "fx_drift";
  store_.put_payment(*payment);
  return Decision{ok(render(*payment)), {}};
}

Executor::Decision Executor::run(const VoidPayment& command, const Submission& submission) {
  std::optional<Payment> payment = store_.find_payment(command.payment);
  if (!payment) return refuse(submission, not_found("no payment " + command.payment));
  if (!can_void(payment->status)) {
    return refuse(submission, make_problem("invalid_state", "payment " + payment->id + " is " +
                                                                std::string(to_string(payment->status)) +
                                                                " and cannot be voided"));
  }
  if (payment->source_type == SourceType::account && payment->held > 0) {
    Account* source = store_.find_account(payment->source_id);
    assert(source != nullptr && source->held >= payment->held);
    source->held -= payment->held;
    store_.touch(*source);
  }
  payment->held = 0;
  payment->status = PaymentStatus::voided;
  payment->updated_at_ms = clock_.now_ms();
  store_.put_payment(*payment);
  return Decision{ok(render(*payment)), {}};
}

Executor::Decision Executor::run(const RefundPayment& command, const Submission& submission) {
  std::optional<Payment> payment = store_.find_payment(command.payment);
  if (!payment) return refuse(submission, not_found("no payment " + command.payment));
  if (!can_refund(payment->status)) {
    return refuse(submission, make_problem("invalid_state", "payment " + payment->id + " is " +
                                                                std::string(to_string(payment->status)) +
                                                                " and cannot be refunded"));
  }
  Minor refundable = payment->amount_captured - payment->amount_refunded;
  Minor amount = command.amount.value_or(refundable);
  if (amount > refundable) {
    return refuse(submission, make_problem("amount_exceeds_refundable",
                                           "only " + std::to_string(refundable) + " is left to refund", "amount"));
  }
  std::optional<Merchant> merchant = store_.find_merchant(payment->merchant);
  assert(merchant.has_value());
  Account* merchant_account = store_.find_account(merchant->account);
  Account* destination = payment->source_type == SourceType::account
                             ? store_.find_account(payment->source_id)
                             : &store_.system_account(payment->currency, SystemRole::gateway_clearing);
  assert(merchant_account != nullptr && destination != nullptr);
  // A cross-currency refund takes back from the merchant what this part of
  // the capture settled: the settled value of everything refunded so far
  // less that of what was refunded before, so a full refund returns exactly
  // what the capture paid in.
  Minor settled = settlement_of(*payment, payment->amount_refunded + amount) -
                  settlement_of(*payment, payment->amount_refunded);
  std::vector<Leg> legs;
  if (settled != 0) legs.push_back(Leg{merchant_account, -settled});
  if (payment->fx) {
    if (settled != 0) {
      legs.push_back(Leg{&store_.system_account(merchant->settlement_currency, SystemRole::fx), settled});
    }
    legs.push_back(Leg{&store_.system_account(payment->currency, SystemRole::fx), -amount});
  }
  legs.push_back(Leg{destination, amount});
  if (Status postable = check_postable(legs, "amount"); !postable.ok()) {
    return refuse(submission, postable.problem());
  }
  Refund refund{ids_.next(IdType::refund), payment->id, amount, RefundStatus::succeeded, command.reason,
                clock_.now_ms()};
  post(refund.id, legs, refund.created_at_ms);
  store_.insert_refund(refund);
  payment->amount_refunded += amount;
  payment->status = status_after_refund(payment->amount_captured, payment->amount_refunded);
  payment->updated_at_ms = refund.created_at_ms;
  store_.put_payment(*payment);
  return Decision{created(render(refund)), {}};
}

Executor::Decision Executor::run(const SetFxRate& command, const Submission&) {
  assert(command.base != command.quote && command.rate.mantissa > 0);
  FxRate stored = store_.put_fx_rate(command.base, command.quote, command.rate, clock_.now_ms());
  assert(stored.version >= 1 && stored.rate == command.rate);
  return Decision{ok(render(stored)), {}};
}

}  // namespace payd::ledger
