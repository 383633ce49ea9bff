#include "cache/cache_aside.h"

#include <cassert>
#include <chrono>
#include <condition_variable>
#include <thread>

namespace payd::cache {
namespace {

// What invalidate() leaves in Redis in place of a value: not a wrapped
// value, so never mistaken for one.
constexpr std::string_view tombstone = "payd:invalidated";

}  // namespace

// One load in progress for a key; later askers wait for its result.
struct CacheAside::Flight {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::optional<Result<std::string>> result;
};

CacheAside::CacheAside(RedisCache* redis, Clock& clock, Random& random, metrics::Registry& registry,
                       CacheAsideOptions options)
    : redis_(redis),
      clock_(clock),
      random_(random),
      registry_(registry),
      options_(std::move(options)),
      l1_entries_(registry.gauge("payd_cache_l1_entries", "Entries in the in-process L1 cache")),
      l1_evictions_(registry.counter("payd_cache_l1_evictions_total", "L1 entries dropped to make room")),
      lock_acquired_(registry.counter("payd_cache_lock_waits_total",
                                      "Cold-key loads by lock outcome: acquired (this node loads), waited "
                                      "(another node loaded it in time), timed_out (loaded here after waiting)",
                                      {{"result", "acquired"}})),
      lock_waited_hit_(registry.counter("payd_cache_lock_waits_total", "", {{"result", "waited"}})),
      lock_waited_out_(registry.counter("payd_cache_lock_waits_total", "", {{"result", "timed_out"}})),
      database_listening_gauge_(registry.gauge("payd_cache_database_listening",
                                               "1 while the database's notices of changed reference data are heard")) {
  if (redis_) {
    subscription_ = redis_->client().subscribe(
        options_.channel,
        [this](std::string key) { l1_drop(key); },
        [this] {
          // Invalidations sent while the subscription was down are lost.
          l1_clear();
          subscribed_ = true;
        });
  }
}

CacheAside::~CacheAside() { subscription_.reset(); }

metrics::Counter& CacheAside::l1_counter(const std::string& key, bool hit) {
  std::string family = key_family(key);
  std::lock_guard lock(counters_mutex_);
  auto it = l1_counters_.find(family);
  if (it == l1_counters_.end()) {
    auto counter = [&](const char* result) {
      return &registry_.counter("payd_cache_l1_requests_total", "L1 lookups by key family and result",
                                {{"family", family}, {"result", result}});
    };
    it = l1_counters_.emplace(family, std::make_pair(counter("hit"), counter("miss"))).first;
  }
  return hit ? *it->second.first : *it->second.second;
}

bool CacheAside::l1_live() const {
  return database_listening_ || (redis_ && subscribed_ && redis_->healthy() && redis_->client().connected());
}

void CacheAside::database_listening() {
  l1_clear();
  database_listening_ = true;
  database_listening_gauge_.set(1);
}

void CacheAside::database_heard(const std::string& key) { l1_drop(key); }

void CacheAside::database_deaf() {
  database_listening_ = false;
  database_listening_gauge_.set(0);
  l1_clear();
}

std::size_t CacheAside::l1_size() const {
  std::lock_guard lock(mutex_);
  return l1_.size();
}

std::optional<std::string> CacheAside::l1_find(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = l1_.find(key);
  if (it == l1_.end()) return std::nullopt;
  if (it->second.expires_us <= clock_.monotonic_us()) {
    l1_order_.erase(it->second.order);
    l1_.erase(it);
    l1_entries_.set(static_cast<std::int64_t>(l1_.size()));
    return std::nullopt;
  }
  l1_order_.splice(l1_order_.end(), l1_order_, it->second.order);
  return it->second.value;
}

std::uint64_t CacheAside::l1_generation() const {
  std::lock_guard lock(mutex_);
  return l1_generation_;
}

void CacheAside::l1_put(const std::string& key, const std::string& value, std::uint64_t generation) {
  if (options_.l1_entries_max == 0) return;
  std::lock_guard lock(mutex_);
  if (generation != l1_generation_) return;
  std::int64_t expires_us = clock_.monotonic_us() + options_.l1_ttl_ms * 1000;
  auto it = l1_.find(key);
  if (it != l1_.end()) {
    it->second.value = value;
    it->second.expires_us = expires_us;
    l1_order_.splice(l1_order_.end(), l1_order_, it->second.order);
    return;
  }
  while (l1_.size() >= options_.l1_entries_max) {
    l1_.erase(l1_order_.front());
    l1_order_.pop_front();
    l1_evictions_.add();
  }
  l1_order_.push_back(key);
  l1_.emplace(key, Slot{value, expires_us, std::prev(l1_order_.end())});
  l1_entries_.set(static_cast<std::int64_t>(l1_.size()));
}

void CacheAside::l1_drop(const std::string& key) {
  std::lock_guard lock(mutex_);
  ++l1_generation_;  // even when absent: a load of it may be running
  auto it = l1_.find(key);
  if (it == l1_.end()) return;
  l1_order_.erase(it->second.order);
  l1_.erase(it);
  l1_entries_.set(static_cast<std::int64_t>(l1_.size()));
}

void CacheAside::l1_clear() {
  std::lock_guard lock(mutex_);
  ++l1_generation_;
  l1_.clear();
  l1_order_.clear();
  l1_entries_.set(0);
}

std::int64_t CacheAside::jittered(std::int64_t ttl_ms) {
  std::int64_t spread = ttl_ms / 10;
  return ttl_ms + (spread > 0 ? static_cast<std::int64_t>(random_.uniform(static_cast<std::uint64_t>(spread))) : 0);
}

Result<std::string> CacheAside::get(const std::string& key, std::int64_t ttl_ms, const Loader& load) {
  if (!redis_) return l1_serves() ? get_without_redis(key, load) : load();
  bool use_l1 = l1_live();
  if (use_l1) {
    std::optional<std::string> value = l1_find(key);
    l1_counter(key, value.has_value()).add();
    if (value) return std::move(*value);
  }

  // One loader per key in this process.
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = flights_.try_emplace(key);
    if (inserted) it->second = std::make_shared<Flight>();
    flight = it->second;
    leader = inserted;
  }
  if (!leader) {
    std::unique_lock lock(flight->mutex);
    flight->done_cv.wait(lock, [&] { return flight->done; });
    return *flight->result;
  }

  std::uint64_t generation = l1_generation();
  Result<std::string> result = load_through_redis(key, ttl_ms, load);
  // Only a value read while invalidations were heard goes into the L1.
  if (result.ok() && use_l1 && l1_live()) l1_put(key, result.value(), generation);
  {
    std::lock_guard lock(mutex_);
    flights_.erase(key);
  }
  {
    std::lock_guard lock(flight->mutex);
    flight->result = result;
    flight->done = true;
  }
  flight->done_cv.notify_all();
  return result;
}

std::optional<std::optional<std::string>> CacheAside::redis_lookup(const std::string& key) {
  std::optional<redis::Reply> reply = redis_->command({"GET", key});
  if (!reply) {
    redis_->count(key, RedisCache::Outcome::error);
    return std::nullopt;
  }
  if (reply->is_nil() || (reply->type == redis::Reply::Type::bulk && reply->text == tombstone)) {
    redis_->count(key, RedisCache::Outcome::miss);
    return std::optional<std::string>();
  }
  std::optional<std::string> value =
      reply->type == redis::Reply::Type::bulk ? unwrap_value(reply->text) : std::optional<std::string>();
  redis_->count(key, value ? RedisCache::Outcome::hit : RedisCache::Outcome::garbage);
  return value;  // garbage is a miss
}

void CacheAside::count_load(const std::string& key) {
  registry_.counter("payd_cache_loads_total", "Loads from the database by key family", {{"family", key_family(key)}})
      .add();
}

void CacheAside::store_loaded(const std::string& key, std::int64_t ttl_ms, const Result<std::string>& loaded) {
  if (loaded.ok() && redis_->healthy()) redis_->add_async(key, loaded.value(), jittered(ttl_ms));
}

Result<std::string> CacheAside::load_through_redis(const std::string& key, std::int64_t ttl_ms, const Loader& load) {
  auto load_and_store = [&]() -> Result<std::string> {
    count_load(key);
    Result<std::string> loaded = load();
    store_loaded(key, ttl_ms, loaded);
    return loaded;
  };

  std::optional<std::optional<std::string>> found = redis_lookup(key);
  if (!found) return load();  // Redis away: straight to the database
  if (*found) return std::move(**found);

  // Cold key: one node loads, the others wait for it a little.
  std::optional<bool> locked = redis_->add("lock:" + key, "1", options_.lock_ms);
  if (!locked) return load();
  if (*locked) {
    lock_acquired_.add();
    Result<std::string> loaded = load_and_store();
    redis_->erase_async("lock:" + key);
    return loaded;
  }
  std::int64_t deadline_us = clock_.monotonic_us() + options_.lock_wait_ms * 1000;
  while (clock_.monotonic_us() < deadline_us) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::optional<std::optional<std::string>> again = redis_lookup(key);
    if (!again) break;
    if (*again) {
      lock_waited_hit_.add();
      return std::move(**again);
    }
  }
  lock_waited_out_.add();
  return load_and_store();
}

void CacheAside::get_async(const std::string& key, std::int64_t ttl_ms, const AsyncLoader& load, Done done) {
  bool use_l1 = l1_serves();
  if (use_l1) {
    std::optional<std::string> value = l1_find(key);
    l1_counter(key, value.has_value()).add();
    if (value) return done(std::move(*value));
  }
  auto start = [this, key, ttl_ms, &load, use_l1](Done loaded) {
    Done keep = [this, key, use_l1, generation = l1_generation(), loaded = std::move(loaded)](Result<std::string> result) {
      // Only a value read while invalidations were heard goes into the L1.
      if (result.ok() && use_l1 && l1_serves()) l1_put(key, result.value(), generation);
      loaded(std::move(result));
    };
    if (!redis_) return load(std::move(keep));
    load_through_redis_async(key, ttl_ms, load, std::move(keep));
  };
  join_load(key, start, std::move(done));
}

void CacheAside::join_load(const std::string& key, const std::function<void(Done loaded)>& start, Done done) {
  {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = async_flights_.try_emplace(key);
    it->second.push_back(std::move(done));
    if (!inserted) return;
  }
  start([this, key](Result<std::string> result) {
    std::vector<Done> waiting;
    {
      std::lock_guard lock(mutex_);
      auto it = async_flights_.find(key);
      assert(it != async_flights_.end() && !it->second.empty());
      waiting = std::move(it->second);
      async_flights_.erase(it);
    }
    for (Done& waiter : waiting) waiter(result);
  });
}

void CacheAside::load_through_redis_async(const std::string& key, std::int64_t ttl_ms, const AsyncLoader& load,
                                          Done done) {
  std::optional<std::optional<std::string>> found = redis_lookup(key);
  if (!found) return load(std::move(done));  // Redis away: straight to the database
  if (*found) return done(std::move(**found));
  std::optional<bool> locked = redis_->add("lock:" + key, "1", options_.lock_ms);
  if (!locked) return load(std::move(done));
  // Another node loading it is not waited for (see get_async).
  (*locked ? lock_acquired_ : lock_waited_out_).add();
  count_load(key);
  load([this, key, ttl_ms, locked = *locked, done = std::move(done)](Result<std::string> loaded) {
    store_loaded(key, ttl_ms, loaded);
    if (locked) redis_->erase_async("lock:" + key);
    done(std::move(loaded));
  });
}

bool CacheAside::l1_serves() const { return l1_live() || (!redis_ && options_.single_node); }

Result<std::string> CacheAside::get_without_redis(const std::string& key, const Loader& load) {
  std::optional<std::string> value = l1_find(key);
  l1_counter(key, value.has_value()).add();
  if (value) return std::move(*value);
  std::uint64_t generation = l1_generation();
  Result<std::string> result = load();
  if (result.ok()) l1_put(key, result.value(), generation);
  return result;
}

void CacheAside::invalidate(const std::string& key, std::function<void()> then) {
  l1_drop(key);
  if (!redis_) return then();
  redis_->commands_async({{"SET", key, std::string(tombstone), "PX", std::to_string(options_.tombstone_ms)},
                          {"PUBLISH", options_.channel, key}},
                         [this, key, then = std::move(then)](std::optional<std::vector<redis::Reply>> replies) {
                           if (!replies) redis_->count(key, RedisCache::Outcome::error);
                           then();
                         });
}

}  // namespace payd::cache
