// The histogram's quantiles against exact quantiles of known samples: the
// benchmark's p99 is only worth reporting if it is within 1% of the truth.
#include "bench/paybench/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace payd::bench {
namespace {

constexpr double tolerance_relative = 0.01;
constexpr std::array<double, 6> quantiles = {0.0, 0.5, 0.9, 0.99, 0.999, 1.0};

// The sample of rank ceil(q * n), the definition the histogram follows.
std::int64_t exact_quantile(std::vector<std::int64_t> sorted, double quantile) {
  auto rank = static_cast<std::size_t>(std::ceil(quantile * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

void expect_quantiles_within_tolerance(std::vector<std::int64_t> samples) {
  LatencyHistogram histogram;
  for (std::int64_t sample : samples) histogram.record(sample);
  std::sort(samples.begin(), samples.end());
  ASSERT_EQ(histogram.count(), static_cast<std::int64_t>(samples.size()));
  EXPECT_EQ(histogram.min_us(), samples.front());
  EXPECT_EQ(histogram.max_us(), samples.back());
  for (double quantile : quantiles) {
    auto exact = static_cast<double>(exact_quantile(samples, quantile));
    auto measured = static_cast<double>(histogram.quantile_us(quantile));
    EXPECT_LE(std::abs(measured - exact), exact * tolerance_relative)
        << "quantile " << quantile << ": exact " << exact << " us, histogram " << measured << " us";
  }
}

TEST(LatencyHistogram, EmptyGivesZero) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.count(), 0);
  EXPECT_EQ(histogram.quantile_us(0.99), 0);
  EXPECT_EQ(histogram.max_us(), 0);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram histogram;
  for (std::int64_t value = 1; value <= 100; ++value) histogram.record(value);
  EXPECT_EQ(histogram.quantile_us(0.5), 50);
  EXPECT_EQ(histogram.quantile_us(0.9), 90);
  EXPECT_EQ(histogram.quantile_us(0.99), 99);
  EXPECT_EQ(histogram.quantile_us(1.0), 100);
}

TEST(LatencyHistogram, BucketsCoverEveryValueOnceAndStayNarrow) {
  for (std::size_t bucket = 0; bucket + 1 < LatencyHistogram::bucket_count; ++bucket) {
    std::int64_t low = LatencyHistogram::bucket_low_us(bucket);
    std::int64_t high = LatencyHistogram::bucket_high_us(bucket);
    ASSERT_EQ(LatencyHistogram::bucket_low_us(bucket + 1), high + 1) << "bucket " << bucket;
    ASSERT_EQ(LatencyHistogram::bucket_of(low), bucket);
    ASSERT_EQ(LatencyHistogram::bucket_of(high), bucket);
    ASSERT_LE(static_cast<double>(high - low), static_cast<double>(low) / 128.0 + 0.5);
  }
  EXPECT_EQ(LatencyHistogram::bucket_of(LatencyHistogram::value_max_us), LatencyHistogram::bucket_count - 1);
}

TEST(LatencyHistogram, UniformDistribution) {
  std::mt19937_64 random(1);
  std::uniform_int_distribution<std::int64_t> uniform(1, 1'000'000);
  std::vector<std::int64_t> samples(200'000);
  for (auto& sample : samples) sample = uniform(random);
  expect_quantiles_within_tolerance(std::move(samples));
}

TEST(LatencyHistogram, ExponentialDistribution) {
  std::mt19937_64 random(2);
  std::exponential_distribution<double> exponential(1.0 / 2'000.0);  // mean 2 ms
  std::vector<std::int64_t> samples(200'000);
  for (auto& sample : samples) sample = 1 + static_cast<std::int64_t>(exponential(random));
  expect_quantiles_within_tolerance(std::move(samples));
}

TEST(LatencyHistogram, LogNormalTailUpToSeconds) {
  std::mt19937_64 random(3);
  std::lognormal_distribution<double> lognormal(std::log(800.0), 1.5);
  std::vector<std::int64_t> samples(200'000);
  for (auto& sample : samples) {
    sample = std::min<std::int64_t>(1 + static_cast<std::int64_t>(lognormal(random)), LatencyHistogram::value_max_us);
  }
  expect_quantiles_within_tolerance(std::move(samples));
}

TEST(LatencyHistogram, KnownQuantilesOfAnExactSequence) {
  // 1..100'000 us once each: quantile q is q * 100'000 us.
  LatencyHistogram histogram;
  for (std::int64_t value = 1; value <= 100'000; ++value) histogram.record(value);
  for (double quantile : {0.5, 0.9, 0.99, 0.999}) {
    double expected = quantile * 100'000.0;
    EXPECT_NEAR(static_cast<double>(histogram.quantile_us(quantile)), expected, expected * tolerance_relative);
  }
  EXPECT_EQ(histogram.quantile_us(1.0), 100'000);
}

TEST(LatencyHistogram, ValuesBeyondTheRangeKeepTheExactMax) {
  LatencyHistogram histogram;
  histogram.record(-5);
  histogram.record(90'000'000);
  EXPECT_EQ(histogram.min_us(), 0);
  EXPECT_EQ(histogram.max_us(), 90'000'000);
  EXPECT_EQ(histogram.quantile_us(0.0), 0);
  EXPECT_EQ(histogram.quantile_us(1.0), 90'000'000);
}

}  // namespace
}  // namespace payd::bench
