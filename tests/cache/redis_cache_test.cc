// The payment cache on a real redis-server: the Cache port's semantics on
// Redis, garbage and oversized values, the breaker and the local fallback
// when Redis dies and comes back, and the cache-aside layer (single flight,
// the cross-node loader lock, pub/sub invalidation of the L1, TTL jitter).
// Time bounds here are correctness bounds with generous margins.
#include <atomic>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cache/cache_aside.h"
#include "cache/gateway_status_store.h"
#include "cache/memory_cache.h"
#include "cache/redis_cache.h"
#include "redis/client.h"
#include "resilience/circuit_breaker.h"
#include "tests/support/eventually.h"
#include "tests/support/redis_server.h"

namespace payd::cache {
namespace {

using testing::RedisServer;
using testing::RedisServerOptions;
using std::chrono::milliseconds;
using payd::testing::eventually;
using SteadyClock = std::chrono::steady_clock;

std::uint64_t counter_value(const metrics::Registry& registry, const std::string& series) {
  std::string text = registry.render();
  std::size_t at = text.find(series + " ");
  if (at == std::string::npos) return 0;
  return std::stoull(text.substr(at + series.size() + 1));
}

// One "node": a client, a breaker, a local fallback and the Redis cache.
struct Node {
  explicit Node(const RedisServer& server, int deadline_ms = 200, std::int64_t open_ms = 1'000) {
    Result<redis::Url> url = redis::parse_url("redis://:secret@127.0.0.1:" + std::to_string(server.port()));
    redis::Options options;
    options.deadline_ms = deadline_ms;
    options.backoff_base_ms = 20;
    options.backoff_max_ms = 200;
    client = redis::make_client(url.value(), options, registry, random);
    breaker = std::make_unique<resilience::CircuitBreaker>("cache", resilience::BreakerOptions{5, open_ms, 1'000},
                                                           clock, registry);
    cache = std::make_unique<RedisCache>(*client, *breaker, local, registry, 1024);
    EXPECT_TRUE(eventually([&] { return client->connected(); }, milliseconds(5'000)));
  }
  SystemClock clock;
  SeededRandom random{1};
  metrics::Registry registry;
  MemoryCache local{clock};
  std::unique_ptr<redis::Client> client;
  std::unique_ptr<resilience::CircuitBreaker> breaker;
  std::unique_ptr<RedisCache> cache;
};

RedisServerOptions with_password() {
  RedisServerOptions options;
  options.password = "secret";
  return options;
}

TEST(Envelope, RoundTripsAndRefusesAnythingElse) {
  EXPECT_EQ(unwrap_value(wrap_value("hello")), "hello");
  EXPECT_EQ(unwrap_value(wrap_value("")), "");
  std::string tampered = wrap_value("amount 100");
  tampered.back() = '9';
  EXPECT_FALSE(unwrap_value(tampered));
  EXPECT_FALSE(unwrap_value("hello"));
  EXPECT_FALSE(unwrap_value(""));
  EXPECT_FALSE(unwrap_value("pd1:zzzz"));
}

TEST(KeyFamily, NamesKnownFamiliesOnly) {
  EXPECT_EQ(key_family("payment:session:cs_1"), "payment:session");
  EXPECT_EQ(key_family("payment:ratelimit:acct_1:minute"), "payment:ratelimit");
  EXPECT_EQ(key_family("merchant:config:mer_1"), "merchant:config");
  EXPECT_EQ(key_family("fx:USDEUR"), "fx");
  EXPECT_EQ(key_family("something:else"), "other");
}

class RedisCacheTest : public ::testing::Test {
 protected:
  RedisServer server{with_password()};
};

TEST_F(RedisCacheTest, KeepsValuesWithTheirLifetime) {
  Node node(server);
  node.cache->set("payment:session:cs_1", "{\"amount\":5}", 60'000);
  EXPECT_EQ(node.cache->get("payment:session:cs_1"), "{\"amount\":5}");
  std::int64_t ttl = std::stoll(server.cli("PTTL payment:session:cs_1"));
  EXPECT_GT(ttl, 50'000);
  EXPECT_LE(ttl, 60'000);
  EXPECT_EQ(node.local.size(), 0u) << "with Redis up nothing goes to the fallback";
}

TEST_F(RedisCacheTest, ATakeSucceedsExactlyOnceAcrossNodes) {
  Node a(server);
  Node b(server);
  for (int round = 0; round < 20; ++round) {
    std::string key = "payment:session:cs_take" + std::to_string(round);
    a.cache->set(key, "open", 60'000);
    std::atomic<int> taken{0};
    std::thread first([&] { taken += a.cache->take(key).has_value(); });
    std::thread second([&] { taken += b.cache->take(key).has_value(); });
    first.join();
    second.join();
    EXPECT_EQ(taken.load(), 1) << "round " << round;
  }
}

TEST_F(RedisCacheTest, CountersAndWindowsMatchTheInProcessCache) {
  Node node(server);
  EXPECT_EQ(node.cache->increment("payment:ratelimit:acct_1:hour:1", 60'000), 1);
  EXPECT_EQ(node.cache->increment("payment:ratelimit:acct_1:hour:1", 60'000), 2);
  EXPECT_GT(std::stoll(server.cli("PTTL payment:ratelimit:acct_1:hour:1")), 0);

  std::string window = "payment:ratelimit:acct_1:minute";
  EXPECT_EQ(node.cache->add_to_window(window, 1'000, 60'000).count, 1);
  EXPECT_EQ(node.cache->add_to_window(window, 2'000, 60'000).count, 2);
  Cache::Window third = node.cache->add_to_window(window, 61'500, 60'000);
  EXPECT_EQ(third.count, 2) << "the event at 1000 left the window";
  EXPECT_EQ(third.oldest_ms, 2'000);
  node.cache->remove_from_window(window, 61'500);
  EXPECT_EQ(node.cache->add_to_window(window, 61'600, 60'000).count, 2);
}

TEST_F(RedisCacheTest, AddIsSetIfAbsent) {
  Node node(server);
  EXPECT_EQ(node.cache->add("payment:idempotency:k:inflight", "1", 10'000), true);
  EXPECT_EQ(node.cache->add("payment:idempotency:k:inflight", "1", 10'000), false);
}

TEST_F(RedisCacheTest, GarbageAndOversizedValuesAreMissesAndCounted) {
  Node node(server);
  server.cli("SET payment:session:cs_garbage not-an-envelope");
  server.cli("SET payment:session:cs_big pd1:" + std::string(2'000, 'x'));
  server.cli("SET payment:session:cs_take_garbage {broken");
  EXPECT_FALSE(node.cache->get("payment:session:cs_garbage"));
  EXPECT_FALSE(node.cache->get("payment:session:cs_big"));
  EXPECT_FALSE(node.cache->take("payment:session:cs_take_garbage"));
  EXPECT_EQ(counter_value(node.registry, "payd_cache_requests_total{family=\"payment:session\",result=\"garbage\"}"),
            3u);
  EXPECT_EQ(node.breaker->state(), resilience::CircuitBreaker::State::closed) << "garbage is not a Redis failure";
}

TEST_F(RedisCacheTest, WhenRedisDiesTheBreakerOpensAndTheFallbackAnswers) {
  Node node(server, /*deadline_ms=*/50, /*open_ms=*/1'000);
  server.kill9();
  // Rate limits keep counting locally; the breaker opens after 5 failures.
  for (int i = 1; i <= 8; ++i) {
    auto start = SteadyClock::now();
    EXPECT_EQ(node.cache->increment("payment:ratelimit:acct_2:hour:1", 60'000), i);
    EXPECT_LT(SteadyClock::now() - start, milliseconds(500)) << "a call waits at most about one deadline";
  }
  EXPECT_EQ(node.breaker->state(), resilience::CircuitBreaker::State::open);
  EXPECT_FALSE(node.cache->healthy());
  // While open, calls do not touch Redis at all.
  auto start = SteadyClock::now();
  for (int i = 0; i < 1'000; ++i) node.cache->get("payment:session:cs_x");
  EXPECT_LT(SteadyClock::now() - start, milliseconds(500));
  // A session written while Redis is away is found again on this node.
  node.cache->set("payment:session:cs_local", "open", 60'000);
  EXPECT_EQ(node.cache->get("payment:session:cs_local"), "open");
  EXPECT_GE(counter_value(node.registry, "payd_cache_requests_total{family=\"payment:ratelimit\",result=\"fallback\"}"),
            8u);

  server.restart();
  EXPECT_TRUE(eventually(
      [&] {
        node.cache->get("payment:session:cs_probe");
        return node.breaker->state() == resilience::CircuitBreaker::State::closed;
      },
      milliseconds(15'000)))
      << "the breaker closes once a probe succeeds after the cooldown";
  node.cache->set("payment:session:cs_back", "open", 60'000);
  EXPECT_EQ(server.cli("EXISTS payment:session:cs_back"), "1") << "writes go to Redis again";
  EXPECT_EQ(node.cache->take("payment:session:cs_local")->value, "open") << "the local session is still usable";
}

class CacheAsideTest : public ::testing::Test {
 protected:
  RedisServer server{with_password()};

  static CacheAsideOptions options() {
    CacheAsideOptions options;
    options.l1_ttl_ms = 60'000;
    options.lock_wait_ms = 2'000;
    return options;
  }
};

TEST_F(CacheAsideTest, OneLoaderPerKeyInAProcess) {
  Node node(server);
  CacheAside aside(node.cache.get(), node.clock, node.random, node.registry, options());
  std::atomic<int> loads{0};
  auto load = [&]() -> Result<std::string> {
    ++loads;
    std::this_thread::sleep_for(milliseconds(100));
    return std::string("config");
  };
  std::vector<std::thread> threads;
  std::atomic<int> right{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] { right += aside.get("merchant:config:mer_1", 60'000, load).value() == "config"; });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(loads.load(), 1);
  EXPECT_EQ(right.load(), 8);
}

TEST_F(CacheAsideTest, OneNodeLoadsAColdKeyTheOtherWaitsForIt) {
  Node a(server);
  Node b(server);
  CacheAside aside_a(a.cache.get(), a.clock, a.random, a.registry, options());
  CacheAside aside_b(b.cache.get(), b.clock, b.random, b.registry, options());
  std::atomic<int> loads{0};
  auto load = [&]() -> Result<std::string> {
    ++loads;
    std::this_thread::sleep_for(milliseconds(200));
    return std::string("config");
  };
  std::string on_a, on_b;
  std::thread first([&] { on_a = aside_a.get("merchant:config:mer_cold", 60'000, load).value(); });
  std::this_thread::sleep_for(milliseconds(50));
  std::thread second([&] { on_b = aside_b.get("merchant:config:mer_cold", 60'000, load).value(); });
  first.join();
  second.join();
  EXPECT_EQ(on_a, "config");
  EXPECT_EQ(on_b, "config");
  EXPECT_EQ(loads.load(), 1) << "the second node waited for the first one's load";
}

TEST_F(CacheAsideTest, ValuesGetTheirLifetimePlusJitter) {
  Node node(server);
  CacheAside aside(node.cache.get(), node.clock, node.random, node.registry, options());
  std::vector<std::int64_t> ttls;
  for (int i = 0; i < 20; ++i) {
    std::string key = "payment:method:pm_" + std::to_string(i);
    (void)aside.get(key, 100'000, [] { return Result<std::string>(std::string("x")); });
    ASSERT_TRUE(eventually([&] { return server.cli("EXISTS " + key) == "1"; }, milliseconds(2'000)));
    ttls.push_back(std::stoll(server.cli("PTTL " + key)));
  }
  for (std::int64_t ttl : ttls) {
    EXPECT_GT(ttl, 95'000);
    EXPECT_LE(ttl, 110'000);
  }
  EXPECT_NE(*std::min_element(ttls.begin(), ttls.end()), *std::max_element(ttls.begin(), ttls.end()))
      << "keys written together do not expire together";
}

TEST_F(CacheAsideTest, AnInvalidationReachesEveryNodesL1) {
  Node a(server);
  Node b(server);
  CacheAside aside_a(a.cache.get(), a.clock, a.random, a.registry, options());
  CacheAside aside_b(b.cache.get(), b.clock, b.random, b.registry, options());
  ASSERT_TRUE(eventually([&] { return aside_a.l1_live() && aside_b.l1_live(); }, milliseconds(5'000)));
  std::string source = "fee 100";
  auto load = [&]() -> Result<std::string> { return source; };
  EXPECT_EQ(aside_b.get("merchant:config:mer_2", 60'000, load).value(), "fee 100");
  // Kept in the L1 while Redis answers in time; on a machine busy enough to
  // miss a deadline the value is not kept, so ask until it is.
  ASSERT_TRUE(eventually(
      [&] {
        (void)aside_b.get("merchant:config:mer_2", 60'000, load);
        return aside_b.l1_size() == 1;
      },
      milliseconds(5'000)));

  source = "fee 200";
  std::atomic<bool> done{false};
  aside_a.invalidate("merchant:config:mer_2", [&] { done = true; });
  ASSERT_TRUE(eventually([&] { return done.load(); }, milliseconds(2'000)));
  ASSERT_TRUE(eventually([&] { return aside_b.l1_size() == 0; }, milliseconds(2'000)))
      << "node b heard the invalidation";
  EXPECT_EQ(aside_b.get("merchant:config:mer_2", 60'000, load).value(), "fee 200");
}

// A load that read the source before a write may store its value after
// the write's invalidation reached Redis: the tombstone refuses it, so no
// node is served the old value until its TTL.
TEST_F(CacheAsideTest, AStoreThatLandsAfterAnInvalidationIsRefused) {
  CacheAsideOptions quick = options();
  quick.tombstone_ms = 1'000;
  Node a(server);
  Node b(server);
  CacheAside aside_a(a.cache.get(), a.clock, a.random, a.registry, quick);
  CacheAside aside_b(b.cache.get(), b.clock, b.random, b.registry, quick);
  const std::string key = "merchant:config:mer_3";
  auto invalidated = SteadyClock::now();
  std::atomic<bool> done{false};
  aside_a.invalidate(key, [&] { done = true; });
  ASSERT_TRUE(eventually([&] { return done.load(); }, milliseconds(2'000)));
  EXPECT_EQ(server.cli("GET " + key), "payd:invalidated");

  // Node b's load read the old config before the write; its store comes last.
  auto stale = []() -> Result<std::string> { return std::string("fee 100"); };
  EXPECT_EQ(aside_b.get(key, 60'000, stale).value(), "fee 100");
  std::this_thread::sleep_until(invalidated + milliseconds(300));  // the store has reached Redis by now
  EXPECT_EQ(server.cli("GET " + key), "payd:invalidated") << "the stale store was refused";

  // The tombstone is a miss: a reader loads the current config. Once the
  // tombstone is gone, a load is stored again.
  auto current = []() -> Result<std::string> { return std::string("fee 250"); };
  EXPECT_EQ(aside_a.get(key, 60'000, current).value(), "fee 250");
  std::this_thread::sleep_until(invalidated + milliseconds(1'100));
  Node c(server);
  CacheAside aside_c(c.cache.get(), c.clock, c.random, c.registry, quick);
  EXPECT_EQ(aside_c.get(key, 60'000, current).value(), "fee 250");
  EXPECT_TRUE(eventually([&] { return server.cli("EXISTS " + key) == "1"; }, milliseconds(2'000)));
  EXPECT_NE(server.cli("GET " + key), "payd:invalidated");
}

TEST_F(CacheAsideTest, WithRedisDownReadsGoToTheSourceAndTheL1IsNotUsed) {
  Node node(server, /*deadline_ms=*/50, /*open_ms=*/60'000);
  CacheAside aside(node.cache.get(), node.clock, node.random, node.registry, options());
  ASSERT_TRUE(eventually([&] { return aside.l1_live(); }, milliseconds(5'000)));
  std::string source = "v1";
  std::atomic<int> loads{0};
  auto load = [&]() -> Result<std::string> {
    ++loads;
    return source;
  };
  EXPECT_EQ(aside.get("merchant:config:mer_3", 60'000, load).value(), "v1");
  server.kill9();
  source = "v2";  // changed while this node cannot hear invalidations
  // Within moments the node knows its connection is gone and stops using
  // the L1.
  ASSERT_TRUE(eventually([&] { return !aside.l1_live(); }, milliseconds(2'000)));
  int before = loads.load();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(aside.get("merchant:config:mer_3", 60'000, load).value(), "v2");
  EXPECT_EQ(loads.load(), before + 10);
}

TEST_F(CacheAsideTest, ALoadersProblemIsReturnedAndNotCached) {
  Node node(server);
  CacheAside aside(node.cache.get(), node.clock, node.random, node.registry, options());
  int loads = 0;
  auto missing = [&]() -> Result<std::string> {
    ++loads;
    return not_found("no merchant mer_x");
  };
  EXPECT_EQ(aside.get("merchant:config:mer_x", 60'000, missing).problem().code, "not_found");
  EXPECT_EQ(aside.get("merchant:config:mer_x", 60'000, missing).problem().code, "not_found");
  EXPECT_EQ(loads, 2);
  EXPECT_EQ(server.cli("EXISTS merchant:config:mer_x"), "0");
}

TEST_F(CacheAsideTest, GetAsyncStoresWhatItLoadsForTheOtherNodes) {
  Node a(server);
  Node b(server);
  CacheAside aside_a(a.cache.get(), a.clock, a.random, a.registry, options());
  CacheAside aside_b(b.cache.get(), b.clock, b.random, b.registry, options());
  std::optional<Result<std::string>> on_a;
  aside_a.get_async(
      "payment:method:pm_async", 60'000, [](CacheAside::Done loaded) { loaded(std::string("card")); },
      [&](Result<std::string> value) { on_a = std::move(value); });
  ASSERT_TRUE(on_a.has_value()) << "an answer from a loader that completes at once comes at once";
  EXPECT_EQ(on_a->value(), "card");
  ASSERT_TRUE(eventually([&] { return server.cli("EXISTS payment:method:pm_async") == "1"; }, milliseconds(2'000)));

  int loads_on_b = 0;
  std::optional<Result<std::string>> on_b;
  aside_b.get_async(
      "payment:method:pm_async", 60'000,
      [&](CacheAside::Done loaded) {
        ++loads_on_b;
        loaded(std::string("reloaded"));
      },
      [&](Result<std::string> value) { on_b = std::move(value); });
  ASSERT_TRUE(on_b.has_value());
  EXPECT_EQ(on_b->value(), "card");
  EXPECT_EQ(loads_on_b, 0) << "node b read node a's load from Redis";
}

// A CacheAside with no Redis configured.
struct LocalAside {
  static CacheAsideOptions options(bool single_node) {
    CacheAsideOptions options;
    options.single_node = single_node;
    return options;
  }
  explicit LocalAside(bool single_node) : aside(nullptr, clock, random, registry, options(single_node)) {}

  SystemClock clock;
  SeededRandom random{1};
  metrics::Registry registry;
  CacheAside aside;
};

// A value, or its problem's code.
std::string value_or_code(const Result<std::string>& result) {
  return result.ok() ? result.value() : result.problem().code;
}

TEST(CacheAsideWithoutRedis, IsTheLoader) {
  LocalAside local(false);
  CacheAside& aside = local.aside;
  int loads = 0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(aside.get("merchant:config:mer_1", 1'000, [&] {
                ++loads;
                return Result<std::string>(std::string("x"));
              }).value(),
              "x");
  }
  EXPECT_EQ(loads, 3);
  EXPECT_FALSE(aside.l1_live());
}

TEST(CacheAsideWithoutRedis, OnASingleNodeKeepsAnL1ThatInvalidateDrops) {
  LocalAside local(true);
  CacheAside& aside = local.aside;
  std::string source = "fee 100";
  int loads = 0;
  auto load = [&] {
    ++loads;
    return Result<std::string>(source);
  };
  EXPECT_EQ(aside.get("merchant:config:mer_1", 60'000, load).value(), "fee 100");
  EXPECT_EQ(aside.get("merchant:config:mer_1", 60'000, load).value(), "fee 100");
  EXPECT_EQ(loads, 1);

  source = "fee 200";
  bool invalidated = false;
  aside.invalidate("merchant:config:mer_1", [&] { invalidated = true; });
  EXPECT_TRUE(invalidated);
  EXPECT_EQ(aside.get("merchant:config:mer_1", 60'000, load).value(), "fee 200");
  EXPECT_EQ(loads, 2);
}

// The database channel: the L1 serves while the database's notices are
// heard, drops what they name, and is not used once they are lost.
TEST(CacheAsideWithoutRedis, ServesFromTheL1WhileTheDatabaseIsHeard) {
  SystemClock clock;
  SeededRandom random(1);
  metrics::Registry registry;
  CacheAside aside(nullptr, clock, random, registry, CacheAsideOptions{});
  std::string source = "fee 100";
  int loads = 0;
  auto load = [&] {
    ++loads;
    return Result<std::string>(source);
  };
  const std::string key = "merchant:config:mer_1";
  aside.get(key, 60'000, load);
  aside.database_listening();
  EXPECT_TRUE(aside.l1_live());
  EXPECT_EQ(aside.get(key, 60'000, load).value(), "fee 100");
  EXPECT_EQ(aside.get(key, 60'000, load).value(), "fee 100");
  EXPECT_EQ(loads, 2) << "one load before listening, one after";

  source = "fee 200";
  aside.database_heard("merchant:config:mer_other");
  EXPECT_EQ(aside.get(key, 60'000, load).value(), "fee 100") << "another key's notice keeps this one";
  aside.database_heard(key);
  EXPECT_EQ(aside.get(key, 60'000, load).value(), "fee 200");
  EXPECT_EQ(loads, 3);

  aside.database_deaf();
  EXPECT_FALSE(aside.l1_live());
  EXPECT_EQ(aside.l1_size(), 0u);
  aside.get(key, 60'000, load);
  aside.get(key, 60'000, load);
  EXPECT_EQ(loads, 5) << "unheard, every read goes to the source";
}

// A notice that arrives while a load runs may be about the value the load
// read: that value is returned but not kept.
TEST(CacheAsideWithoutRedis, ALoadOverlappingANoticeIsNotKept) {
  SystemClock clock;
  SeededRandom random(1);
  metrics::Registry registry;
  CacheAside aside(nullptr, clock, random, registry, CacheAsideOptions{});
  aside.database_listening();
  const std::string key = "fx:USDEUR";
  int loads = 0;
  auto load_raced_by_a_notice = [&] {
    ++loads;
    aside.database_heard(key);  // committed after our read, heard before we keep it
    return Result<std::string>(std::string("0.91"));
  };
  EXPECT_EQ(aside.get(key, 60'000, load_raced_by_a_notice).value(), "0.91");
  EXPECT_EQ(aside.l1_size(), 0u);
  auto load = [&] {
    ++loads;
    return Result<std::string>(std::string("0.92"));
  };
  EXPECT_EQ(aside.get(key, 60'000, load).value(), "0.92");
  EXPECT_EQ(aside.get(key, 60'000, load).value(), "0.92");
  EXPECT_EQ(loads, 2);
}

TEST_F(RedisCacheTest, GatewayStatusesLiveInRedisWithTheirValidity) {
  Node node(server);
  CacheStatusStore store(*node.cache);
  store.put(gateway::GatewayStatus{"simulated", gateway::Health::degraded, "closed", 1'767'225'600'000}, 300'000);
  std::int64_t ttl = std::stoll(server.cli("PTTL payment:gateway:simulated:status"));
  EXPECT_GT(ttl, 290'000);
  EXPECT_LE(ttl, 300'000);
  std::optional<gateway::GatewayStatus> status = store.get("simulated");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->status, gateway::Health::degraded);
  EXPECT_EQ(status->checked_at_ms, 1'767'225'600'000);
  EXPECT_FALSE(store.get("other"));
  node.cache->set(CacheStatusStore::key("broken"), "sideways closed 12", 60'000);
  EXPECT_FALSE(store.get("broken")) << "a status that is not one is no status";
}

// get_async's loads complete later (on an event loop): misses of one key
// that come meanwhile share the load in flight.
TEST(CacheAsideWithoutRedis, GetAsyncSharesOneLoadAmongConcurrentMisses) {
  LocalAside local(false);
  CacheAside& aside = local.aside;
  std::vector<CacheAside::Done> loading;
  auto load = [&](CacheAside::Done loaded) { loading.push_back(std::move(loaded)); };
  std::vector<std::string> answers;
  auto answer = [&](Result<std::string> value) { answers.push_back(value_or_code(value)); };
  for (int i = 0; i < 3; ++i) aside.get_async("merchant:config:mer_1", 1'000, load, answer);
  ASSERT_EQ(loading.size(), 1u);
  EXPECT_TRUE(answers.empty()) << "nothing answered before the load completed";

  loading.front()(std::string("x"));
  EXPECT_EQ(answers, (std::vector<std::string>{"x", "x", "x"}));
  // Without Redis on a shared database nothing is kept: the next miss loads.
  aside.get_async("merchant:config:mer_1", 1'000, load, answer);
  ASSERT_EQ(loading.size(), 2u);
  loading.back()(not_found("no merchant mer_1"));
  EXPECT_EQ(answers.back(), "not_found");
}

TEST(CacheAsideWithoutRedis, GetAsyncOnASingleNodeServesTheL1AndKeepsNoProblem) {
  LocalAside local(true);
  CacheAside& aside = local.aside;
  Result<std::string> source = std::string("fee 100");
  int loads = 0;
  auto load = [&](CacheAside::Done loaded) {
    ++loads;
    loaded(source);
  };
  std::vector<std::string> answers;
  auto answer = [&](Result<std::string> value) { answers.push_back(value_or_code(value)); };
  aside.get_async("merchant:config:mer_1", 60'000, load, answer);
  aside.get_async("merchant:config:mer_1", 60'000, load, answer);
  EXPECT_EQ(loads, 1);

  source = not_found("no merchant mer_2");
  aside.get_async("merchant:config:mer_2", 60'000, load, answer);
  aside.get_async("merchant:config:mer_2", 60'000, load, answer);
  EXPECT_EQ(loads, 3) << "a loader's problem is not kept";
  EXPECT_EQ(answers, (std::vector<std::string>{"fee 100", "fee 100", "not_found", "not_found"}));
}

}  // namespace
}  // namespace payd::cache
