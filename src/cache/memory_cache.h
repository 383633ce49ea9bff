// MemoryCache: the in-process Cache, the embedded default.
//
// A map behind a mutex with lazy expiry, bounded at `entries_max`: when
// full, expired entries are swept, then the entry closest to expiry is
// dropped. Thread-safe.
#pragma once

#include <deque>
#include <mutex>
#include <unordered_map>

#include "cache/cache.h"
#include "core/clock.h"

namespace payd::cache {

class MemoryCache final : public Cache {
 public:
  MemoryCache(Clock& clock, std::size_t entries_max = 1'000'000) : clock_(clock), entries_max_(entries_max) {}

  std::optional<std::string> get(const std::string& key) override;
  void set(const std::string& key, std::string value, std::int64_t ttl_ms) override;
  std::optional<Entry> take(const std::string& key) override;
  void erase(const std::string& key) override;
  std::int64_t increment(const std::string& key, std::int64_t ttl_ms) override;
  Window add_to_window(const std::string& key, std::int64_t now_ms, std::int64_t window_ms) override;
  void remove_from_window(const std::string& key, std::int64_t at_ms) override;
  std::optional<bool> add(const std::string& key, std::string value, std::int64_t ttl_ms) override;

  std::size_t size() const;

 private:
  struct Slot {
    std::string value;
    std::int64_t counter = 0;
    std::deque<std::int64_t> window;
    std::int64_t expires_at_ms = 0;
  };
  // Finds a live slot; expired ones are erased. Caller holds the mutex.
  Slot* live(const std::string& key, std::int64_t now_ms);
  Slot& make_room_and_insert(const std::string& key, std::int64_t now_ms);

  Clock& clock_;
  std::size_t entries_max_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Slot> slots_;
};

}  // namespace payd::cache
