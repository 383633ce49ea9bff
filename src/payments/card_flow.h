// CardFlow: a card payment in atomic phases (DESIGN.md, principle 5).
//
// Phase 1 (BeginCardPayment, in the ledger) recorded the payment `pending`
// with its key marked started. CardFlow then calls the gateway outside any
// transaction, with the payment id as the gateway's idempotency key, retrying
// 5xx answers with exponential backoff and jitter up to attempts_max, and
// bounding the wait by gateway_timeout. Phase 3 (FinishCardPayment) records
// what the gateway said, or a 202 with the payment left pending when it did
// not answer in time. resume() finishes a payment whose outcome is unknown
// (its owner died, or it timed out) by asking the gateway first.
//
// Thread-safe. Callbacks run on a ledger thread (see ledger.h).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "core/clock.h"
#include "core/scheduler.h"
#include "gateway/gateway.h"
#include "ledger/ledger.h"

namespace payd::payments {

struct CardFlowOptions {
  std::chrono::milliseconds gateway_timeout{2000};
  int attempts_max = 3;  // gateway tries for one authorisation
  std::chrono::milliseconds backoff_base{50};
  std::chrono::milliseconds backoff_max{1000};
};

class CardFlow {
 public:
  using Done = std::function<void(ledger::Outcome)>;

  CardFlow(ledger::Ledger& ledger, gateway::Gateway& gateway, Scheduler& scheduler, Random& random,
           CardFlowOptions options);

  // Phases 2 and 3 for a payment that BeginCardPayment just started.
  void authorize(const Payment& payment, const PaymentMethod& method, std::string request_id, Done done);
  // Resolves a pending payment by asking the gateway what it decided.
  void resume(const std::string& payment_id, std::string request_id, Done done);
  // Captures an authorised card payment at the gateway, then in the ledger.
  void capture(const Payment& payment, ledger::Submission submission, Done done);

  // Whether this process is working on the payment now (the recovery worker
  // leaves those alone).
  bool in_flight(const std::string& payment_id) const;

 private:
  struct Attempt;
  void try_authorize(std::shared_ptr<Attempt> attempt);
  void finish(const std::string& payment_id, ledger::GatewayResult result, std::string reference,
              const std::string& request_id, Done done);
  std::chrono::milliseconds backoff(int attempt_number);
  // Runs `call` with a timeout: exactly one of on_answer/on_timeout runs.
  void with_timeout(std::function<void(gateway::Callback)> call, std::function<void(gateway::Answer)> on_answer,
                    std::function<void()> on_timeout);
  bool mark_in_flight(const std::string& payment_id);
  void clear_in_flight(const std::string& payment_id);

  ledger::Ledger& ledger_;
  gateway::Gateway& gateway_;
  Scheduler& scheduler_;
  Random& random_;
  CardFlowOptions options_;
  mutable std::mutex mutex_;
  std::unordered_set<std::string> in_flight_;
};

ledger::GatewayResult to_gateway_result(gateway::Status status);

}  // namespace payd::payments
