// The cache-aside layer's figures against a real Redis:
//   - an L1 hit (the in-process copy), in ns per lookup;
//   - a Redis hit with the L1 switched off, in µs per lookup;
//   - the hit rate of merchant configs under a Zipf(0.99) choice of
//     merchants (10,000 merchants, 1,000,000 lookups), loads from the
//     "database" counted by the loader.
//   cache_bench redis://127.0.0.1:PORT
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include "cache/cache_aside.h"
#include "cache/memory_cache.h"
#include "cache/redis_cache.h"
#include "core/clock.h"
#include "metrics/metrics.h"
#include "redis/client.h"
#include "resilience/circuit_breaker.h"

using namespace payd;

namespace {

std::string merchant_json(std::size_t i) {
  return "{\"id\":\"mer_" + std::to_string(i) +
         "\",\"object\":\"merchant\",\"name\":\"Shop\",\"settlement_currency\":\"USD\",\"max_amount\":1000000,"
         "\"fee_bps\":290,\"fee_fixed\":30,\"active\":true}";
}

// Zipf(s) over [0, n) by inverse CDF on a precomputed table.
class Zipf {
 public:
  Zipf(std::size_t n, double s) : cdf_(n) {
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) cdf_[i] = sum += 1.0 / std::pow(static_cast<double>(i + 1), s);
    for (double& c : cdf_) c /= sum;
  }
  std::size_t operator()(std::mt19937_64& engine) {
    double u = std::uniform_real_distribution<double>(0, 1)(engine);
    return static_cast<std::size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: cache_bench redis://HOST:PORT\n");
    return 2;
  }
  Result<redis::Url> url = redis::parse_url(argv[1]);
  if (!url.ok()) return 2;
  SystemClock clock;
  SeededRandom random(7);
  metrics::Registry registry;
  std::unique_ptr<redis::Client> client = redis::make_client(url.value(), redis::Options{}, registry, random);
  resilience::CircuitBreaker breaker("cache", resilience::BreakerOptions{}, clock, registry);
  cache::MemoryCache local(clock);
  cache::RedisCache redis(*client, breaker, local, registry);
  redis.command({"FLUSHDB"});

  cache::CacheAsideOptions with_l1;
  with_l1.l1_ttl_ms = 60'000;
  cache::CacheAside aside(&redis, clock, random, registry, with_l1);
  for (int i = 0; i < 300 && !aside.l1_live(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!aside.l1_live()) {
    std::fprintf(stderr, "the invalidation channel did not come up\n");
    return 1;
  }
  std::uint64_t loads = 0;
  auto load = [&](std::size_t i) {
    return [&, i]() -> Result<std::string> {
      ++loads;
      return merchant_json(i);
    };
  };

  // L1 hit.
  (void)aside.get("merchant:config:mer_hot", 900'000, load(0));
  constexpr int l1_rounds = 2'000'000;
  auto start = std::chrono::steady_clock::now();
  std::size_t bytes = 0;
  for (int i = 0; i < l1_rounds; ++i) bytes += aside.get("merchant:config:mer_hot", 900'000, load(0)).value().size();
  double l1_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() / l1_rounds;

  // Redis hit, no L1.
  cache::CacheAsideOptions no_l1;
  no_l1.l1_entries_max = 0;
  no_l1.channel = "payd:cache:bench";
  cache::CacheAside redis_only(&redis, clock, random, registry, no_l1);
  constexpr int redis_rounds = 20'000;
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < redis_rounds; ++i) bytes += redis_only.get("merchant:config:mer_hot", 900'000, load(0)).value().size();
  double redis_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / redis_rounds;

  // Zipf hit rate: from cold, then in steady state (the same workload
  // again, every merchant config now cached).
  constexpr std::size_t merchants = 10'000;
  constexpr int lookups = 1'000'000;
  Zipf zipf(merchants, 0.99);
  std::mt19937_64 engine(99);
  auto run = [&] {
    loads = 0;
    for (int i = 0; i < lookups; ++i) {
      std::size_t m = zipf(engine);
      bytes += aside.get("merchant:config:mer_" + std::to_string(m), 900'000, load(m)).value().size();
    }
    return 100.0 * (1.0 - static_cast<double>(loads) / lookups);
  };
  double cold_hit_rate = run();
  std::uint64_t cold_loads = loads;
  double warm_hit_rate = run();
  std::uint64_t warm_loads = loads;

  std::printf("L1 hit: %.0f ns per lookup\n", l1_ns);
  std::printf("Redis hit (no L1): %.1f us per lookup\n", redis_us);
  std::printf("merchant config under Zipf(0.99), %zu merchants, %d lookups from cold: %.2f%% hits (%llu loads)\n",
              merchants, lookups, cold_hit_rate, static_cast<unsigned long long>(cold_loads));
  std::printf("the same, %d more lookups (steady state): %.3f%% hits (%llu loads)\n", lookups, warm_hit_rate,
              static_cast<unsigned long long>(warm_loads));
  std::printf("(checksum %zu)\n", bytes);
  return 0;
}
