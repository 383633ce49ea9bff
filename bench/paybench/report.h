// The run's figures, as a table for people (stdout) and as JSON for
// scripts (--json PATH). Both are made from the same Figures, so they
// cannot disagree.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "bench/paybench/check.h"
#include "bench/paybench/expected.h"
#include "bench/paybench/load.h"
#include "bench/paybench/machine_cpu.h"
#include "bench/paybench/payd_syncs.h"
#include "bench/paybench/payd_threads.h"

namespace payd::bench {

struct RunDescription {
  std::string workload;
  std::size_t connections = 0;
  std::size_t accounts = 0;
  std::size_t merchants = 0;  // paid by the workload; 0 when it pays none
  double rate_per_s = 0.0;  // 0: closed loop
  double duration_s = 0.0;
  double warmup_s = 0.0;
  double duplicate_share = 0.0;
  std::string keys;  // how the Idempotency-Keys are made
  int retries = 0;
  std::size_t targets = 1;  // payd nodes the connections are spread over
  std::string payd_args;    // the extra flags of a spawned payd, empty otherwise
};

struct RunReport {
  RunDescription run;
  const LoadResult* load = nullptr;  // must be set
  std::optional<std::int64_t> payd_peak_rss_kib;
  std::vector<CheckResult> checks;       // empty with --check off
  std::optional<Invariants> invariants;  // set when the API checks ran
  std::optional<PaydSyncs> payd_syncs;   // during the load, when payd keeps the histogram
  std::optional<CpuShare> machine_cpu;   // during the load (warmup included), all processes
  std::optional<PaydCpu> payd_cpu;       // a spawned payd's, during the load (warmup included)
};

// Whether every check passed (true when there were none).
bool checks_passed(const RunReport& report);

void print_table(const RunReport& report, std::ostream& out);

Outcome write_json(const RunReport& report, const std::string& path);

// The latency distribution for plots: one line per point, "percentile
// latency_ms inverse_tail" with inverse_tail = 1 / (1 - quantile), for
// quantiles 1 - 10^(-x) at x = 0, 0.05, ... while the run has samples that
// far into the tail, then the maximum. A header line starts with '#'.
Outcome write_percentiles(const LatencyHistogram& latency, const std::string& path);

// The latency over time for plots: one line per stretch of 100 ms, "at_s
// requests max_ms over_1ms over_10ms over_100ms" (at_s: when the stretch
// starts, from the start of the measured time). A header line starts
// with '#'.
Outcome write_latency_timeline(const LatencyTimeline& timeline, const std::string& path);

}  // namespace payd::bench
