#include "bench/paybench/payd_syncs.h"

#include <cassert>
#include <charconv>
#include <cmath>
#include <string>

namespace payd::bench {
namespace {

constexpr std::string_view bucket_prefix = "payd_ledger_durable_seconds_bucket{le=\"";
constexpr std::string_view count_prefix = "payd_ledger_durable_seconds_count ";

std::optional<std::int64_t> parse_count(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  // Prometheus counts are printed as numbers, possibly with a fraction.
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end == text.data() || value < 0) return std::nullopt;
  return static_cast<std::int64_t>(std::llround(value));
}

bool near(double value, double expected) { return std::fabs(value - expected) < expected * 1e-6; }

}  // namespace

std::optional<PaydSyncs> parse_payd_syncs(std::string_view metrics_text) {
  std::optional<std::int64_t> count, within_2_5ms, within_10ms;
  while (!metrics_text.empty()) {
    std::size_t end = metrics_text.find('\n');
    std::string_view line = metrics_text.substr(0, end);
    metrics_text.remove_prefix(end == std::string_view::npos ? metrics_text.size() : end + 1);
    if (line.starts_with(count_prefix)) {
      count = parse_count(line.substr(count_prefix.size()));
    } else if (line.starts_with(bucket_prefix)) {
      line.remove_prefix(bucket_prefix.size());
      std::size_t quote = line.find("\"}");
      if (quote == std::string_view::npos) continue;
      double bound = 0;
      auto [bound_end, error] = std::from_chars(line.data(), line.data() + quote, bound);
      if (error != std::errc() || bound_end != line.data() + quote) continue;
      if (near(bound, 0.0025)) within_2_5ms = parse_count(line.substr(quote + 2));
      if (near(bound, 0.01)) within_10ms = parse_count(line.substr(quote + 2));
    }
  }
  if (!count || !within_2_5ms || !within_10ms) return std::nullopt;
  if (*within_2_5ms > *within_10ms || *within_10ms > *count) return std::nullopt;
  return PaydSyncs{*count, *count - *within_2_5ms, *count - *within_10ms};
}

PaydSyncs syncs_between(const PaydSyncs& earlier, const PaydSyncs& later) {
  assert(later.syncs >= earlier.syncs);
  return PaydSyncs{later.syncs - earlier.syncs, later.over_2_5ms - earlier.over_2_5ms,
                   later.over_10ms - earlier.over_10ms};
}

}  // namespace payd::bench
