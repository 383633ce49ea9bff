#include "bench/paybench/retry.h"

#include <algorithm>
#include <cassert>

namespace payd::bench {

bool says_try_again(unsigned status, std::string_view code) {
  if (status == 0 || status == 429 || (status >= 500 && status < 600)) return true;
  return status == 409 && code == "idempotency_key_in_use";
}

bool is_service_failure(unsigned status) { return status == 0 || (status >= 500 && status < 600); }

std::int64_t retry_pause_us(int retry, Random& random) {
  assert(retry >= 1);
  std::int64_t pause_us = retry_pause_us_min;
  for (int doubling = 1; doubling < retry && pause_us < retry_pause_us_max; ++doubling) pause_us *= 2;
  pause_us = std::min(pause_us, retry_pause_us_max);
  std::int64_t half_us = pause_us / 2;
  std::int64_t jittered_us = pause_us - half_us + static_cast<std::int64_t>(random.uniform(half_us + 1));
  assert(jittered_us >= pause_us - half_us && jittered_us <= pause_us);
  return jittered_us;
}

}  // namespace payd::bench
