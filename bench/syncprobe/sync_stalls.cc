#include "bench/syncprobe/sync_stalls.h"

#include <algorithm>
#include <cassert>

#include "bench/paybench/histogram.h"

namespace payd::bench {

SyncStallSummary summarize_syncs(const std::vector<std::int64_t>& durations_us, std::int64_t elapsed_us,
                                 std::int64_t threshold_us) {
  assert(elapsed_us > 0);
  assert(threshold_us >= 0);
  LatencyHistogram histogram;
  std::int64_t waiting_over_us = 0;
  SyncStallSummary summary;
  for (std::int64_t duration_us : durations_us) {
    assert(duration_us >= 0);
    histogram.record(duration_us);
    if (duration_us > threshold_us) {
      ++summary.over_threshold;
      waiting_over_us += duration_us - threshold_us;
    }
  }
  summary.syncs = histogram.count();
  summary.p50_us = histogram.quantile_us(0.50);
  summary.p99_us = histogram.quantile_us(0.99);
  summary.p99_9_us = histogram.quantile_us(0.999);
  summary.max_us = histogram.max_us();
  summary.waiting_share_over_threshold =
      std::min(1.0, static_cast<double>(waiting_over_us) / static_cast<double>(elapsed_us));
  return summary;
}

}  // namespace payd::bench
