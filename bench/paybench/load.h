// The load phase: the workload's requests over keep-alive connections for a
// fixed time, in a closed or an open loop, with latencies in a histogram.
//
// Closed loop: each connection sends its next request when the previous
// answer arrives; the latency of a request is from its send to its answer.
//
// Open loop (rate_per_s > 0): request i is due at start + i / rate. A free
// connection takes the earliest due request that nobody has taken, waits
// for its time if it is early, and sends it. Latency is measured from the
// due time, not the send, so when payd falls behind and every connection is
// busy, the time a request waited for a connection counts (no coordinated
// omission). Requests due within the run but never sent, because payd was
// so slow that the drain time ran out, are counted as scheduled_not_sent.
//
// The first warmup_s seconds are sent but not measured. Money-moving
// requests get fresh Idempotency-Keys; a `duplicate_share` of requests
// instead re-send a recent key with its exact body (some while the original
// is still in flight on another connection).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/paybench/expected.h"
#include "bench/paybench/histogram.h"
#include "bench/paybench/http_client.h"
#include "bench/paybench/key_history.h"
#include "bench/paybench/workload.h"
#include "core/clock.h"

namespace payd::bench {

struct LoadOptions {
  WorkloadKind workload = WorkloadKind::transfers_uniform;
  double duration_s = 10.0;      // measured
  double warmup_s = 1.0;         // before, not measured
  double rate_per_s = 0.0;       // 0: closed loop
  double duplicate_share = 0.0;  // 0..1
  // Acknowledged creations kept (uniformly sampled) for the check.
  std::size_t acknowledged_sample_max = 2000;
};

// After the run's end, an open loop keeps sending requests that were due
// for at most this long, then stops and counts the rest as not sent.
inline constexpr double open_loop_drain_s = 5.0;

// A 201 answer to a transfer or a payment: something that must be found later.
struct Acknowledged {
  RequestKind kind = RequestKind::transfer;
  std::string id;
  std::int64_t amount_minor = 0;
};

struct LoadResult {
  LatencyHistogram latency;
  std::int64_t requests_measured = 0;  // answered or failed, due after the warmup
  std::int64_t requests_sent = 0;      // including the warmup
  double measured_s = 0.0;             // from the warmup's end to the last measured answer
  std::int64_t duplicates_sent = 0;
  std::int64_t scheduled_not_sent = 0;                // open loop only
  std::map<unsigned, std::int64_t> statuses;          // measured; 0 is "no answer"
  std::map<std::string, std::int64_t> problem_codes;  // measured error answers
  std::vector<Acknowledged> acknowledged_sample;      // from the whole run
  KeyHistory keys;
  std::string stopped_early;  // why the load ended before its time (payd gone); empty normally
};

// Runs the load phase against the fixture.
LoadResult run_load(const LoadOptions& options, const DriveOptions& drive_options, const Fixture& fixture,
                    KeyMaker& keys, Clock& clock, Random& random);

}  // namespace payd::bench
