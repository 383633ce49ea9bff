// RedisCache: the Cache port on Redis, behind a circuit breaker, with a
// local fallback.
//
// Redis accelerates and never decides (DESIGN.md, principle 2). Every call
// first asks the breaker; while it is closed the call goes to Redis with the
// client's deadline (50 ms by default). A failure or timeout counts against
// the breaker and the call is answered by the in-process fallback instead,
// as is every call while the breaker is open, so no request waits on a sick
// Redis for longer than one deadline. What the fallback holds:
//   - rate-limit counters: the local limiter while Redis is away;
//   - checkout sessions created while Redis is away (found again by this
//     node only; sessions may be lost with the cache, API.md says so).
//
// Values are written in an envelope (a version tag and a checksum of the
// payload). A value found in Redis that is not a valid envelope, or larger
// than `value_bytes_max`, is garbage: it counts as a miss, is counted in
// payd_cache_requests_total{result="garbage"} and is never trusted.
//
// Key families (the part of the key before its id) label the metrics:
// payd_cache_requests_total{family,result} with result hit, miss, error,
// garbage, fallback (answered locally) or write.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "cache/cache.h"
#include "core/clock.h"
#include "metrics/metrics.h"
#include "redis/client.h"
#include "resilience/circuit_breaker.h"

namespace payd::cache {

// Wraps `payload` in the envelope; returns nullopt from unwrap for anything
// that is not one.
std::string wrap_value(std::string_view payload);
std::optional<std::string> unwrap_value(std::string_view stored);

// The key's family for metric labels: "payment:session:cs_1" →
// "payment:session", "fx:USDEUR" → "fx"; an unknown prefix → "other".
std::string key_family(std::string_view key);

class RedisCache final : public Cache {
 public:
  // The client, breaker, fallback and registry must outlive the cache.
  RedisCache(redis::Client& client, resilience::CircuitBreaker& breaker, Cache& fallback, metrics::Registry& registry,
             std::size_t value_bytes_max = 1 << 20);
  ~RedisCache() override;

  std::optional<std::string> get(const std::string& key) override;
  void set(const std::string& key, std::string value, std::int64_t ttl_ms) override;
  std::optional<Entry> take(const std::string& key) override;
  void erase(const std::string& key) override;
  std::int64_t increment(const std::string& key, std::int64_t ttl_ms) override;
  Window add_to_window(const std::string& key, std::int64_t now_ms, std::int64_t window_ms) override;
  void remove_from_window(const std::string& key, std::int64_t at_ms) override;
  std::optional<bool> add(const std::string& key, std::string value, std::int64_t ttl_ms) override;
  bool healthy() const override;

  // Fire-and-forget forms for paths that must not wait (after a response is
  // decided): a failure counts against the breaker, nothing falls back.
  void set_async(const std::string& key, std::string value, std::int64_t ttl_ms);
  // set_async() only when the key is absent (SET NX).
  void add_async(const std::string& key, std::string value, std::int64_t ttl_ms);
  void erase_async(const std::string& key);

  // Sends a command through the breaker; nullopt when Redis did not answer
  // (or answered an error), which the breaker has counted.
  std::optional<redis::Reply> command(redis::Command command);
  // Several commands in one round trip, through the breaker as one call,
  // without waiting: `done` gets the replies, or nullopt when any of them
  // failed. It runs on the Redis client's thread (at once, on the caller's,
  // while the breaker is open); not at all once this cache is destroyed.
  void commands_async(std::vector<redis::Command> commands,
                      std::function<void(std::optional<std::vector<redis::Reply>>)> done);

  // What became of a request, for payd_cache_requests_total{result}.
  enum class Outcome { hit, miss, error, garbage, fallback, write };
  void count(const std::string& key, Outcome outcome);

  redis::Client& client() { return client_; }
  resilience::CircuitBreaker& breaker() { return breaker_; }

 private:
  struct Family;
  Family& family(const std::string& key);
  // Tells the breaker how a call it allowed went.
  void record(bool succeeded);
  // Sends one command nobody waits for; the breaker allowed it.
  void send(redis::Command command);

  redis::Client& client_;
  resilience::CircuitBreaker& breaker_;
  Cache& fallback_;
  metrics::Registry& registry_;
  std::size_t value_bytes_max_;
  struct Families;
  std::unique_ptr<Families> families_;
  std::uint64_t member_counter_ = 0;
  std::mutex member_mutex_;
  // Callbacks of commands still in flight when the cache is destroyed find
  // it gone and do nothing (their `done` included). Recursive: a callback
  // may run inside another when the client answers at once.
  struct Liveness {
    std::recursive_mutex mutex;
    bool alive = true;
  };
  std::shared_ptr<Liveness> liveness_ = std::make_shared<Liveness>();
};

}  // namespace payd::cache
