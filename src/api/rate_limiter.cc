#include "api/rate_limiter.h"

#include <algorithm>

namespace payd::api {
namespace {

constexpr std::int64_t minute_s = 60;
constexpr std::int64_t hour_s = 3600;
constexpr std::int64_t day_s = 86400;

struct PolicyState {
  const char* name;
  std::int64_t quota;
  std::int64_t window_s;
  std::int64_t remaining;
  std::int64_t reset_s;
};

}  // namespace

RateDecision RateLimiter::attempt(const std::string& customer) {
  std::int64_t now_ms = clock_.now_ms();
  std::int64_t now_s = now_ms / 1000;

  cache::Cache::Window minute = cache_.add_to_window("payment:ratelimit:" + customer + ":minute", now_ms,
                                                     minute_s * 1000);
  std::int64_t minute_reset_s = std::max<std::int64_t>(1, (minute.oldest_ms + minute_s * 1000 - now_ms + 999) / 1000);

  std::int64_t hour_start = now_s / hour_s * hour_s;
  std::int64_t day_start = now_s / day_s * day_s;
  std::int64_t hour_count = cache_.increment(
      "payment:ratelimit:" + customer + ":hour:" + std::to_string(hour_start), hour_s * 1000);
  std::int64_t day_count =
      cache_.increment("payment:ratelimit:" + customer + ":day:" + std::to_string(day_start), day_s * 1000);

  PolicyState policies[] = {
      {"minute", options_.per_minute, minute_s, options_.per_minute - minute.count, minute_reset_s},
      {"hour", options_.per_hour, hour_s, options_.per_hour - hour_count, hour_start + hour_s - now_s},
      {"day", options_.per_day, day_s, options_.per_day - day_count, day_start + day_s - now_s},
  };

  RateDecision decision;
  const PolicyState* closest = &policies[0];
  for (const PolicyState& policy : policies) {
    if (!decision.policy_header.empty()) decision.policy_header += ", ";
    decision.policy_header += "\"" + std::string(policy.name) + "\";q=" + std::to_string(policy.quota) +
                              ";w=" + std::to_string(policy.window_s);
    if (policy.remaining < 0) {
      decision.allowed = false;
      decision.retry_after_s = std::max(decision.retry_after_s, policy.reset_s);
    }
    if (policy.remaining < closest->remaining) closest = &policy;
  }
  decision.limit_header = "\"" + std::string(closest->name) + "\";r=" +
                          std::to_string(std::max<std::int64_t>(0, closest->remaining)) +
                          ";t=" + std::to_string(closest->reset_s);
  if (!decision.allowed) {
    cache_.remove_from_window("payment:ratelimit:" + customer + ":minute", now_ms);
  }
  return decision;
}

}  // namespace payd::api
