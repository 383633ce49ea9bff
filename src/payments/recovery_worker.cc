#include "payments/recovery_worker.h"

#include "core/thread_name.h"

namespace payd::payments {

RecoveryWorker::RecoveryWorker(ledger::Ledger& ledger, CardFlow& card_flow, Clock& clock,
                               metrics::Registry& registry, RecoveryOptions options)
    : ledger_(ledger),
      card_flow_(card_flow),
      clock_(clock),
      options_(options),
      recovered_(registry.counter("payd_recovery_resumed_total", "Pending card payments resumed by the recovery worker")),
      purged_(registry.counter("payd_idempotency_purged_total", "Idempotency records purged after the retention")) {}

RecoveryWorker::~RecoveryWorker() { stop(); }

void RecoveryWorker::start() { thread_ = std::thread([this] { loop(); }); }

void RecoveryWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RecoveryWorker::recover_pending() {
  Result<std::vector<Payment>> pending =
      ledger_.pending_card_payments(options_.pending_age_min.count(), options_.payments_per_round_max);
  if (!pending.ok()) return;  // the ledger is away; the next round tries again
  for (const Payment& payment : pending.value()) {
    if (card_flow_.in_flight(payment.id)) continue;
    recovered_.add();
    card_flow_.resume(payment.id, "req_recovery", [](ledger::Outcome) {});
  }
}

void RecoveryWorker::purge_expired_keys() {
  std::int64_t cutoff_ms = clock_.now_ms() - std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 options_.idempotency_retention)
                                                 .count();
  Result<std::int64_t> purged = ledger_.purge_idempotency(cutoff_ms);
  if (purged.ok()) purged_.add(static_cast<std::uint64_t>(purged.value()));
}

void RecoveryWorker::loop() {
  name_this_thread("pay-recovery");
  std::int64_t next_purge_us = clock_.monotonic_us();
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    recover_pending();
    if (clock_.monotonic_us() >= next_purge_us) {
      purge_expired_keys();
      next_purge_us = clock_.monotonic_us() +
                      std::chrono::duration_cast<std::chrono::microseconds>(options_.purge_interval).count();
    }
    lock.lock();
    wake_.wait_for(lock, options_.interval, [&] { return stopping_; });
  }
}

}  // namespace payd::payments
