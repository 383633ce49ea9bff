// LatencyHistogram: counts latencies in log-linear buckets so that any
// quantile of millions of samples comes out within 1% in a few kilobytes.
//
// Why not keep the samples: a 10 s run at tens of thousands of requests per
// second would keep and sort megabytes per run, and a percentile only needs
// a relative precision, not the samples themselves.
//
// Layout (the idea of HdrHistogram): values below `sub_bucket_count` (128)
// microseconds each have their own bucket. Above that, every power of two
// [2^e, 2^(e+1)) is cut into 128 equal buckets, so a bucket is at most 1/128
// (0.78%) of its lower bound wide, and its midpoint is within 0.4% of every
// value in it. Values above `value_max_us` (2^26 - 1 us, 67 s) are counted in
// the last bucket; min and max are kept exactly.
//
// Not thread-safe: one histogram per thread, or one owner.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace payd::bench {

class LatencyHistogram {
 public:
  static constexpr int sub_bucket_bits = 7;
  static constexpr std::int64_t sub_bucket_count = std::int64_t{1} << sub_bucket_bits;
  // Powers of two 2^7..2^25 each get sub_bucket_count buckets, so the
  // range ends just below 2^26 us (67 s), past the 60 s it must cover.
  static constexpr int exponent_max = 25;
  static constexpr std::int64_t value_max_us = (std::int64_t{1} << (exponent_max + 1)) - 1;
  static constexpr std::size_t bucket_count =
      static_cast<std::size_t>(sub_bucket_count * (exponent_max - sub_bucket_bits + 2));

  static_assert(value_max_us >= 60'000'000);

  // Counts one latency. Negative values count as 0, values above
  // value_max_us in the last bucket (the exact max is still kept).
  void record(std::int64_t latency_us);

  std::int64_t count() const { return count_; }
  // Exact smallest and largest recorded values; 0 when empty.
  std::int64_t min_us() const { return count_ == 0 ? 0 : min_us_; }
  std::int64_t max_us() const { return count_ == 0 ? 0 : max_us_; }

  // The value at `quantile` (0..1): the sample of rank ceil(quantile *
  // count), to within 0.4% above 128 us and exactly below (the midpoint of
  // its bucket, clamped to [min, max]). Rank 1 is the exact min and rank
  // count the exact max. 0 when empty.
  std::int64_t quantile_us(double quantile) const;

  // Which bucket a value falls in, and the bucket's value range [low, high].
  static std::size_t bucket_of(std::int64_t latency_us);
  static std::int64_t bucket_low_us(std::size_t bucket);
  static std::int64_t bucket_high_us(std::size_t bucket);

 private:
  std::array<std::int64_t, bucket_count> counts_{};
  std::int64_t count_ = 0;
  std::int64_t min_us_ = 0;
  std::int64_t max_us_ = 0;
};

}  // namespace payd::bench
