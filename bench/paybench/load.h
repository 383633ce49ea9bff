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
//
// With retries_max > 0 (a fault run), an operation whose answer says "try
// again" (retry.h) is sent again, same key and same bytes, after a jittered
// pause, on whichever connection is free first, up to retries_max times. A
// due retry goes before new work. The operation is measured once, when its
// final answer arrives, from its first intended send time. Every key is
// then kept (KeyHistory keep_every_key) for the check.
//
// A fault hook (fault_command) runs once, fault_at_s after the load
// started, through /bin/sh on a thread of its own while the load goes on.
// From that instant on, answers are watched: the recovery time is from the
// fault until the first success (2xx) after the last service failure (no
// answer, 5xx).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bench/paybench/expected.h"
#include "bench/paybench/histogram.h"
#include "bench/paybench/http_client.h"
#include "bench/paybench/key_history.h"
#include "bench/paybench/latency_timeline.h"
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
  int retries_max = 0;        // 0: every answer is final
  std::string fault_command;  // empty: no fault
  double fault_at_s = 0.0;    // from the start of the load, warmup included
};

inline constexpr int retries_max_limit = 100;
// The fault command is killed after this long.
inline constexpr int fault_command_timeout_ms = 120'000;

// After the run's end, an open loop keeps sending requests that were due
// for at most this long, then stops and counts the rest as not sent.
inline constexpr double open_loop_drain_s = 5.0;

// A 201 answer to a transfer or a payment: something that must be found later.
struct Acknowledged {
  RequestKind kind = RequestKind::transfer;
  std::string id;
  std::int64_t amount_minor = 0;
};

// What the fault hook did and how payd came through it.
struct FaultResult {
  double at_s = 0.0;  // when the command started, from the start of the load
  int exit_code = -1;
  std::string output;
  std::int64_t service_failures = 0;  // answers that were service failures, after the fault
  std::optional<double> recover_s;    // nullopt: no success after the last failure
  // Answers after the fault in slices of timeline_slice_s: successes (2xx)
  // and service failures, up to timeline_slices_max slices.
  std::vector<std::pair<std::int64_t, std::int64_t>> timeline;
};

inline constexpr double timeline_slice_s = 0.5;
inline constexpr std::size_t timeline_slices_max = 120;

struct LoadResult {
  LatencyHistogram latency;
  // Open loop: how late each measured first send left paybench, from its
  // intended time (a free connection and this process's own turn on the
  // CPU). Part of `latency`; large values say the client, not payd, held
  // a request.
  LatencyHistogram send_delay;
  LatencyTimeline timeline;  // the measured requests by when they were due
  std::int64_t requests_measured = 0;  // answered or failed, due after the warmup
  std::int64_t requests_sent = 0;      // including the warmup, duplicates and retries
  std::int64_t operations = 0;         // new requests (not duplicates, not retries), including the warmup
  std::int64_t acknowledged = 0;       // operations whose final answer was a 2xx or a 402
  std::int64_t retries_sent = 0;
  double measured_s = 0.0;  // from the warmup's end to the last measured answer
  std::int64_t duplicates_sent = 0;
  std::int64_t scheduled_not_sent = 0;                // open loop only
  std::map<unsigned, std::int64_t> statuses;          // measured; 0 is "no answer"
  std::map<std::string, std::int64_t> problem_codes;  // measured error answers
  std::vector<Acknowledged> acknowledged_sample;      // from the whole run
  KeyHistory keys;
  std::string stopped_early;  // why the load ended before its time (payd gone); empty normally
  std::optional<FaultResult> fault;
};

// Runs the load phase against the fixture.
LoadResult run_load(const LoadOptions& options, const DriveOptions& drive_options, const Fixture& fixture,
                    KeyMaker& keys, Clock& clock, Random& random);

}  // namespace payd::bench
