#include "payments/card_flow.h"

#include <algorithm>
#include <atomic>
#include <memory>

#include "domain/render.h"

namespace payd::payments {

struct CardFlow::Attempt {
  gateway::Authorization request;
  std::string request_id;
  Done done;
  int number = 1;
};

CardFlow::CardFlow(ledger::Ledger& ledger, gateway::Gateway& gateway, Scheduler& scheduler, Random& random,
                   CardFlowOptions options)
    : ledger_(ledger), gateway_(gateway), scheduler_(scheduler), random_(random), options_(options) {}

ledger::GatewayResult to_gateway_result(gateway::Status status) {
  switch (status) {
    case gateway::Status::approved: return ledger::GatewayResult::approved;
    case gateway::Status::declined: return ledger::GatewayResult::declined;
    case gateway::Status::insufficient_funds: return ledger::GatewayResult::insufficient_funds;
    case gateway::Status::error: return ledger::GatewayResult::error;
    case gateway::Status::not_found: return ledger::GatewayResult::timeout;
  }
  return ledger::GatewayResult::error;
}

bool CardFlow::mark_in_flight(const std::string& payment_id) {
  std::lock_guard lock(mutex_);
  return in_flight_.insert(payment_id).second;
}

void CardFlow::clear_in_flight(const std::string& payment_id) {
  std::lock_guard lock(mutex_);
  in_flight_.erase(payment_id);
}

bool CardFlow::in_flight(const std::string& payment_id) const {
  std::lock_guard lock(mutex_);
  return in_flight_.count(payment_id) != 0;
}

std::chrono::milliseconds CardFlow::backoff(int attempt_number) {
  // Full jitter: uniform in [0, min(max, base * 2^(n-1))].
  auto ceiling = std::min<std::int64_t>(options_.backoff_max.count(),
                                        options_.backoff_base.count() << std::min(attempt_number - 1, 16));
  return std::chrono::milliseconds(random_.uniform(static_cast<std::uint64_t>(ceiling) + 1));
}

void CardFlow::with_timeout(std::function<void(gateway::Callback)> call,
                            std::function<void(gateway::Answer)> on_answer, std::function<void()> on_timeout) {
  auto decided = std::make_shared<std::atomic<bool>>(false);
  scheduler_.post_after(options_.gateway_timeout, [decided, on_timeout] {
    if (!decided->exchange(true)) on_timeout();
  });
  call([decided, on_answer = std::move(on_answer)](gateway::Answer answer) {
    if (!decided->exchange(true)) on_answer(std::move(answer));
  });
}

void CardFlow::authorize(const Payment& payment, const PaymentMethod& method, std::string request_id, Done done) {
  mark_in_flight(payment.id);
  auto attempt = std::make_shared<Attempt>();
  attempt->request = gateway::Authorization{payment.id, method.bin, method.last4, payment.amount, payment.currency,
                                            payment.capture};
  attempt->request_id = std::move(request_id);
  attempt->done = std::move(done);
  try_authorize(std::move(attempt));
}

void CardFlow::try_authorize(std::shared_ptr<Attempt> attempt) {
  with_timeout(
      [this, attempt](gateway::Callback callback) { gateway_.authorize(attempt->request, std::move(callback)); },
      [this, attempt](gateway::Answer answer) {
        if (answer.status == gateway::Status::error && attempt->number < options_.attempts_max) {
          auto delay = backoff(attempt->number);
          ++attempt->number;
          scheduler_.post_after(delay, [this, attempt] { try_authorize(attempt); });
          return;
        }
        finish(attempt->request.payment_id, to_gateway_result(answer.status), answer.reference,
               attempt->request_id, attempt->done);
      },
      [this, attempt] {
        finish(attempt->request.payment_id, ledger::GatewayResult::timeout, {}, attempt->request_id, attempt->done);
      });
}

void CardFlow::finish(const std::string& payment_id, ledger::GatewayResult result, std::string reference,
                      const std::string& request_id, Done done) {
  ledger::Submission submission{ledger::FinishCardPayment{payment_id, result, gateway_.name(), std::move(reference)},
                                std::nullopt, request_id};
  ledger_.submit(std::move(submission), [this, payment_id, done = std::move(done)](ledger::Outcome outcome) {
    clear_in_flight(payment_id);
    done(std::move(outcome));
  });
}

void CardFlow::resume(const std::string& payment_id, std::string request_id, Done done) {
  Result<Payment> payment = ledger_.payment(payment_id);
  if (!payment.ok() || payment->status != PaymentStatus::pending) {
    finish(payment_id, ledger::GatewayResult::timeout, {}, request_id, std::move(done));
    return;
  }
  Result<PaymentMethod> method = ledger_.payment_method(payment->source_id);
  if (!method.ok()) {
    finish(payment_id, ledger::GatewayResult::error, {}, request_id, std::move(done));
    return;
  }
  mark_in_flight(payment_id);
  auto shared_payment = std::make_shared<Payment>(std::move(payment.value()));
  auto shared_method = std::make_shared<PaymentMethod>(std::move(method.value()));
  auto shared_done = std::make_shared<Done>(std::move(done));
  with_timeout(
      [this, payment_id](gateway::Callback callback) { gateway_.lookup(payment_id, std::move(callback)); },
      [=, this](gateway::Answer answer) {
        if (answer.status == gateway::Status::not_found) {
          // The gateway never saw it: send it now; the payment id makes this safe.
          authorize(*shared_payment, *shared_method, request_id, *shared_done);
          return;
        }
        finish(payment_id, to_gateway_result(answer.status), answer.reference, request_id, *shared_done);
      },
      [=, this] { finish(payment_id, ledger::GatewayResult::timeout, {}, request_id, *shared_done); });
}

void CardFlow::capture(const Payment& payment, ledger::Submission submission, Done done) {
  auto shared_submission = std::make_shared<ledger::Submission>(std::move(submission));
  auto shared_done = std::make_shared<Done>(std::move(done));
  std::string payment_id = payment.id;
  Minor amount = payment.amount;
  auto unavailable = [shared_submission, shared_done] {
    Problem problem = retry_soon("gateway_unavailable", "the gateway did not confirm the capture; nothing changed");
    (*shared_done)(ledger::Outcome{ledger::Outcome::Kind::executed,
                                   ledger::Reply{503, render_problem(problem, shared_submission->request_id)}, {}});
  };
  with_timeout(
      [this, payment_id, amount](gateway::Callback callback) {
        gateway_.capture(payment_id, amount, std::move(callback));
      },
      [this, shared_submission, shared_done, unavailable](gateway::Answer answer) {
        if (answer.status != gateway::Status::approved) return unavailable();
        ledger_.submit(std::move(*shared_submission), *shared_done);
      },
      unavailable);
}

}  // namespace payd::payments
