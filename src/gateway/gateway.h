// The gateway port: card authorisations and captures at an acquirer.
//
// Every call carries payd's payment id as the gateway's idempotency key:
// sending the same authorisation twice charges once. Callbacks may run on
// any thread, and may never run (a gateway that does not answer): callers
// enforce their own timeout. Implementations are thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/money.h"

namespace payd::gateway {

struct Authorization {
  std::string payment_id;  // the idempotency key at the gateway
  std::string bin;         // card's first six digits
  std::string last4;
  Minor amount = 0;
  std::string currency;
  bool capture = true;  // authorise and capture in one step
};

enum class Status { approved, declined, insufficient_funds, error, not_found };

struct Answer {
  Status status = Status::error;
  std::string reference;  // the gateway's id for the charge, when approved
};

using Callback = std::function<void(Answer)>;

// How a gateway says it is doing (API.md, GET /v1/gateways).
enum class Health { up, degraded, down };
std::string_view to_string(Health health);

class Gateway {
 public:
  virtual ~Gateway() = default;
  virtual const std::string& name() const = 0;
  virtual void authorize(const Authorization& request, Callback done) = 0;
  // What the gateway knows of a payment id: its decision, or not_found.
  virtual void lookup(const std::string& payment_id, Callback done) = 0;
  // Captures an authorised payment (idempotent per payment id).
  virtual void capture(const std::string& payment_id, Minor amount, Callback done) = 0;
  // A cheap status probe that charges nothing. Like every call it may never
  // answer; the health checker treats that as down.
  virtual void health(std::function<void(Health)> done) = 0;
};

}  // namespace payd::gateway
