// Reconnect backoff: exponential, capped, with full jitter.
//
// After losing a server, every client of a fleet would otherwise retry at
// the same instants and meet the server with a connection storm when it
// returns. Full jitter (a uniform delay in [0, cap]) spreads them; see
// "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015).
#pragma once

#include <chrono>

#include "core/clock.h"

namespace payd::resilience {

// The delay before reconnect attempt `attempt` (0 for the first after a
// loss): uniform in [0, min(backoff_max_ms, backoff_base_ms * 2^attempt)],
// drawn from `random`. attempt >= 0 and may grow without bound (the
// doubling stops at the cap), 0 < backoff_base_ms <= backoff_max_ms.
std::chrono::milliseconds reconnect_delay(int attempt, int backoff_base_ms, int backoff_max_ms, Random& random);

}  // namespace payd::resilience
