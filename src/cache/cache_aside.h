// CacheAside: reference data read through an in-process L1 and Redis, loaded
// from the ledger database on a miss.
//
// For data that changes rarely and does not decide money on its own
// (merchant config, payment methods, FX rates, BIN ranges, gateway status;
// DESIGN.md has the key layout and TTLs). get() looks in:
//   1. the L1: a bounded in-process map with a short TTL, used only while
//      the invalidation channel is live (subscribed, breaker closed), so a
//      node that cannot hear invalidations never serves from it;
//   2. Redis, through the breaker (RedisCache::command);
//   3. the loader (the database). One loader per key per process at a time
//      (others wait for its result), and across nodes a short lock
//      (SET NX PX) so only one node loads a cold key: the others wait a
//      bounded time for the value to appear, then load it themselves.
// The value is stored in Redis with its TTL plus up to 10% random jitter,
// so keys written together do not expire together, and only where the key
// is absent (SET NX).
//
// invalidate() runs after every write of the source: it drops the L1 copy,
// replaces the Redis value with a short-lived tombstone and publishes the
// key on the invalidation channel, so every node drops its L1 copy at once.
// The tombstone (a miss to readers) keeps out a value loaded before the
// write whose store reaches Redis after it: without it that stale value
// would be served until its TTL. After a reconnect of the
// subscription (messages may have been missed) the whole L1 is dropped.
//
// The database can be a second invalidation channel: PostgreSQL notifies
// the key of every row of reference data that changes, from any node
// (ledger/postgres/notification_listener.h). While it is heard the L1
// serves, with or without Redis; each time hearing starts, the L1 is
// cleared (what was notified meanwhile is lost).
//
// Without Redis and without the database channel get() is the loader: an
// L1 alone could serve stale data when several nodes share one database.
// Unless the database has no other writer (`single_node`, the embedded
// SQLite ledger): then this process's own invalidate() calls are the whole
// channel, and the L1 serves.
//
// A load that ran while any invalidation was heard is returned but not put
// in the L1: it may have read the value just replaced.
//
// Metrics: payd_cache_l1_requests_total{family,result=hit|miss},
// payd_cache_l1_entries, payd_cache_l1_evictions_total,
// payd_cache_loads_total{family}, payd_cache_lock_waits_total{result},
// payd_cache_database_listening (1 while the database channel is heard).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/redis_cache.h"
#include "core/clock.h"
#include "core/result.h"
#include "metrics/metrics.h"

namespace payd::cache {

struct CacheAsideOptions {
  std::size_t l1_entries_max = 10'000;
  std::int64_t l1_ttl_ms = 2'000;
  std::int64_t lock_ms = 500;       // the cross-node loader lock's lifetime
  std::int64_t lock_wait_ms = 100;  // how long a node waits on another's load
  std::int64_t tombstone_ms = 2'000;  // how long an invalidated key refuses stores
  std::string channel = "payd:cache:invalidate";
  bool single_node = false;  // no other process writes the source (see above)
};

class CacheAside {
 public:
  using Loader = std::function<Result<std::string>()>;

  // `redis` may be null (no cache configured). The others must outlive this.
  CacheAside(RedisCache* redis, Clock& clock, Random& random, metrics::Registry& registry, CacheAsideOptions options);
  ~CacheAside();
  CacheAside(const CacheAside&) = delete;
  CacheAside& operator=(const CacheAside&) = delete;

  // The value of `key`; `load` fetches it from the source of truth when no
  // cache has it. A loader's problem (e.g. not_found) is returned and not
  // cached. Thread-safe; never call on the Redis client's thread.
  Result<std::string> get(const std::string& key, std::int64_t ttl_ms, const Loader& load);

  // get() for an event loop that must not wait on the database: `load`
  // starts the load and calls its argument with the result, at once or
  // later. `done` runs exactly once: at once on an L1 or Redis hit, else
  // wherever the load completes. Concurrent misses of one key in this
  // process share one load. Redis is still asked in place (its answers
  // are bounded by the client's deadline); a cold key another node holds
  // the loader lock for is loaded here too rather than waited for, since
  // waiting would hold the caller's thread.
  using Done = std::function<void(Result<std::string>)>;
  using AsyncLoader = std::function<void(Done loaded)>;
  void get_async(const std::string& key, std::int64_t ttl_ms, const AsyncLoader& load, Done done);

  // Call after the source changed: drops the copies, then runs `then`
  // (on the Redis client's thread, or at once when Redis is away), so an
  // answer sent from `then` is only sent once no cache serves the old value.
  void invalidate(const std::string& key, std::function<void()> then);

  // The database channel (see above). Call database_listening() each time
  // it starts to be heard, database_heard() with each key it names, and
  // database_deaf() when it is lost. Thread-safe.
  void database_listening();
  void database_heard(const std::string& key);
  void database_deaf();

  std::size_t l1_size() const;
  // Whether the L1 is in use now (see above).
  bool l1_live() const;

 private:
  struct Flight;
  struct Slot {
    std::string value;
    std::int64_t expires_us = 0;
    std::list<std::string>::iterator order;
  };
  std::optional<std::string> l1_find(const std::string& key);
  // How many drops and clears there have been: a load puts its value only
  // when none happened while it ran.
  std::uint64_t l1_generation() const;
  void l1_put(const std::string& key, const std::string& value, std::uint64_t generation);
  void l1_drop(const std::string& key);
  void l1_clear();
  Result<std::string> load_through_redis(const std::string& key, std::int64_t ttl_ms, const Loader& load);
  // The Redis lookup of load_through_redis(): nullopt when Redis did not
  // answer, an empty value on a miss (or garbage).
  std::optional<std::optional<std::string>> redis_lookup(const std::string& key);
  void count_load(const std::string& key);
  // Stores a loaded value in Redis when it is one and Redis is healthy.
  void store_loaded(const std::string& key, std::int64_t ttl_ms, const Result<std::string>& loaded);
  void load_through_redis_async(const std::string& key, std::int64_t ttl_ms, const AsyncLoader& load, Done done);
  // Runs `start` with the completion of a new load of `key`, unless one is
  // in flight; `done` gets that load's result either way.
  void join_load(const std::string& key, const std::function<void(Done loaded)>& start, Done done);
  // Whether the L1 may answer now: it is live, or there is no other writer.
  bool l1_serves() const;
  // get() without Redis when the L1 can be trusted: the L1, then the loader.
  Result<std::string> get_without_redis(const std::string& key, const Loader& load);
  std::int64_t jittered(std::int64_t ttl_ms);
  metrics::Counter& l1_counter(const std::string& key, bool hit);

  RedisCache* redis_;
  Clock& clock_;
  Random& random_;
  metrics::Registry& registry_;
  CacheAsideOptions options_;
  metrics::Gauge& l1_entries_;
  metrics::Counter& l1_evictions_;
  metrics::Counter& lock_acquired_;
  metrics::Counter& lock_waited_hit_;
  metrics::Counter& lock_waited_out_;
  metrics::Gauge& database_listening_gauge_;

  mutable std::mutex mutex_;
  std::unordered_map<std::string, Slot> l1_;
  std::list<std::string> l1_order_;  // least recently used first
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
  std::unordered_map<std::string, std::vector<Done>> async_flights_;  // get_async's waiters by key
  std::uint64_t l1_generation_ = 0;  // guarded by mutex_
  std::atomic<bool> subscribed_{false};
  std::atomic<bool> database_listening_{false};
  std::mutex counters_mutex_;
  std::unordered_map<std::string, std::pair<metrics::Counter*, metrics::Counter*>> l1_counters_;  // hit, miss
  std::unique_ptr<redis::Subscription> subscription_;
};

}  // namespace payd::cache
