// SimulatedGateway: a built-in acquirer for development and tests.
//
// Decides from the card's BIN and last four digits (API.md, test cards):
//   ...4242, 5555...4444 and other cards: approved
//   400000...0002: declined;  400000...9995: insufficient funds
//   400000...0259: approved, but the answer never arrives (a timeout)
//   400000...0119: a 5xx error on every try
// Answers after `latency_ms` on the scheduler. Keeps its decisions in memory
// by payment id, so repeated authorisations are idempotent and lookups can
// answer the recovery worker. Its health is `up`, unless a health file is
// configured: then each probe reads the file's first word (up, degraded or
// down; anything else is down, a missing file is up), so tests and drills
// can mark the gateway degraded or down while payd runs. Thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/scheduler.h"
#include "gateway/gateway.h"

namespace payd::gateway {

class SimulatedGateway final : public Gateway {
 public:
  SimulatedGateway(Scheduler& scheduler, std::chrono::milliseconds latency, std::string health_file = {});

  const std::string& name() const override { return name_; }
  void authorize(const Authorization& request, Callback done) override;
  void lookup(const std::string& payment_id, Callback done) override;
  void capture(const std::string& payment_id, Minor amount, Callback done) override;
  void health(std::function<void(Health)> done) override;

  // How many distinct payments were charged (approved): for tests of
  // exactly-once charging.
  std::size_t charges() const;

  static Status decide(const std::string& bin, const std::string& last4);

 private:
  void answer_later(Callback done, Answer answer);

  Scheduler& scheduler_;
  std::chrono::milliseconds latency_;
  std::string health_file_;
  std::string name_ = "simulated";
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Answer> decisions_;
};

}  // namespace payd::gateway
