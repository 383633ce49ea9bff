#include "bench/paybench/load.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <cmath>
#include <optional>
#include <queue>
#include <thread>
#include <utility>

#include "bench/paybench/json_fields.h"
#include "bench/paybench/process.h"
#include "bench/paybench/retry.h"

namespace payd::bench {
namespace {

std::int64_t seconds_to_us(double seconds) { return static_cast<std::int64_t>(std::llround(seconds * 1e6)); }

// What a connection has in flight, to account for its answer.
struct InFlight {
  RequestKind kind = RequestKind::transfer;
  std::uint64_t key_sequence = 0;  // 0: no key (a read)
  bool duplicate = false;
  std::int64_t first_intended_us = 0;  // of the operation's first send
  int retries = 0;                     // sends of the operation before this one
};

// An operation waiting for its next send.
struct PendingRetry {
  Exchange exchange;  // intended_send_us: when it is due
  InFlight in_flight;
};

struct LaterDue {
  bool operator()(const PendingRetry& left, const PendingRetry& right) const {
    return left.exchange.intended_send_us > right.exchange.intended_send_us;
  }
};

// The fields of an answer paybench looks at.
struct AnswerFields {
  std::string id;
  std::string code;
  std::string payment_status;
  std::int64_t amount_minor = 0;
};

AnswerFields read_answer(const HttpResponse& response) {
  AnswerFields fields;
  if (response.body.empty()) return fields;
  boost::json::object object = parse_object(response.body);
  if (response.status >= 200 && response.status < 300) {
    fields.id = text_member(object, "id");
    fields.payment_status = text_member(object, "status");
    fields.amount_minor = integer_member(object, "amount").value_or(0);
  } else {
    fields.code = text_member(object, "code");
  }
  return fields;
}

// Watches answers after a fault for the recovery time; see load.h.
class RecoveryWatch {
 public:
  // `fault_us` is 0 until the fault happened; it is set by another thread.
  explicit RecoveryWatch(const std::atomic<std::int64_t>& fault_us) : fault_us_(fault_us) {}

  void answer(unsigned status, std::int64_t done_us) {
    std::int64_t fault_us = fault_us_.load(std::memory_order_acquire);
    if (fault_us == 0 || done_us < fault_us) return;
    auto slice = static_cast<std::size_t>(static_cast<double>(done_us - fault_us) * 1e-6 / timeline_slice_s);
    if (slice < timeline_slices_max) {
      if (timeline_.size() <= slice) timeline_.resize(slice + 1);
      if (status >= 200 && status < 300) timeline_[slice].first += 1;
      if (is_service_failure(status)) timeline_[slice].second += 1;
    }
    if (is_service_failure(status)) {
      failures_ += 1;
      recovered_us_ = 0;
      return;
    }
    if (status >= 200 && status < 300 && recovered_us_ == 0) recovered_us_ = done_us;
  }

  // Fills the fault's failures and recovery time.
  void finish(FaultResult& fault) const {
    std::int64_t fault_us = fault_us_.load(std::memory_order_acquire);
    fault.service_failures = failures_;
    fault.timeline = timeline_;
    if (fault_us == 0) return;
    if (failures_ == 0) {
      fault.recover_s = 0.0;
    } else if (recovered_us_ != 0) {
      fault.recover_s = static_cast<double>(recovered_us_ - fault_us) * 1e-6;
    }
  }

 private:
  const std::atomic<std::int64_t>& fault_us_;
  std::int64_t failures_ = 0;
  std::int64_t recovered_us_ = 0;  // first success after the last failure; 0 while none
  std::vector<std::pair<std::int64_t, std::int64_t>> timeline_;
};

class LoadSource final : public ExchangeSource {
 public:
  LoadSource(const LoadOptions& options, std::size_t connections, const Fixture& fixture, KeyMaker& keys, Clock& clock,
             Random& random, const std::atomic<std::int64_t>& fault_us)
      : options_(options),
        keys_(keys),
        random_(random),
        generator_(options.workload, fixture, random),
        in_flight_(connections),
        recovery_(fault_us),
        start_us_(clock.monotonic_us()),
        measure_start_us_(start_us_ + seconds_to_us(options.warmup_s)),
        end_us_(measure_start_us_ + seconds_to_us(options.duration_s)) {
    assert(options.duration_s > 0.0 && options.warmup_s >= 0.0);
    assert(options.duplicate_share >= 0.0 && options.duplicate_share <= 1.0);
    assert(options.retries_max >= 0 && options.retries_max <= retries_max_limit);
    result_.keys = KeyHistory(options.retries_max > 0);
  }

  std::int64_t start_us() const { return start_us_; }

  std::optional<Exchange> next(std::size_t connection, std::int64_t now_us) override {
    std::optional<std::int64_t> slot_us = next_slot(now_us);
    bool retry_first =
        !retries_.empty() && (!slot_us || retries_.top().exchange.intended_send_us <= std::max(now_us, *slot_us));
    if (retry_first) return take_retry(connection);
    if (!slot_us) return std::nullopt;
    take_slot();
    in_flight_count_ += 1;
    result_.requests_sent += 1;
    Exchange exchange;
    exchange.intended_send_us = *slot_us;
    if (options_.duplicate_share > 0.0 && uniform_unit(random_) < options_.duplicate_share) {
      if (const KeyRecord* record = result_.keys.pick_duplicate(random_)) {
        exchange.request = record->request;
        in_flight_[connection] = InFlight{record->kind, record->sequence, true, *slot_us, 0};
        result_.duplicates_sent += 1;
        return exchange;
      }
    }
    result_.operations += 1;
    PlannedRequest planned = generator_.next();
    InFlight in_flight{planned.kind, 0, false, *slot_us, 0};
    if (moves_money(planned.kind)) {
      auto [sequence, key] = keys_.next();
      planned.request.idempotency_key = std::move(key);
      result_.keys.remember(sequence, planned.kind, planned.request);
      in_flight.key_sequence = sequence;
    }
    in_flight_[connection] = in_flight;
    exchange.request = std::move(planned.request);
    return exchange;
  }

  void complete(std::size_t connection, Exchange exchange, HttpResponse response, std::int64_t sent_us,
                std::int64_t done_us) override {
    assert(in_flight_count_ > 0);
    in_flight_count_ -= 1;
    const InFlight in_flight = in_flight_[connection];
    if (open_loop() && in_flight.retries == 0 && in_flight.first_intended_us >= measure_start_us_) {
      result_.send_delay.record(std::max<std::int64_t>(0, sent_us - exchange.intended_send_us));
    }
    AnswerFields fields = read_answer(response);
    recovery_.answer(response.status, done_us);
    if (in_flight.key_sequence != 0) {
      result_.keys.record_answer(in_flight.key_sequence, make_key_answer(response, fields.id, fields.code));
    }
    bool again = !in_flight.duplicate && in_flight.retries < options_.retries_max &&
                 says_try_again(response.status, fields.code);
    if (again) {
      InFlight retry = in_flight;
      retry.retries += 1;
      exchange.intended_send_us = done_us + retry_pause_us(retry.retries, random_);
      retries_.push(PendingRetry{std::move(exchange), retry});
      return;
    }
    if (in_flight.first_intended_us >= measure_start_us_) measure(in_flight, response, fields, done_us);
    if (in_flight.duplicate) return;
    if ((response.status >= 200 && response.status < 300) || response.status == 402) result_.acknowledged += 1;
    generator_.learn(in_flight.kind, response.status, fields.id, fields.payment_status);
    bool creation = in_flight.kind == RequestKind::transfer || in_flight.kind == RequestKind::wallet_payment ||
                    in_flight.kind == RequestKind::card_payment;
    // A retried operation's 201 may be a replay of its own first send.
    if (creation && response.status == 201 && !fields.id.empty()) {
      sample_acknowledged(Acknowledged{in_flight.kind, std::move(fields.id), fields.amount_minor});
    }
  }

  bool finished(std::int64_t now_us) override {
    return !next_slot(now_us) && retries_.empty() && in_flight_count_ == 0;
  }

  LoadResult take_result(std::optional<FaultResult> fault) {
    if (open_loop()) {
      auto due =
          static_cast<std::int64_t>(std::ceil(static_cast<double>(end_us_ - start_us_) * 1e-6 * options_.rate_per_s));
      result_.scheduled_not_sent = std::max<std::int64_t>(0, due - static_cast<std::int64_t>(slots_taken_));
    }
    std::int64_t measured_us = std::max(last_measured_done_us_ - measure_start_us_, end_us_ - measure_start_us_);
    result_.measured_s = static_cast<double>(measured_us) * 1e-6;
    if (fault) recovery_.finish(*fault);
    result_.fault = std::move(fault);
    return std::move(result_);
  }

 private:
  bool open_loop() const { return options_.rate_per_s > 0.0; }

  // The intended send time of the next new request, or nullopt when the
  // run is over.
  std::optional<std::int64_t> next_slot(std::int64_t now_us) const {
    if (!open_loop()) {
      if (now_us >= end_us_) return std::nullopt;
      return now_us;
    }
    if (now_us >= end_us_ + seconds_to_us(open_loop_drain_s)) return std::nullopt;
    double offset_s = static_cast<double>(slots_taken_) / options_.rate_per_s;
    std::int64_t intended_us = start_us_ + seconds_to_us(offset_s);
    if (intended_us >= end_us_) return std::nullopt;
    return intended_us;
  }

  void take_slot() {
    if (open_loop()) slots_taken_ += 1;
  }

  Exchange take_retry(std::size_t connection) {
    PendingRetry retry = retries_.top();
    retries_.pop();
    in_flight_count_ += 1;
    result_.requests_sent += 1;
    result_.retries_sent += 1;
    if (retry.in_flight.key_sequence != 0) result_.keys.record_resend(retry.in_flight.key_sequence);
    in_flight_[connection] = retry.in_flight;
    return std::move(retry.exchange);
  }

  void measure(const InFlight& in_flight, const HttpResponse& response, const AnswerFields& fields,
               std::int64_t done_us) {
    result_.latency.record(done_us - in_flight.first_intended_us);
    result_.timeline.record(in_flight.first_intended_us - measure_start_us_, done_us - in_flight.first_intended_us);
    result_.requests_measured += 1;
    result_.statuses[response.status] += 1;
    if (response.status >= 400) result_.problem_codes[fields.code.empty() ? "(none)" : fields.code] += 1;
    if (response.status == 0) result_.problem_codes["(no answer: " + response.transport_error + ")"] += 1;
    last_measured_done_us_ = std::max(last_measured_done_us_, done_us);
  }

  // Reservoir sampling: every acknowledged creation is kept with the same
  // probability, whatever the run's length.
  void sample_acknowledged(Acknowledged acknowledged) {
    acknowledged_seen_ += 1;
    auto& sample = result_.acknowledged_sample;
    if (sample.size() < options_.acknowledged_sample_max) {
      sample.push_back(std::move(acknowledged));
      return;
    }
    std::uint64_t slot = random_.uniform(acknowledged_seen_);
    if (slot < sample.size()) sample[static_cast<std::size_t>(slot)] = std::move(acknowledged);
  }

  const LoadOptions& options_;
  KeyMaker& keys_;
  Random& random_;
  WorkloadGenerator generator_;
  std::vector<InFlight> in_flight_;
  std::priority_queue<PendingRetry, std::vector<PendingRetry>, LaterDue> retries_;
  RecoveryWatch recovery_;
  LoadResult result_;
  const std::int64_t start_us_;
  const std::int64_t measure_start_us_;
  const std::int64_t end_us_;
  std::uint64_t slots_taken_ = 0;
  std::size_t in_flight_count_ = 0;
  std::uint64_t acknowledged_seen_ = 0;
  std::int64_t last_measured_done_us_ = 0;
};

// Runs the fault command once at its time, on a thread of its own, and
// publishes the instant it started in `fault_us`.
class FaultHook {
 public:
  FaultHook(const LoadOptions& options, Clock& clock, std::int64_t load_start_us, std::atomic<std::int64_t>& fault_us)
      : enabled_(!options.fault_command.empty()) {
    if (!enabled_) return;
    std::int64_t at_us = load_start_us + seconds_to_us(options.fault_at_s);
    thread_ = std::thread([this, &options, &clock, &fault_us, at_us, load_start_us] {
      std::int64_t wait_us = at_us - clock.monotonic_us();
      if (wait_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(wait_us));
      std::int64_t started_us = clock.monotonic_us();
      fault_us.store(started_us, std::memory_order_release);
      CommandResult command = run_command({"/bin/sh", "-c", options.fault_command}, fault_command_timeout_ms);
      result_.at_s = static_cast<double>(started_us - load_start_us) * 1e-6;
      result_.exit_code = command.exit_code;
      result_.output = std::move(command.output);
    });
  }
  ~FaultHook() {
    if (thread_.joinable()) thread_.join();
  }
  FaultHook(const FaultHook&) = delete;
  FaultHook& operator=(const FaultHook&) = delete;

  // Waits for the command to end; its result, or nullopt without a fault.
  std::optional<FaultResult> finish() {
    if (!enabled_) return std::nullopt;
    thread_.join();
    return result_;
  }

 private:
  bool enabled_;
  FaultResult result_;
  std::thread thread_;
};

}  // namespace

LoadResult run_load(const LoadOptions& options, const DriveOptions& drive_options, const Fixture& fixture,
                    KeyMaker& keys, Clock& clock, Random& random) {
  std::atomic<std::int64_t> fault_us{0};
  LoadSource source(options, drive_options.connections, fixture, keys, clock, random, fault_us);
  FaultHook fault(options, clock, source.start_us(), fault_us);
  Outcome outcome = drive(drive_options, clock, source);
  LoadResult result = source.take_result(fault.finish());
  if (!outcome.ok()) result.stopped_early = "payd unreachable: " + outcome.message();
  return result;
}

}  // namespace payd::bench
