#include "api/idempotency_cache.h"

#include <charconv>

namespace payd::api {
namespace {

std::string outcome_key(const std::string& key) { return "payment:idempotency:" + key; }
std::string marker_key(const std::string& key) { return "payment:idempotency:" + key + ":inflight"; }

// fingerprint '\n' status '\n' body
std::string encode_outcome(const std::string& fingerprint, unsigned status, const std::string& body) {
  return fingerprint + "\n" + std::to_string(status) + "\n" + body;
}

bool decode_outcome(const std::string& text, std::string& fingerprint, unsigned& status, std::string& body) {
  std::size_t first = text.find('\n');
  if (first == std::string::npos) return false;
  std::size_t second = text.find('\n', first + 1);
  if (second == std::string::npos) return false;
  fingerprint = text.substr(0, first);
  auto [end, error] = std::from_chars(text.data() + first + 1, text.data() + second, status);
  if (error != std::errc() || end != text.data() + second || status < 200 || status > 599) return false;
  body = text.substr(second + 1);
  return true;
}

}  // namespace

IdempotencyCache::IdempotencyCache(cache::RedisCache* redis, metrics::Registry& registry,
                                   std::int64_t outcome_ttl_ms, std::int64_t marker_ttl_ms)
    : redis_(redis),
      outcome_ttl_ms_(outcome_ttl_ms),
      marker_ttl_ms_(marker_ttl_ms),
      replays_(registry.counter("payd_idempotency_fast_path_total",
                                "Keyed requests answered by the cache's idempotency fast path",
                                {{"result", "replayed"}})),
      in_use_(registry.counter("payd_idempotency_fast_path_total", "", {{"result", "in_use"}})) {}

std::vector<redis::Command> IdempotencyCache::commands(const std::string& key) const {
  return {{"GET", outcome_key(key)}, {"SET", marker_key(key), "1", "NX", "PX", std::to_string(marker_ttl_ms_)}};
}

void IdempotencyCache::check_async(const std::string& key, const std::string& fingerprint,
                                   std::function<void(Check)> done) {
  if (!active()) return done(Check{});
  redis_->commands_async(commands(key), [this, key, fingerprint, done = std::move(done)](
                                            std::optional<std::vector<redis::Reply>> replies) {
    done(interpret(key, fingerprint, replies));
  });
}

IdempotencyCache::Check IdempotencyCache::interpret(const std::string& key, const std::string& fingerprint,
                                                    const std::optional<std::vector<redis::Reply>>& replies) {
  Check check;
  if (!replies) {
    redis_->count(outcome_key(key), cache::RedisCache::Outcome::error);
    return check;
  }
  const redis::Reply& stored = (*replies)[0];
  check.marked = !(*replies)[1].is_nil();
  if (!stored.is_nil()) {
    std::optional<std::string> text =
        stored.type == redis::Reply::Type::bulk ? cache::unwrap_value(stored.text) : std::nullopt;
    std::string stored_fingerprint;
    if (text && decode_outcome(*text, stored_fingerprint, check.status, check.body)) {
      redis_->count(outcome_key(key), cache::RedisCache::Outcome::hit);
      if (stored_fingerprint == fingerprint) {
        check.verdict = Check::Verdict::replay;
        replays_.add();
        if (check.marked) redis_->erase_async(marker_key(key));
        check.marked = false;
        return check;
      }
      // Another request under this key: the ledger answers (422).
      return check;
    }
    redis_->count(outcome_key(key), cache::RedisCache::Outcome::garbage);
  } else {
    redis_->count(outcome_key(key), cache::RedisCache::Outcome::miss);
  }
  if (!check.marked) {
    check.verdict = Check::Verdict::in_use;
    in_use_.add();
  }
  return check;
}

void IdempotencyCache::finish(const std::string& key, const std::string& fingerprint, bool marked, unsigned status,
                              const std::string& body) {
  if (!redis_) return;
  bool stored = (status >= 200 && status < 300) || status == 402;
  if (stored) redis_->set_async(outcome_key(key), encode_outcome(fingerprint, status, body), outcome_ttl_ms_);
  if (marked) redis_->erase_async(marker_key(key));
}

}  // namespace payd::api
