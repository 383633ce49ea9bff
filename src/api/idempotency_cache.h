// IdempotencyCache: the Redis fast path for Idempotency-Key (API.md).
//
// The ledger's key table is the authority; this only answers duplicates
// sooner and across nodes:
//   - a completed outcome (2xx or 402) is copied to
//     `payment:idempotency:{key}` for 24 hours with the request's
//     fingerprint, and a retry with the same fingerprint is replayed from it
//     without touching the ledger;
//   - while a request runs, an in-flight marker
//     (`payment:idempotency:{key}:inflight`, SET NX PX, 10 s so that a dead
//     owner's marker goes within 10 s) makes a concurrent retry on any node
//     a 409 idempotency_key_in_use, unless the ledger already holds the
//     key (a marker whose delete was lost must not refuse a replay).
// A different fingerprint, a miss, garbage, or Redis away: the request goes
// on to the ledger, which decides as it always does.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "cache/redis_cache.h"
#include "metrics/metrics.h"

namespace payd::api {

class IdempotencyCache {
 public:
  // `redis` may be null: then every check says proceed.
  IdempotencyCache(cache::RedisCache* redis, metrics::Registry& registry,
                   std::int64_t outcome_ttl_ms = 24 * 3600 * 1000, std::int64_t marker_ttl_ms = 10'000);

  struct Check {
    enum class Verdict { proceed, replay, in_use };
    Verdict verdict = Verdict::proceed;
    bool marked = false;  // this request holds the in-flight marker
    unsigned status = 0;  // replay: the stored answer
    std::string body;
  };
  // Asks Redis without waiting: `done` runs on the Redis client's thread,
  // or at once when there is nothing to ask. Do no blocking work in it.
  void check_async(const std::string& key, const std::string& fingerprint, std::function<void(Check)> done);
  // Whether checks ask Redis at all now.
  bool active() const { return redis_ && redis_->healthy(); }

  // After the answer is decided: releases the marker and keeps a copy of a
  // stored outcome. Does not wait on Redis.
  void finish(const std::string& key, const std::string& fingerprint, bool marked, unsigned status,
              const std::string& body);

 private:
  cache::RedisCache* redis_;
  std::int64_t outcome_ttl_ms_;
  std::int64_t marker_ttl_ms_;
  std::vector<redis::Command> commands(const std::string& key) const;
  Check interpret(const std::string& key, const std::string& fingerprint,
                  const std::optional<std::vector<redis::Reply>>& replies);
  metrics::Counter& replays_;
  metrics::Counter& in_use_;
};

}  // namespace payd::api
