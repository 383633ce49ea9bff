#include "resilience/backoff.h"

#include <algorithm>
#include <cassert>
#include <cstdint>

namespace payd::resilience {
namespace {

// 2^30 times any base in milliseconds is beyond any sensible cap.
constexpr int doublings_max = 30;

}  // namespace

std::chrono::milliseconds reconnect_delay(int attempt, int backoff_base_ms, int backoff_max_ms, Random& random) {
  assert(attempt >= 0);
  assert(backoff_base_ms > 0 && backoff_base_ms <= backoff_max_ms);
  std::int64_t ceiling_ms = static_cast<std::int64_t>(backoff_base_ms) << std::min(attempt, doublings_max);
  ceiling_ms = std::min<std::int64_t>(ceiling_ms, backoff_max_ms);
  auto delay_ms = static_cast<std::int64_t>(random.uniform(static_cast<std::uint64_t>(ceiling_ms) + 1));
  assert(delay_ms >= 0 && delay_ms <= backoff_max_ms);
  return std::chrono::milliseconds(delay_ms);
}

}  // namespace payd::resilience
