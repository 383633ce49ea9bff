// LatencyTimeline: the measured requests by when they were due, in
// stretches of 100 ms: how many, the longest latency, and how many took
// over 1, 10 and 100 ms.
//
// Why beside the histogram: a p99 over 10 ms can be requests waiting a
// little too long all through the run (for a core), or a few stretches
// where every request waited (a slow disk sync, the host taking the CPU,
// one long batch in payd). The histogram of the whole run cannot tell the
// two apart; the stretches can, and their times line up with payd's logs
// and metrics. A long run stays small: 36,000 stretches an hour.
//
// Not thread-safe: one owner (the load's source, on the client's thread).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace payd::bench {

class LatencyTimeline {
 public:
  static constexpr std::int64_t stretch_us = 100'000;
  static constexpr std::array<std::int64_t, 3> thresholds_us = {1'000, 10'000, 100'000};
  static constexpr std::size_t over_10ms = 1;  // the index of 10 ms in thresholds_us
  static_assert(thresholds_us[over_10ms] == 10'000);

  struct Stretch {
    std::int64_t requests = 0;
    std::int64_t max_us = 0;
    std::array<std::int64_t, thresholds_us.size()> over{};  // requests that took longer than each threshold
  };

  // One request, due `due_us` after the start of the measured time
  // (negative counts as 0), answered `latency_us` after it was due.
  void record(std::int64_t due_us, std::int64_t latency_us);

  // From the start of the measured time to the last stretch with a request.
  const std::vector<Stretch>& stretches() const { return stretches_; }

  struct Summary {
    std::size_t stretches = 0;
    std::size_t stretches_over_10ms = 0;  // with at least one request over 10 ms
    std::int64_t requests_over_10ms = 0;
    // The stretch with the most requests over 10 ms (the longest latency
    // breaks a tie); nullopt when no request took that long.
    std::optional<std::size_t> worst;
  };
  Summary summarize() const;

 private:
  std::vector<Stretch> stretches_;
};

}  // namespace payd::bench
