// RateLimiter: new payment attempts per customer (API.md, Rate limits).
//
// Three policies: a sliding one-minute window and fixed hour and day
// windows, counted in the cache. An attempt refused by any policy is not
// counted against the others' windows more than once: the sliding window
// forgets it; fixed windows count attempts, as fixed windows do.
#pragma once

#include <cstdint>
#include <string>

#include "cache/cache.h"
#include "core/clock.h"

namespace payd::api {

struct RateLimitOptions {
  bool enabled = true;
  std::int64_t per_minute = 5;
  std::int64_t per_hour = 10;
  std::int64_t per_day = 100;
};

struct RateDecision {
  bool allowed = true;
  std::int64_t retry_after_s = 0;
  std::string policy_header;  // RateLimit-Policy
  std::string limit_header;   // RateLimit: the policy closest to exhaustion
};

class RateLimiter {
 public:
  RateLimiter(cache::Cache& cache, Clock& clock, RateLimitOptions options)
      : cache_(cache), clock_(clock), options_(options) {}

  bool enabled() const { return options_.enabled; }
  // Counts one attempt by `customer` and says whether it may go ahead.
  RateDecision attempt(const std::string& customer);

 private:
  cache::Cache& cache_;
  Clock& clock_;
  RateLimitOptions options_;
};

}  // namespace payd::api
