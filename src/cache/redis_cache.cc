#include "cache/redis_cache.h"

#include <array>
#include <charconv>
#include <map>
#include <mutex>

namespace payd::cache {
namespace {

constexpr std::string_view kTag = "pd1:";

std::uint64_t fnv1a(std::string_view bytes) {
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string hex16(std::uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, value >>= 4) out[i] = kDigits[value & 15];
  return out;
}

// Reads a Redis integer reply, or an integer sent as a bulk string.
std::optional<std::int64_t> integer_of(const redis::Reply& reply) {
  if (reply.type == redis::Reply::Type::integer) return reply.integer;
  if (reply.type != redis::Reply::Type::bulk && reply.type != redis::Reply::Type::simple) return std::nullopt;
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(reply.text.data(), reply.text.data() + reply.text.size(), value);
  if (error != std::errc() || end != reply.text.data() + reply.text.size()) return std::nullopt;
  return value;
}

// KEYS[1]: the key. Returns {value, pttl} and deletes the key, or nil.
constexpr const char* kTakeScript = R"lua(
local value = redis.call('GET', KEYS[1])
if not value then return false end
local ttl = redis.call('PTTL', KEYS[1])
redis.call('DEL', KEYS[1])
return {value, ttl}
)lua";

// KEYS[1]: the counter; ARGV[1]: its time to live in ms, set by the first
// increment (and repaired if a key ever lost it).
constexpr const char* kIncrementScript = R"lua(
local count = redis.call('INCR', KEYS[1])
if count == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
)lua";

// KEYS[1]: the window (a sorted set of event times); ARGV: now_ms,
// window_ms, a unique member. Returns {count, oldest_ms}.
constexpr const char* kWindowScript = R"lua(
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {redis.call('ZCARD', KEYS[1]), oldest[2]}
)lua";

// KEYS[1]: the window; ARGV[1]: the time of the event to forget.
constexpr const char* kUnwindScript = R"lua(
local members = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1], 'LIMIT', 0, 1)
if members[1] then redis.call('ZREM', KEYS[1], members[1]) end
return 0
)lua";

}  // namespace

std::string wrap_value(std::string_view payload) {
  std::string out;
  out.reserve(kTag.size() + 17 + payload.size());
  out.append(kTag).append(hex16(fnv1a(payload))).append(":").append(payload);
  return out;
}

std::optional<std::string> unwrap_value(std::string_view stored) {
  if (stored.size() < kTag.size() + 17 || stored.substr(0, kTag.size()) != kTag) return std::nullopt;
  std::string_view checksum = stored.substr(kTag.size(), 16);
  if (stored[kTag.size() + 16] != ':') return std::nullopt;
  std::string_view payload = stored.substr(kTag.size() + 17);
  if (hex16(fnv1a(payload)) != checksum) return std::nullopt;
  return std::string(payload);
}

std::string key_family(std::string_view key) {
  // Known families only, so an id never becomes a metric label.
  static constexpr std::string_view kFamilies[] = {
      "payment:session:", "payment:idempotency:", "payment:ratelimit:", "payment:method:",
      "payment:gateway:", "merchant:config:",     "fx:",                "bin:",
  };
  for (std::string_view family : kFamilies) {
    if (key.substr(0, family.size()) == family) return std::string(family.substr(0, family.size() - 1));
  }
  return "other";
}

constexpr std::size_t kOutcomes = 6;
constexpr const char* kOutcomeNames[kOutcomes] = {"hit", "miss", "error", "garbage", "fallback", "write"};

// One counter per outcome, indexed by Outcome.
struct RedisCache::Family {
  std::array<metrics::Counter*, kOutcomes> counters;
};

struct RedisCache::Families {
  std::mutex mutex;
  std::map<std::string, Family, std::less<>> by_name;
};

RedisCache::RedisCache(redis::Client& client, resilience::CircuitBreaker& breaker, Cache& fallback,
                       metrics::Registry& registry, std::size_t value_bytes_max)
    : client_(client),
      breaker_(breaker),
      fallback_(fallback),
      registry_(registry),
      value_bytes_max_(value_bytes_max),
      families_(std::make_unique<Families>()) {}

RedisCache::~RedisCache() {
  std::lock_guard lock(liveness_->mutex);  // waits for a callback running on the client's thread
  liveness_->alive = false;
}

RedisCache::Family& RedisCache::family(const std::string& key) {
  std::string name = key_family(key);
  std::lock_guard lock(families_->mutex);
  auto it = families_->by_name.find(name);
  if (it != families_->by_name.end()) return it->second;
  Family family;
  for (std::size_t i = 0; i < kOutcomes; ++i) {
    family.counters[i] = &registry_.counter("payd_cache_requests_total",
                                            "Payment cache requests by key family and result (hit, miss, error, "
                                            "garbage, fallback: answered by the local fallback, write)",
                                            {{"family", name}, {"result", kOutcomeNames[i]}});
  }
  return families_->by_name.emplace(name, family).first->second;
}

void RedisCache::count(const std::string& key, Outcome outcome) {
  family(key).counters[static_cast<std::size_t>(outcome)]->add();
}

void RedisCache::record(bool succeeded) {
  if (succeeded) {
    breaker_.record_success();
  } else {
    breaker_.record_failure();
  }
}

bool RedisCache::healthy() const { return breaker_.state() == resilience::CircuitBreaker::State::closed; }

std::optional<redis::Reply> RedisCache::command(redis::Command command) {
  if (!breaker_.allow()) return std::nullopt;
  redis::Response response = client_.call(std::move(command));
  bool answered = response.ok() && !response.reply->is_error();
  record(answered);
  if (!answered) return std::nullopt;
  return std::move(*response.reply);
}

namespace {
// Every response a reply and none an error: the replies; else nullopt.
std::optional<std::vector<redis::Reply>> replies_of(std::vector<redis::Response> responses) {
  std::vector<redis::Reply> replies;
  replies.reserve(responses.size());
  for (auto& response : responses) {
    if (!response.ok() || response.reply->is_error()) return std::nullopt;
    replies.push_back(std::move(*response.reply));
  }
  return replies;
}
}  // namespace

void RedisCache::commands_async(std::vector<redis::Command> commands,
                                std::function<void(std::optional<std::vector<redis::Reply>>)> done) {
  if (!breaker_.allow()) return done(std::nullopt);
  client_.execute_all(std::move(commands), [this, liveness = liveness_,
                                            done = std::move(done)](std::vector<redis::Response> responses) {
    std::lock_guard lock(liveness->mutex);
    if (!liveness->alive) return;
    std::optional<std::vector<redis::Reply>> replies = replies_of(std::move(responses));
    record(replies.has_value());
    done(std::move(replies));
  });
}

std::optional<std::string> RedisCache::get(const std::string& key) {
  std::optional<redis::Reply> reply = command({"GET", key});
  if (!reply) {
    count(key, Outcome::error);
    count(key, Outcome::fallback);
    return fallback_.get(key);
  }
  if (reply->is_nil()) {
    // A value written while Redis was away lives in the fallback.
    std::optional<std::string> local = fallback_.get(key);
    count(key, local ? Outcome::fallback : Outcome::miss);
    return local;
  }
  if (reply->type != redis::Reply::Type::bulk || reply->text.size() > value_bytes_max_) {
    count(key, Outcome::garbage);
    return std::nullopt;
  }
  std::optional<std::string> value = unwrap_value(reply->text);
  count(key, value ? Outcome::hit : Outcome::garbage);
  return value;
}

void RedisCache::set(const std::string& key, std::string value, std::int64_t ttl_ms) {
  std::optional<redis::Reply> reply =
      command({"SET", key, wrap_value(value), "PX", std::to_string(std::max<std::int64_t>(ttl_ms, 1))});
  if (!reply) {
    count(key, Outcome::error);
    count(key, Outcome::fallback);
    fallback_.set(key, std::move(value), ttl_ms);
    return;
  }
  count(key, Outcome::write);
}

void RedisCache::send(redis::Command command) {
  client_.execute(std::move(command), [this, liveness = liveness_](redis::Response response) {
    std::lock_guard lock(liveness->mutex);
    if (liveness->alive) record(response.ok() && !response.reply->is_error());
  });
}

void RedisCache::set_async(const std::string& key, std::string value, std::int64_t ttl_ms) {
  if (!breaker_.allow()) return;
  count(key, Outcome::write);
  send({"SET", key, wrap_value(value), "PX", std::to_string(std::max<std::int64_t>(ttl_ms, 1))});
}

void RedisCache::add_async(const std::string& key, std::string value, std::int64_t ttl_ms) {
  if (!breaker_.allow()) return;
  count(key, Outcome::write);
  send({"SET", key, wrap_value(value), "NX", "PX", std::to_string(std::max<std::int64_t>(ttl_ms, 1))});
}

void RedisCache::erase_async(const std::string& key) {
  fallback_.erase(key);
  if (!breaker_.allow()) return;
  send({"DEL", key});
}

std::optional<Entry> RedisCache::take(const std::string& key) {
  std::optional<redis::Reply> reply = command({"EVAL", kTakeScript, "1", key});
  if (!reply) {
    count(key, Outcome::error);
    count(key, Outcome::fallback);
    return fallback_.take(key);
  }
  if (reply->is_nil()) {
    std::optional<Entry> local = fallback_.take(key);
    count(key, local ? Outcome::fallback : Outcome::miss);
    return local;
  }
  if (reply->type != redis::Reply::Type::array || reply->elements.size() != 2 ||
      reply->elements[0].type != redis::Reply::Type::bulk || reply->elements[0].text.size() > value_bytes_max_) {
    count(key, Outcome::garbage);
    return std::nullopt;
  }
  std::optional<std::string> value = unwrap_value(reply->elements[0].text);
  std::optional<std::int64_t> ttl = integer_of(reply->elements[1]);
  if (!value || !ttl) {
    count(key, Outcome::garbage);
    return std::nullopt;
  }
  count(key, Outcome::hit);
  return Entry{std::move(*value), *ttl > 0 ? *ttl : 1};
}

void RedisCache::erase(const std::string& key) {
  fallback_.erase(key);
  if (!command({"DEL", key})) count(key, Outcome::error);
}

std::int64_t RedisCache::increment(const std::string& key, std::int64_t ttl_ms) {
  std::optional<redis::Reply> reply =
      command({"EVAL", kIncrementScript, "1", key, std::to_string(std::max<std::int64_t>(ttl_ms, 1))});
  std::optional<std::int64_t> count_now = reply ? integer_of(*reply) : std::nullopt;
  if (!count_now) {
    count(key, reply ? Outcome::garbage : Outcome::error);
    count(key, Outcome::fallback);
    return fallback_.increment(key, ttl_ms);
  }
  count(key, Outcome::hit);
  return *count_now;
}

Cache::Window RedisCache::add_to_window(const std::string& key, std::int64_t now_ms, std::int64_t window_ms) {
  std::uint64_t serial;
  {
    std::lock_guard lock(member_mutex_);
    serial = ++member_counter_;
  }
  // Unique across nodes: the time, this process's address of itself and a
  // serial number.
  std::string member = std::to_string(now_ms) + ":" + hex16(reinterpret_cast<std::uintptr_t>(this) ^ fnv1a(key)) +
                       ":" + std::to_string(serial);
  std::optional<redis::Reply> reply = command(
      {"EVAL", kWindowScript, "1", key, std::to_string(now_ms), std::to_string(window_ms), std::move(member)});
  if (reply && reply->type == redis::Reply::Type::array && reply->elements.size() == 2) {
    std::optional<std::int64_t> events = integer_of(reply->elements[0]);
    std::optional<std::int64_t> oldest = integer_of(reply->elements[1]);
    if (events && oldest) {
      count(key, Outcome::hit);
      return Window{*events, *oldest};
    }
  }
  count(key, reply ? Outcome::garbage : Outcome::error);
  count(key, Outcome::fallback);
  return fallback_.add_to_window(key, now_ms, window_ms);
}

void RedisCache::remove_from_window(const std::string& key, std::int64_t at_ms) {
  fallback_.remove_from_window(key, at_ms);
  if (!command({"EVAL", kUnwindScript, "1", key, std::to_string(at_ms)})) count(key, Outcome::error);
}

std::optional<bool> RedisCache::add(const std::string& key, std::string value, std::int64_t ttl_ms) {
  std::optional<redis::Reply> reply =
      command({"SET", key, wrap_value(value), "NX", "PX", std::to_string(std::max<std::int64_t>(ttl_ms, 1))});
  if (!reply) {
    count(key, Outcome::error);
    return std::nullopt;
  }
  count(key, Outcome::write);
  return !reply->is_nil();
}

}  // namespace payd::cache
