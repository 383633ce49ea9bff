#include "bench/paybench/latency_timeline.h"

#include <algorithm>

namespace payd::bench {

void LatencyTimeline::record(std::int64_t due_us, std::int64_t latency_us) {
  auto index = static_cast<std::size_t>(std::max<std::int64_t>(0, due_us) / stretch_us);
  if (index >= stretches_.size()) stretches_.resize(index + 1);
  Stretch& stretch = stretches_[index];
  stretch.requests += 1;
  stretch.max_us = std::max(stretch.max_us, latency_us);
  for (std::size_t threshold = 0; threshold < thresholds_us.size(); ++threshold) {
    if (latency_us > thresholds_us[threshold]) stretch.over[threshold] += 1;
  }
}

LatencyTimeline::Summary LatencyTimeline::summarize() const {
  Summary summary;
  summary.stretches = stretches_.size();
  for (std::size_t index = 0; index < stretches_.size(); ++index) {
    const Stretch& stretch = stretches_[index];
    std::int64_t slow = stretch.over[over_10ms];
    if (slow == 0) continue;
    summary.stretches_over_10ms += 1;
    summary.requests_over_10ms += slow;
    if (!summary.worst) {
      summary.worst = index;
      continue;
    }
    const Stretch& worst = stretches_[*summary.worst];
    if (slow > worst.over[over_10ms] || (slow == worst.over[over_10ms] && stretch.max_us > worst.max_us)) {
      summary.worst = index;
    }
  }
  return summary;
}

}  // namespace payd::bench
