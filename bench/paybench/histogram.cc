#include "bench/paybench/histogram.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>

namespace payd::bench {

std::size_t LatencyHistogram::bucket_of(std::int64_t latency_us) {
  std::int64_t value = std::clamp<std::int64_t>(latency_us, 0, value_max_us);
  if (value < sub_bucket_count) return static_cast<std::size_t>(value);
  int exponent = std::bit_width(static_cast<std::uint64_t>(value)) - 1;
  int shift = exponent - sub_bucket_bits;
  std::int64_t sub_bucket = (value >> shift) - sub_bucket_count;
  assert(exponent <= exponent_max);
  assert(sub_bucket >= 0 && sub_bucket < sub_bucket_count);
  return static_cast<std::size_t>(sub_bucket_count * (shift + 1) + sub_bucket);
}

std::int64_t LatencyHistogram::bucket_low_us(std::size_t bucket) {
  assert(bucket < bucket_count);
  auto index = static_cast<std::int64_t>(bucket);
  if (index < sub_bucket_count) return index;
  std::int64_t shift = index / sub_bucket_count - 1;
  std::int64_t sub_bucket = index % sub_bucket_count;
  return (sub_bucket_count + sub_bucket) << shift;
}

std::int64_t LatencyHistogram::bucket_high_us(std::size_t bucket) {
  assert(bucket < bucket_count);
  auto index = static_cast<std::int64_t>(bucket);
  if (index < sub_bucket_count) return index;
  std::int64_t shift = index / sub_bucket_count - 1;
  return bucket_low_us(bucket) + (std::int64_t{1} << shift) - 1;
}

void LatencyHistogram::record(std::int64_t latency_us) {
  std::int64_t value = std::max<std::int64_t>(latency_us, 0);
  counts_[bucket_of(value)] += 1;
  min_us_ = count_ == 0 ? value : std::min(min_us_, value);
  max_us_ = count_ == 0 ? value : std::max(max_us_, value);
  count_ += 1;
}

std::int64_t LatencyHistogram::quantile_us(double quantile) const {
  if (count_ == 0) return 0;
  double clamped = std::clamp(quantile, 0.0, 1.0);
  auto rank = static_cast<std::int64_t>(std::ceil(clamped * static_cast<double>(count_)));
  rank = std::clamp<std::int64_t>(rank, 1, count_);
  if (rank == 1) return min_us_;
  if (rank == count_) return max_us_;
  std::int64_t seen = 0;
  for (std::size_t bucket = 0; bucket < bucket_count; ++bucket) {
    seen += counts_[bucket];
    if (seen < rank) continue;
    std::int64_t middle = (bucket_low_us(bucket) + bucket_high_us(bucket)) / 2;
    return std::clamp(middle, min_us_, max_us_);
  }
  assert(false && "the counts add up to count_");
  return max_us_;
}

}  // namespace payd::bench
