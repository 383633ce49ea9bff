// CircuitBreaker: stops calling a dependency that keeps failing.
//
// Closed: calls go through; `failures_to_open` consecutive failures (errors
// or timeouts) open it. Open: calls are refused at once for `open_ms`, so no
// request waits on a sick dependency. Then half-open: one probe goes
// through; its success closes the breaker, its failure opens it again for
// another `open_ms`. A probe that never reports back is replaced after
// `probe_timeout_ms`.
//
// Metrics: payd_circuit_state{circuit} (0 closed, 1 open, 2 half-open) and
// payd_circuit_transitions_total{circuit,to}. Thread-safe; time comes from
// the injected Clock.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "metrics/metrics.h"

namespace payd::resilience {

struct BreakerOptions {
  int failures_to_open = 5;
  std::int64_t open_ms = 30'000;
  std::int64_t probe_timeout_ms = 1'000;
};

class CircuitBreaker {
 public:
  enum class State { closed, open, half_open };

  CircuitBreaker(std::string name, BreakerOptions options, Clock& clock, metrics::Registry& registry);

  // Whether a call may go ahead now. In half-open state only the probe may;
  // a caller that was allowed must report record_success or record_failure.
  bool allow();
  void record_success();
  void record_failure();

  State state() const;
  const std::string& name() const { return name_; }
  std::uint64_t transitions() const;

 private:
  void move_to(State next, std::int64_t now_us);  // caller holds mutex_

  std::string name_;
  BreakerOptions options_;
  Clock& clock_;
  metrics::Gauge& state_gauge_;
  metrics::Counter& to_closed_;
  metrics::Counter& to_open_;
  metrics::Counter& to_half_open_;

  mutable std::mutex mutex_;
  State state_ = State::closed;
  int consecutive_failures_ = 0;
  std::int64_t opened_at_us_ = 0;
  std::int64_t probe_started_us_ = -1;  // -1: no probe out
  std::uint64_t transitions_ = 0;
};

std::string_view to_string(CircuitBreaker::State state);

}  // namespace payd::resilience
