// When and how soon paybench asks payd again, shared by the load phase and
// by exchange_all (setup, checks).
//
// A request is asked again only when its answer says that nothing was
// decided: no answer at all (the connection broke or timed out), a 5xx, a
// 429, or 409 idempotency_key_in_use. API.md promises that such a retry
// with the same Idempotency-Key and body is applied at most once, so a
// retry is always the same key and the same bytes.
//
// The pause before retry n (1, 2, ...) doubles from retry_pause_us_min up
// to retry_pause_us_max, with "equal jitter": half of it fixed, the other
// half drawn uniformly, so that the clients that lost their answers at the
// same instant do not all come back at the same instant.
//
// Sans-I/O.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/clock.h"

namespace payd::bench {

inline constexpr std::int64_t retry_pause_us_min = 50'000;
inline constexpr std::int64_t retry_pause_us_max = 1'000'000;
static_assert(retry_pause_us_min > 0 && retry_pause_us_min <= retry_pause_us_max);

// Whether an answer (status 0: none; `code` the problem code of an error)
// leaves the outcome open, so that the same request must be sent again.
bool says_try_again(unsigned status, std::string_view code);

// Whether an answer is a failure of the service rather than of the request:
// no answer, or a 5xx. The recovery time of a fault is measured up to the
// first success after the last of these.
bool is_service_failure(unsigned status);

// The pause before retry number `retry` (>= 1), jittered with `random`.
std::int64_t retry_pause_us(int retry, Random& random);

}  // namespace payd::bench
