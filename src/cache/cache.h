// The cache port: ephemeral state that speeds payd up and is never the truth.
//
// Checkout sessions and rate-limit counters live here. Nothing that decides
// money does (DESIGN.md, principle 3). The embedded implementation is
// in-process (memory_cache.h); a Redis implementation serves the same port.
// Implementations are thread-safe. Calls return quickly: an implementation
// that cannot answer in time answers from a local fallback (sessions, rate
// limits) or says it cannot tell (add), and callers go to the ledger.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace payd::cache {

struct Entry {
  std::string value;
  std::int64_t ttl_left_ms = 0;
};

class Cache {
 public:
  virtual ~Cache() = default;
  virtual std::optional<std::string> get(const std::string& key) = 0;
  virtual void set(const std::string& key, std::string value, std::int64_t ttl_ms) = 0;
  // Reads and deletes in one atomic step: two callers never both get it.
  virtual std::optional<Entry> take(const std::string& key) = 0;
  virtual void erase(const std::string& key) = 0;
  // Increments a counter that expires `ttl_ms` after its first increment;
  // returns the new count.
  virtual std::int64_t increment(const std::string& key, std::int64_t ttl_ms) = 0;
  // Adds an event at `now_ms` to a sliding window of `window_ms` and returns
  // how many events (this one included) are inside the window, plus the time
  // of the oldest one.
  struct Window {
    std::int64_t count = 0;
    std::int64_t oldest_ms = 0;
  };
  virtual Window add_to_window(const std::string& key, std::int64_t now_ms, std::int64_t window_ms) = 0;
  // Removes the most recent event added at `at_ms` (an attempt that was
  // refused by another limit does not count).
  virtual void remove_from_window(const std::string& key, std::int64_t at_ms) = 0;
  // Sets `key` only when it is absent (SET NX). True when it was set, false
  // when the key was there, nullopt when the cache cannot tell (unreachable).
  virtual std::optional<bool> add(const std::string& key, std::string value, std::int64_t ttl_ms) = 0;
  // Whether the cache answers now. A cache behind an open circuit does not;
  // its callers then go to the ledger without asking.
  virtual bool healthy() const { return true; }
};

}  // namespace payd::cache
