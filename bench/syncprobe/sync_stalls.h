// SyncStalls: what a disk's fdatasync latencies mean for a service that
// answers a write only once it is synced.
//
// A request that arrives while a sync is under way waits at least until
// that sync returns (then for its own). So over a probe of `elapsed_us`, the
// share of time during which an arrival would have waited more than
// `threshold_us` for the sync under way alone is
//
//   sum over syncs of max(0, duration - threshold_us) / elapsed_us,
//
// a lower bound on the share of uniformly arriving requests whose answer
// comes later than the threshold, whatever the software above the disk
// does. When it is above 1%, no design that syncs before answering has a
// p99 under the threshold on that stretch of the disk's time.
#pragma once

#include <cstdint>
#include <vector>

namespace payd::bench {

struct SyncStallSummary {
  std::int64_t syncs = 0;
  std::int64_t p50_us = 0;
  std::int64_t p99_us = 0;
  std::int64_t p99_9_us = 0;
  std::int64_t max_us = 0;
  std::int64_t over_threshold = 0;     // syncs longer than the threshold
  double waiting_share_over_threshold = 0;  // 0..1, see above
};

// Summarises the sync durations of a probe that ran `elapsed_us` (> 0;
// every duration is part of it, so their sum is at most elapsed_us).
SyncStallSummary summarize_syncs(const std::vector<std::int64_t>& durations_us, std::int64_t elapsed_us,
                                 std::int64_t threshold_us);

}  // namespace payd::bench
