// RecoveryWorker: background upkeep of the ledger.
//
// Every interval it finds card payments left `pending` (the gateway timed
// out, or a process died between phases) and not being worked on here, and
// resolves them through CardFlow::resume(). Every purge interval it deletes
// idempotency records older than the retention (72 h by default), after
// which their keys are new again. Runs on its own thread; stop() joins it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "ledger/ledger.h"
#include "metrics/metrics.h"
#include "payments/card_flow.h"

namespace payd::payments {

struct RecoveryOptions {
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds pending_age_min{2000};  // leave younger payments to their owner
  int payments_per_round_max = 100;
  std::chrono::milliseconds purge_interval{std::chrono::hours(1)};
  std::chrono::seconds idempotency_retention{72 * 3600};
};

class RecoveryWorker {
 public:
  RecoveryWorker(ledger::Ledger& ledger, CardFlow& card_flow, Clock& clock, metrics::Registry& registry,
                 RecoveryOptions options);
  ~RecoveryWorker();
  void start();
  void stop();

  // One round of recovery, for tests and the loop.
  void recover_pending();
  void purge_expired_keys();

 private:
  void loop();

  ledger::Ledger& ledger_;
  CardFlow& card_flow_;
  Clock& clock_;
  RecoveryOptions options_;
  metrics::Counter& recovered_;
  metrics::Counter& purged_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace payd::payments
