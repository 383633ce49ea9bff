// The payment cache on a real redis-server, failing under load (issue: the
// payment cache on real Redis; DESIGN.md, failure behaviour):
//   - Redis killed during payments: no failed payment, no duplicate, requests
//     wait at most about one deadline, /readyz says degraded, and once Redis
//     is back the breaker closes and /readyz says ok again;
//   - FLUSHALL during payments with retries of the same keys: no duplicate;
//   - rate limits keep holding with a local limiter while Redis is away;
//   - a merchant update is seen at once by another node that had the
//     merchant in its L1.
// After each: every acknowledged payment is present exactly once, money is
// conserved, payctl verify passes (SQLite). Bounds on time are correctness
// bounds with generous margins, not benchmarks.
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "tests/api/api_test.h"
#include "tests/support/eventually.h"
#include "tests/support/redis_cluster.h"

namespace payd::api_test {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using payd::testing::RedisCluster;
using payd::testing::RedisSentinelSet;
using payd::testing::RedisServer;
using payd::testing::RedisServerOptions;

RedisServerOptions cache_server_options() {
  RedisServerOptions options;
  options.password = "cache-secret";
  return options;
}

std::string cache_url(const RedisServer& server) {
  return "redis://:cache-secret@127.0.0.1:" + std::to_string(server.port());
}

// Polled every 50 ms: each poll is an HTTP request.
bool eventually(const std::function<bool()>& condition, milliseconds wait_max) {
  return payd::testing::eventually(condition, wait_max, milliseconds(50));
}

// What a load of wallet payments saw.
struct LoadResult {
  std::mutex mutex;
  std::map<std::string, std::string> payment_by_key;  // acknowledged: key → payment id
  std::map<int, int> statuses;                        // every answer, retries included
  std::int64_t amount_paid = 0;
  int duplicates_checked = 0;
  int duplicate_mismatches = 0;
  double slowest_ms = 0;
  int failed_operations = 0;  // gave up without a 201
};

// `threads` clients pay `merchant` from their own wallets for `duration`,
// each payment with a fresh key; a failed attempt (connection error, 5xx,
// 409 in flight) is retried with the same key and body. Every
// `resend_every`-th payment is sent again after its 201 and must replay the
// same payment. `during` runs on the calling thread meanwhile.
void pay_under_load(std::uint16_t port, const std::string& merchant, const std::vector<std::string>& wallets,
                    milliseconds duration, int resend_every, LoadResult& result, const std::function<void()>& during) {
  std::atomic<bool> running{true};
  std::vector<std::thread> clients;
  for (std::size_t c = 0; c < wallets.size(); ++c) {
    clients.emplace_back([&, c] {
      Api api(port);
      int n = 0;
      while (running) {
        ++n;
        std::string key = unique_idempotency_key();
        std::int64_t amount = 100 + static_cast<std::int64_t>(n % 7);
        boost::json::object body{{"amount", amount}, {"currency", "USD"}, {"merchant", merchant},
                                 {"account", wallets[c]}};
        std::optional<std::string> id;
        for (int attempt = 0; attempt < 50 && !id; ++attempt) {
          auto start = SteadyClock::now();
          int status = 0;
          std::string payment_id;
          try {
            HttpResponse response = api.post("/v1/payments", body, key);
            status = response.status;
            if (status == 201) payment_id = string_at(json_of(response), "id").value_or("");
          } catch (const std::exception&) {
            status = -1;  // connection trouble: retry
          }
          double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
          std::lock_guard lock(result.mutex);
          result.statuses[status]++;
          result.slowest_ms = std::max(result.slowest_ms, ms);
          if (status == 201) {
            id = payment_id;
          } else {
            std::this_thread::sleep_for(milliseconds(20));
          }
        }
        std::lock_guard lock(result.mutex);
        if (!id) {
          result.failed_operations++;
          continue;
        }
        result.payment_by_key[key] = *id;
        result.amount_paid += amount;
        if (resend_every > 0 && n % resend_every == 0) {
          HttpResponse again = api.post("/v1/payments", body, key);
          result.duplicates_checked++;
          if (again.status != 201 || string_at(json_of(again), "id") != id ||
              again.header("idempotent-replayed") != "true") {
            result.duplicate_mismatches++;
          }
        }
      }
    });
  }
  auto end = SteadyClock::now() + duration;
  during();
  std::this_thread::sleep_until(end);
  running = false;
  for (auto& client : clients) client.join();
}

// The merchant's account holds exactly the acknowledged payments (less
// fees, which are 0 here), each payment exists once, verify passes.
void expect_exactly_once(Api& api, PaydProcess& payd, const std::string& merchant_account, LoadResult& result,
                         const std::vector<std::string>& wallets, std::int64_t funded_each) {
  std::set<std::string> ids;
  for (const auto& [key, id] : result.payment_by_key) ids.insert(id);
  EXPECT_EQ(ids.size(), result.payment_by_key.size()) << "two keys answered with one payment";
  EXPECT_EQ(api.state(merchant_account).balance, result.amount_paid)
      << "the merchant got exactly the acknowledged payments";
  std::int64_t left = 0;
  for (const auto& wallet : wallets) left += api.state(wallet).balance;
  EXPECT_EQ(left, funded_each * static_cast<std::int64_t>(wallets.size()) - result.amount_paid);
  EXPECT_BALANCED(api.trial_balance(), {"USD"});
  int sampled = 0;
  for (const auto& [key, id] : result.payment_by_key) {
    if (++sampled > 50) break;
    EXPECT_EQ(string_at(api.payment(id), "status"), "captured") << id;
  }
  payd::testing::CommandResult verify = payd.verify();
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

std::string describe(const std::map<int, int>& statuses) {
  std::string text;
  for (const auto& [status, count] : statuses) text += std::to_string(status) + ": " + std::to_string(count) + "; ";
  return text;
}

std::string readiness(Api& api) {
  HttpResponse response = api.get("/readyz");
  return string_at(json_of(response), "status").value_or("?");
}

class CacheFaults : public ::testing::Test {
 protected:
  void start(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"--cache-url", cache_url(redis), "--rate-limits", "off"};
    args.insert(args.end(), extra.begin(), extra.end());
    payd = start_payd(args);
    api = std::make_unique<Api>(payd->port());
    merchant = api->create_merchant();
    merchant_account = string_at(merchant, "account").value_or("");
    for (int i = 0; i < 4; ++i) wallets.push_back(api->funded_account(funded_each));
  }

  RedisServer redis{cache_server_options()};
  std::unique_ptr<PaydProcess> payd;
  std::unique_ptr<Api> api;
  boost::json::value merchant;
  std::string merchant_account;
  std::vector<std::string> wallets;
  static constexpr std::int64_t funded_each = 100'000'000;
};

TEST_F(CacheFaults, RedisKilledUnderLoadFailsNoPaymentAndTheBreakerClosesWhenItReturns) {
  start({"--cache-breaker-open-ms", "2000"});
  ASSERT_EQ(readiness(*api), "ok");
  LoadResult result;
  std::string degraded_seen;
  pay_under_load(payd->port(), string_at(merchant, "id").value_or(""), wallets, milliseconds(6'000), 5, result, [&] {
    std::this_thread::sleep_for(milliseconds(1'500));
    redis.kill9();
    EXPECT_TRUE(eventually([&] { return readiness(*api) == "degraded"; }, milliseconds(5'000)));
    HttpResponse status = api->get("/v1/admin/status");
    degraded_seen = string_at(json_of(status), "mode").value_or("");
    std::this_thread::sleep_for(milliseconds(1'500));
    redis.restart();
  });
  EXPECT_EQ(degraded_seen, "degraded");
  EXPECT_EQ(result.failed_operations, 0);
  EXPECT_EQ(result.statuses.size(), 1u) << "every answer was a 201: " << describe(result.statuses);
  EXPECT_GT(result.statuses[201], 50);
  EXPECT_EQ(result.duplicate_mismatches, 0);
  EXPECT_GT(result.duplicates_checked, 5);
  EXPECT_LT(result.slowest_ms, 2'000) << "no request waited on the dead Redis for long";
  // Back: the probe after the cooldown closes the breaker; readiness is ok
  // well within 60 s.
  EXPECT_TRUE(eventually(
      [&] {
        api->get("/v1/merchants/" + string_at(merchant, "id").value_or(""));
        return readiness(*api) == "ok";
      },
      milliseconds(60'000)));
  std::string metrics = api->get("/metrics").body;
  EXPECT_NE(metrics.find("payd_circuit_transitions_total{circuit=\"cache\",to=\"closed\"} 1"), std::string::npos);
  // The cache refills lazily: a replay answered by the ledger is copied to
  // Redis, and the next one is answered from there.
  auto fast_replays = [&] {
    return metric_value(*api, "payd_idempotency_fast_path_total{result=\"replayed\"}").value_or(-1);
  };
  const auto& [key, id] = *result.payment_by_key.begin();
  ASSERT_EQ(redis.cli("EXISTS payment:idempotency:" + key), "0") << "the restarted Redis starts empty";
  boost::json::value stored = api->payment(id);
  boost::json::object body{{"amount", int_at(stored, "amount").value_or(0)},
                           {"currency", "USD"},
                           {"merchant", string_at(merchant, "id").value_or("")},
                           {"account", string_at(stored, "source.account").value_or("")}};
  std::int64_t before = fast_replays();
  EXPECT_EQ(string_at(json_of(api->post("/v1/payments", body, key)), "id"), id);
  ASSERT_TRUE(eventually([&] { return redis.cli("EXISTS payment:idempotency:" + key) == "1"; }, milliseconds(2'000)));
  EXPECT_EQ(string_at(json_of(api->post("/v1/payments", body, key)), "id"), id);
  EXPECT_EQ(fast_replays(), before + 1);
  expect_exactly_once(*api, *payd, merchant_account, result, wallets, funded_each);
}

TEST_F(CacheFaults, FlushallDuringPaymentsWithRetriesMakesNoDuplicate) {
  start({});
  LoadResult result;
  pay_under_load(payd->port(), string_at(merchant, "id").value_or(""), wallets, milliseconds(4'000), 2, result, [&] {
    std::this_thread::sleep_for(milliseconds(1'500));
    EXPECT_EQ(redis.cli("FLUSHALL"), "OK");
  });
  EXPECT_EQ(result.failed_operations, 0);
  EXPECT_EQ(result.duplicate_mismatches, 0);
  EXPECT_GT(result.duplicates_checked, 20);
  expect_exactly_once(*api, *payd, merchant_account, result, wallets, funded_each);
  EXPECT_EQ(readiness(*api), "ok");
}

TEST_F(CacheFaults, RateLimitsHoldWithALocalLimiterWhileRedisIsAway) {
  payd = start_payd({"--cache-url", cache_url(redis), "--cache-deadline-ms", "50"});
  api = std::make_unique<Api>(payd->port());
  std::string merchant_id = string_at(api->create_merchant(), "id").value_or("");
  std::string wallet = api->funded_account(1'000'000);
  redis.kill9();
  auto pay = [&] {
    boost::json::object body{{"amount", 100}, {"currency", "USD"}, {"merchant", merchant_id}, {"account", wallet}};
    return api->post("/v1/payments", body, unique_idempotency_key());
  };
  for (int i = 0; i < 5; ++i) EXPECT_EQ(pay().status, 201) << i;
  HttpResponse limited = pay();
  EXPECT_PROBLEM(limited, 429, "rate_limited");
  EXPECT_FALSE(limited.header("retry-after").empty());
  std::string metrics = api->get("/metrics").body;
  EXPECT_NE(metrics.find("payd_cache_requests_total{family=\"payment:ratelimit\",result=\"fallback\"}"),
            std::string::npos);
}

TEST_F(CacheFaults, GarbageInRedisIsNeverTrusted) {
  start({});
  std::string wallet = wallets[0];
  boost::json::object body{{"amount", 100}, {"currency", "USD"}, {"merchant", string_at(merchant, "id").value_or("")},
                           {"account", wallet}};
  std::string key = unique_idempotency_key();
  HttpResponse first = api->post("/v1/payments", body, key);
  ASSERT_EQ(first.status, 201);
  ASSERT_TRUE(eventually([&] { return redis.cli("EXISTS payment:idempotency:" + key) == "1"; }, milliseconds(2'000)));
  // Someone writes nonsense over the cached outcome and the merchant config.
  redis.cli("SET payment:idempotency:" + key + " '{\"status\":201,\"id\":\"pay_forged\"}'");
  redis.cli("SET merchant:config:" + string_at(merchant, "id").value_or("") + " garbage");
  HttpResponse again = api->post("/v1/payments", body, key);
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(string_at(json_of(again), "id"), string_at(json_of(first), "id")) << "replayed from the ledger";
  HttpResponse merchant_now = api->get("/v1/merchants/" + string_at(merchant, "id").value_or(""));
  EXPECT_EQ(merchant_now.status, 200);
  EXPECT_EQ(string_at(json_of(merchant_now), "id"), string_at(merchant, "id"));
  std::string metrics = api->get("/metrics").body;
  EXPECT_NE(metrics.find("payd_cache_requests_total{family=\"payment:idempotency\",result=\"garbage\"} 1"),
            std::string::npos);
  EXPECT_EQ(api->state(wallet).balance, funded_each - 100) << "one payment, not two";
}

TEST(CacheNodes, AMerchantUpdateReachesAnotherNodesPaymentsAtOnceAndItsL1Soon) {
  payd::testing::PostgresServer* shared = postgres_server();
  std::unique_ptr<payd::testing::PostgresServer> own;
  if (!shared) {
    own = std::make_unique<payd::testing::PostgresServer>();
    shared = own.get();
  }
  std::string database = shared->create_database("cache_nodes");
  RedisServer redis(cache_server_options());
  std::vector<std::string> args = {"--cache-url", cache_url(redis)};
  auto node_a = start_payd_on(database, args);
  auto node_b = start_payd_on(database, args);
  Api a(node_a->port());
  Api b(node_b->port());
  std::string id = string_at(a.create_merchant({{"fee_bps", 100}}), "id").value_or("");
  // Node b reads it twice: the second read is from its L1.
  EXPECT_EQ(int_at(json_of(b.get("/v1/merchants/" + id)), "fee_bps"), 100);
  EXPECT_EQ(int_at(json_of(b.get("/v1/merchants/" + id)), "fee_bps"), 100);
  HttpResponse patched = a.patch("/v1/merchants/" + id, {{"fee_bps", 250}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  // The very next payment on node b uses the new fee: money is decided from
  // the ledger, never from a cached copy.
  std::string wallet = b.funded_account(1'000'000);
  boost::json::object body{{"amount", 10'000}, {"currency", "USD"}, {"merchant", id}, {"account", wallet}};
  HttpResponse paid = b.post("/v1/payments", body, unique_idempotency_key());
  ASSERT_EQ(paid.status, 201) << paid.body;
  EXPECT_EQ(int_at(json_of(paid), "fee"), 250);
  // Node b's copy went when the invalidation reached it, which the PATCH
  // answer does not wait for: within the pub/sub delivery time.
  EXPECT_TRUE(eventually([&] { return int_at(json_of(b.get("/v1/merchants/" + id)), "fee_bps") == 250; },
                         milliseconds(1'000)))
      << "node b still serves the old merchant config";
}

// A payd on `url` with a merchant and four funded wallets, for the topology
// tests below.
struct Shop {
  explicit Shop(const std::string& url) {
    payd = start_payd({"--cache-url", url, "--rate-limits", "off", "--cache-breaker-open-ms", "2000"});
    api = std::make_unique<Api>(payd->port());
    merchant = string_at(api->create_merchant(), "id").value_or("");
    merchant_account = string_at(json_of(api->get("/v1/merchants/" + merchant)), "account").value_or("");
    for (int i = 0; i < 4; ++i) wallets.push_back(api->funded_account(funded_each));
  }
  std::unique_ptr<PaydProcess> payd;
  std::unique_ptr<Api> api;
  std::string merchant;
  std::string merchant_account;
  std::vector<std::string> wallets;
  static constexpr std::int64_t funded_each = 100'000'000;
};

TEST(CacheTopologies, AClusterPrimaryKilledUnderPaymentsFailsNoPayment) {
  RedisCluster cluster;
  Shop shop(cluster.url());
  ASSERT_TRUE(eventually([&] { return readiness(*shop.api) == "ok"; }, milliseconds(10'000)));
  LoadResult result;
  int new_primary = 0;
  pay_under_load(shop.payd->port(), shop.merchant, shop.wallets, milliseconds(9'000), 4, result, [&] {
    std::this_thread::sleep_for(milliseconds(1'500));
    int killed = cluster.kill9_primary_of_slot(0);
    new_primary = cluster.wait_for_failover(0, killed, 20'000);
  });
  EXPECT_NE(new_primary, 0);
  EXPECT_EQ(result.failed_operations, 0);
  EXPECT_EQ(result.statuses.size(), 1u) << "every answer was a 201: " << describe(result.statuses);
  EXPECT_EQ(result.duplicate_mismatches, 0);
  // The client follows: the cache is in use again, on the promoted replica too.
  EXPECT_TRUE(eventually([&] { return readiness(*shop.api) == "ok"; }, milliseconds(30'000)));
  expect_exactly_once(*shop.api, *shop.payd, shop.merchant_account, result, shop.wallets, Shop::funded_each);
}

TEST(CacheTopologies, ASentinelFailoverUnderPaymentsIsFollowed) {
  RedisSentinelSet sentinels;
  Shop shop(sentinels.url());
  ASSERT_TRUE(eventually([&] { return readiness(*shop.api) == "ok"; }, milliseconds(10'000)));
  int old_master = sentinels.master_port();
  LoadResult result;
  pay_under_load(shop.payd->port(), shop.merchant, shop.wallets, milliseconds(12'000), 4, result, [&] {
    std::this_thread::sleep_for(milliseconds(1'500));
    sentinels.primary().kill9();
    EXPECT_TRUE(eventually(
        [&] {
          int now = sentinels.master_port();
          return now != 0 && now != old_master;
        },
        milliseconds(20'000)))
        << "the Sentinels promoted the replica";
  });
  EXPECT_EQ(result.failed_operations, 0);
  EXPECT_EQ(result.statuses.size(), 1u) << "every answer was a 201: " << describe(result.statuses);
  EXPECT_EQ(result.duplicate_mismatches, 0);
  EXPECT_TRUE(eventually([&] { return readiness(*shop.api) == "ok"; }, milliseconds(30'000)));
  // Writes land on the new master.
  std::string key = unique_idempotency_key();
  boost::json::object body{{"amount", 100}, {"currency", "USD"}, {"merchant", shop.merchant},
                           {"account", shop.wallets[0]}};
  ASSERT_EQ(shop.api->post("/v1/payments", body, key).status, 201);
  EXPECT_TRUE(eventually([&] { return sentinels.replica().cli("EXISTS payment:idempotency:" + key) == "1"; },
                         milliseconds(5'000)))
      << "the outcome was cached on the promoted replica";
  result.amount_paid += 100;
  result.payment_by_key[key] = "extra";
  expect_exactly_once(*shop.api, *shop.payd, shop.merchant_account, result, shop.wallets, Shop::funded_each);
}

TEST(CacheUrl, AMalformedCacheUrlIsAClearStartUpError) {
  struct Case {
    const char* url;
    const char* says;
  };
  for (const Case& bad : {Case{"http://127.0.0.1:6379", "scheme"}, Case{"redis://127.0.0.1:99999", "port"},
                          Case{"redis-sentinel://127.0.0.1:26379", "master"},
                          Case{"redis://:hunter2@127.0.0.1:notaport", "port"}}) {
    payd::testing::CommandResult result = payd::testing::run_command(
        {PAYD_BINARY, "--port", "0", "--access-log", "off", "--data-dir", ::testing::TempDir() + "/cache_url",
         "--cache-url", bad.url},
        10'000);
    EXPECT_NE(result.exit_code, 0) << bad.url;
    EXPECT_NE(result.exit_code, -1) << bad.url << ": it must exit, not hang";
    EXPECT_NE(result.output.find("PAYMENT_CACHE_URL"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find(bad.says), std::string::npos) << bad.url << ": " << result.output;
    EXPECT_EQ(result.output.find("hunter2"), std::string::npos) << "the password is never echoed";
  }
}

}  // namespace
}  // namespace payd::api_test
