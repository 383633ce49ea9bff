#include "bench/paybench/load.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <optional>
#include <utility>

#include "bench/paybench/json_fields.h"

namespace payd::bench {
namespace {

std::int64_t seconds_to_us(double seconds) { return static_cast<std::int64_t>(std::llround(seconds * 1e6)); }

// What a connection has in flight, to account for its answer.
struct InFlight {
  RequestKind kind = RequestKind::transfer;
  std::uint64_t key_sequence = 0;  // 0: no key (a read)
  bool duplicate = false;
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

class LoadSource final : public ExchangeSource {
 public:
  LoadSource(const LoadOptions& options, std::size_t connections, const Fixture& fixture, KeyMaker& keys, Clock& clock,
             Random& random)
      : options_(options),
        keys_(keys),
        random_(random),
        generator_(options.workload, fixture, random),
        in_flight_(connections),
        start_us_(clock.monotonic_us()),
        measure_start_us_(start_us_ + seconds_to_us(options.warmup_s)),
        end_us_(measure_start_us_ + seconds_to_us(options.duration_s)) {
    assert(options.duration_s > 0.0 && options.warmup_s >= 0.0);
    assert(options.duplicate_share >= 0.0 && options.duplicate_share <= 1.0);
  }

  std::optional<Exchange> next(std::size_t connection, std::int64_t now_us) override {
    std::optional<std::int64_t> intended_us = schedule(now_us);
    if (!intended_us) return std::nullopt;
    result_.requests_sent += 1;
    Exchange exchange;
    exchange.intended_send_us = *intended_us;
    if (options_.duplicate_share > 0.0 && uniform_unit(random_) < options_.duplicate_share) {
      if (const KeyRecord* record = result_.keys.pick_duplicate(random_)) {
        exchange.request = record->request;
        in_flight_[connection] = InFlight{record->kind, record->sequence, true};
        result_.duplicates_sent += 1;
        return exchange;
      }
    }
    PlannedRequest planned = generator_.next();
    InFlight in_flight{planned.kind, 0, false};
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

  void complete(std::size_t connection, Exchange exchange, HttpResponse response, std::int64_t,
                std::int64_t done_us) override {
    const InFlight& in_flight = in_flight_[connection];
    AnswerFields fields = read_answer(response);
    if (exchange.intended_send_us >= measure_start_us_) measure(exchange, response, fields, done_us);
    if (in_flight.key_sequence != 0) {
      result_.keys.record_answer(in_flight.key_sequence, make_key_answer(response, fields.id, fields.code));
    }
    if (in_flight.duplicate) return;
    generator_.learn(in_flight.kind, response.status, fields.id, fields.payment_status);
    bool creation = in_flight.kind == RequestKind::transfer || in_flight.kind == RequestKind::wallet_payment ||
                    in_flight.kind == RequestKind::card_payment;
    if (creation && response.status == 201 && !response.replayed && !fields.id.empty()) {
      sample_acknowledged(Acknowledged{in_flight.kind, std::move(fields.id), fields.amount_minor});
    }
  }

  LoadResult take_result() {
    if (open_loop()) {
      auto due =
          static_cast<std::int64_t>(std::ceil(static_cast<double>(end_us_ - start_us_) * 1e-6 * options_.rate_per_s));
      result_.scheduled_not_sent = std::max<std::int64_t>(0, due - static_cast<std::int64_t>(slots_taken_));
    }
    std::int64_t measured_us = std::max(last_measured_done_us_ - measure_start_us_, end_us_ - measure_start_us_);
    result_.measured_s = static_cast<double>(measured_us) * 1e-6;
    return std::move(result_);
  }

 private:
  bool open_loop() const { return options_.rate_per_s > 0.0; }

  // The intended send time of the next request, or nullopt when the run is over.
  std::optional<std::int64_t> schedule(std::int64_t now_us) {
    if (!open_loop()) {
      if (now_us >= end_us_) return std::nullopt;
      return now_us;
    }
    if (now_us >= end_us_ + seconds_to_us(open_loop_drain_s)) return std::nullopt;
    double offset_s = static_cast<double>(slots_taken_) / options_.rate_per_s;
    std::int64_t intended_us = start_us_ + seconds_to_us(offset_s);
    if (intended_us >= end_us_) return std::nullopt;
    slots_taken_ += 1;
    return intended_us;
  }

  void measure(const Exchange& exchange, const HttpResponse& response, const AnswerFields& fields,
               std::int64_t done_us) {
    result_.latency.record(done_us - exchange.intended_send_us);
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
  LoadResult result_;
  const std::int64_t start_us_;
  const std::int64_t measure_start_us_;
  const std::int64_t end_us_;
  std::uint64_t slots_taken_ = 0;
  std::uint64_t acknowledged_seen_ = 0;
  std::int64_t last_measured_done_us_ = 0;
};

}  // namespace

LoadResult run_load(const LoadOptions& options, const DriveOptions& drive_options, const Fixture& fixture,
                    KeyMaker& keys, Clock& clock, Random& random) {
  LoadSource source(options, drive_options.connections, fixture, keys, clock, random);
  Outcome outcome = drive(drive_options, clock, source);
  LoadResult result = source.take_result();
  if (!outcome.ok()) result.stopped_early = "payd unreachable: " + outcome.message();
  return result;
}

}  // namespace payd::bench
