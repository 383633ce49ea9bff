#include "resilience/circuit_breaker.h"

namespace payd::resilience {

std::string_view to_string(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::closed: return "closed";
    case CircuitBreaker::State::open: return "open";
    case CircuitBreaker::State::half_open: return "half_open";
  }
  return "closed";
}

namespace {
metrics::Counter& transition_counter(metrics::Registry& registry, const std::string& name, const char* to) {
  return registry.counter("payd_circuit_transitions_total", "Circuit breaker state changes, by the state entered",
                          {{"circuit", name}, {"to", to}});
}
}  // namespace

CircuitBreaker::CircuitBreaker(std::string name, BreakerOptions options, Clock& clock, metrics::Registry& registry)
    : name_(std::move(name)),
      options_(options),
      clock_(clock),
      state_gauge_(registry.gauge("payd_circuit_state", "Circuit breaker state: 0 closed, 1 open, 2 half-open",
                                  {{"circuit", name_}})),
      to_closed_(transition_counter(registry, name_, "closed")),
      to_open_(transition_counter(registry, name_, "open")),
      to_half_open_(transition_counter(registry, name_, "half_open")) {}

void CircuitBreaker::move_to(State next, std::int64_t now_us) {
  if (state_ == next) return;
  state_ = next;
  ++transitions_;
  switch (next) {
    case State::closed:
      state_gauge_.set(0);
      to_closed_.add();
      consecutive_failures_ = 0;
      break;
    case State::open:
      state_gauge_.set(1);
      to_open_.add();
      opened_at_us_ = now_us;
      break;
    case State::half_open:
      state_gauge_.set(2);
      to_half_open_.add();
      break;
  }
  probe_started_us_ = -1;
}

bool CircuitBreaker::allow() {
  std::lock_guard lock(mutex_);
  if (state_ == State::closed) return true;
  std::int64_t now_us = clock_.monotonic_us();
  if (state_ == State::open) {
    if (now_us - opened_at_us_ < options_.open_ms * 1000) return false;
    move_to(State::half_open, now_us);
  }
  bool probe_out = probe_started_us_ >= 0 && now_us - probe_started_us_ < options_.probe_timeout_ms * 1000;
  if (probe_out) return false;
  probe_started_us_ = now_us;
  return true;
}

void CircuitBreaker::record_success() {
  std::lock_guard lock(mutex_);
  consecutive_failures_ = 0;
  if (state_ == State::half_open) move_to(State::closed, clock_.monotonic_us());
}

void CircuitBreaker::record_failure() {
  std::lock_guard lock(mutex_);
  std::int64_t now_us = clock_.monotonic_us();
  if (state_ == State::half_open) {
    move_to(State::open, now_us);
    return;
  }
  if (state_ == State::closed && ++consecutive_failures_ >= options_.failures_to_open) move_to(State::open, now_us);
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

std::uint64_t CircuitBreaker::transitions() const {
  std::lock_guard lock(mutex_);
  return transitions_;
}

}  // namespace payd::resilience
