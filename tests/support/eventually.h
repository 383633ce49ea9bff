// eventually: polls a condition until it holds or a bounded wait is over.
// For tests of things that happen on other threads or processes (a
// reconnect, a failover, a breaker closing); the bound is a correctness
// bound with margin, not a benchmark.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace payd::testing {

// True as soon as `condition` holds; false if it still does not after
// `wait_max` (it is asked once more at the end).
inline bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds wait_max,
                       std::chrono::milliseconds poll = std::chrono::milliseconds(10)) {
  auto give_up = std::chrono::steady_clock::now() + wait_max;
  while (std::chrono::steady_clock::now() < give_up) {
    if (condition()) return true;
    std::this_thread::sleep_for(poll);
  }
  return condition();
}

}  // namespace payd::testing
