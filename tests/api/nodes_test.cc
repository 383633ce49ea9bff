// Several payd nodes on one PostgreSQL database (the conformance run sets
// PAYD_TEST_LEDGER=postgresql; on SQLite, which one process owns, these are
// skipped). No overdraft, no duplicate effect for a key sent to both nodes,
// conservation of money, and a dead node's requests retried on the other.
#include "tests/api/api_test.h"
#include "tests/support/eventually.h"

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

namespace payd::api_test {
namespace {

using payd::testing::eventually;
using std::chrono::milliseconds;

class Nodes : public ::testing::Test {
 protected:
  void SetUp() override {
    std::optional<std::string> url = new_postgres_database();
    if (!url) GTEST_SKIP() << "several nodes need the PostgreSQL ledger (PAYD_TEST_LEDGER=postgresql)";
    url_ = *url;
    first_ = start_payd_on(*url, {"--rate-limits", "off"});
    second_ = start_payd_on(*url, {"--rate-limits", "off"});
  }

  std::string url_;
  std::unique_ptr<PaydProcess> first_;
  std::unique_ptr<PaydProcess> second_;
};

boost::json::object transfer_body(const std::string& from, const std::string& to, std::int64_t amount) {
  return {{"from", from}, {"to", to}, {"amount", amount}, {"currency", "USD"}};
}

TEST_F(Nodes, HotMerchantPaidThroughBothNodesConservesMoneyWithoutOverdraft) {
  Api setup(first_->port());
  std::string merchant = string_at(setup.create_merchant({{"fee_bps", 290}, {"fee_fixed", 30}}), "id").value_or("");
  std::vector<std::string> customers;
  for (int i = 0; i < 10; ++i) customers.push_back(setup.funded_account(5'000));

  std::atomic<int> captured{0};
  std::atomic<int> refused{0};
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      Api api(t % 2 == 0 ? first_->port() : second_->port());
      std::mt19937 random(static_cast<unsigned>(t));
      for (int i = 0; i < 60; ++i) {
        boost::json::object body{{"amount", 100 + static_cast<int>(random() % 900)}, {"currency", "USD"},
                                 {"merchant", merchant}, {"account", customers[random() % customers.size()]}};
        HttpResponse response = api.post("/v1/payments", body, unique_idempotency_key("hot"));
        if (response.status == 201) {
          ++captured;
        } else if (response.status == 402) {
          ++refused;
        } else {
          ++unexpected;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_GT(captured.load(), 0);
  EXPECT_GT(refused.load(), 0) << "the customers should run out of money";
  for (const std::string& customer : customers) EXPECT_GE(setup.state(customer).balance, 0);
  EXPECT_BALANCED(setup.trial_balance(), {"USD"});
  payd::testing::CommandResult verified = first_->verify();
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
}

TEST_F(Nodes, SameKeySentToBothNodesAtOnceMovesMoneyOnce) {
  Api setup(first_->port());
  std::string from = setup.funded_account(100'000);
  std::string to = setup.create_account();
  constexpr int keys_count = 30;
  std::mutex mutex;
  std::vector<std::string> ids_seen;
  std::atomic<int> unexpected{0};
  for (int k = 0; k < keys_count; ++k) {
    std::string key = unique_idempotency_key("both");
    std::string body = to_body(transfer_body(from, to, 7));
    std::vector<std::thread> pair;
    for (PaydProcess* node : {first_.get(), second_.get()}) {
      pair.emplace_back([&, node] {
        Api api(node->port());
        for (int attempt = 0; attempt < 50; ++attempt) {
          HttpResponse response = api.post("/v1/transfers", body, key);
          if (response.status == 409) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            continue;
          }
          if (response.status != 201) ++unexpected;
          std::lock_guard lock(mutex);
          ids_seen.push_back(string_at(json_of(response), "id").value_or(""));
          return;
        }
        ++unexpected;
      });
    }
    for (auto& thread : pair) thread.join();
    std::lock_guard lock(mutex);
    ASSERT_GE(ids_seen.size(), 2u);
    EXPECT_EQ(ids_seen[ids_seen.size() - 1], ids_seen[ids_seen.size() - 2]) << "both nodes must answer one transfer";
  }
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_EQ(setup.state(to).balance, 7 * keys_count);
  EXPECT_EQ(setup.state(from).balance, 100'000 - 7 * keys_count);
}

TEST_F(Nodes, KilledNodesUnansweredRequestsApplyOnceOnTheOther) {
  Api setup(second_->port());
  std::string from = setup.funded_account(1'000'000);
  std::string to = setup.create_account();
  struct Sent {
    std::string key;
    std::string body;
    bool answered = false;
  };
  std::vector<Sent> sent;
  std::mutex mutex;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&] {
      Api api(first_->port());
      api.client().set_timeout_ms(2000);
      while (!stop) {
        Sent request{unique_idempotency_key("dying"), to_body(transfer_body(from, to, 3)), false};
        try {
          request.answered = api.post("/v1/transfers", request.body, request.key).status == 201;
        } catch (const std::exception&) {
          request.answered = false;  // the node died under us
        }
        std::lock_guard lock(mutex);
        sent.push_back(request);
        if (!request.answered) return;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  first_->kill9();
  stop = true;
  for (auto& client : clients) client.join();

  int retried = 0;
  for (Sent& request : sent) {
    if (request.answered) continue;
    ++retried;
    HttpResponse response = setup.post("/v1/transfers", request.body, request.key);
    EXPECT_EQ(response.status, 201) << response.body;
    request.answered = response.status == 201;
  }
  std::int64_t moved = 0;
  for (const Sent& request : sent) moved += request.answered ? 3 : 0;
  EXPECT_GT(sent.size(), 10u);
  EXPECT_EQ(setup.state(to).balance, moved) << retried << " requests were retried on the surviving node";
  EXPECT_EQ(setup.state(from).balance, 1'000'000 - moved);
  payd::testing::CommandResult verified = second_->verify();
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
}

}  // namespace
}  // namespace payd::api_test

namespace payd::api_test {
namespace {

// PostgreSQL killed (immediate stop) while transfers flow: payd answers 503
// unavailable while it is down and serves again by itself once it is back;
// retrying every unanswered or 503 request with its key applies each once.
TEST_F(Nodes, DatabaseCrashIsAnswered503ThenServedAgainWithoutARestart) {
  Api setup(first_->port());
  std::string from = setup.funded_account(1'000'000);
  std::string to = setup.create_account();
  struct Sent {
    std::string key;
    bool acknowledged = false;
  };
  std::vector<Sent> sent;
  std::atomic<int> unavailable{0};
  std::atomic<bool> stop{false};
  std::string body = to_body(transfer_body(from, to, 2));
  std::thread client([&] {
    Api api(first_->port());
    while (!stop) {
      Sent request{unique_idempotency_key("crash"), false};
      HttpResponse response = api.post("/v1/transfers", body, request.key);
      request.acknowledged = response.status == 201;
      sent.push_back(request);
      if (response.status == 503) {
        ++unavailable;
        EXPECT_EQ(string_at(json_of(response), "code"), "unavailable");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a client backs off
      }
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  postgres_server()->stop_immediate();
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_EQ(setup.get("/readyz").status, 503);
  postgres_server()->start();
  // payd reconnects with backoff; give it a bounded time to serve again.
  bool serving = false;
  for (int waited_ms = 0; waited_ms < 15'000 && !serving; waited_ms += 100) {
    serving = setup.get("/v1/accounts/" + from).status == 200 && setup.get("/readyz").status == 200;
    if (!serving) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(serving);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  client.join();
  EXPECT_GT(unavailable.load(), 0) << "no request met the stopped database";

  for (Sent& request : sent) {
    if (request.acknowledged) continue;
    HttpResponse retry = setup.post("/v1/transfers", body, request.key);
    EXPECT_EQ(retry.status, 201) << retry.body;
    request.acknowledged = retry.status == 201;
  }
  std::int64_t moved = 2 * static_cast<std::int64_t>(sent.size());
  EXPECT_EQ(setup.state(to).balance, moved);
  EXPECT_EQ(setup.state(from).balance, 1'000'000 - moved);
  payd::testing::CommandResult verified = first_->verify();
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
}

// Without Redis, each node keeps merchants in its L1 while it hears the
// database's notices; a change made through another node reaches it by
// the notice, long before the L1 lifetime (ten minutes here) is over.
TEST_F(Nodes, WithoutRedisAMerchantChangedOnOneNodeLeavesTheOthersL1) {
  auto third = start_payd_on(url_, {"--rate-limits", "off", "--cache-l1-ttl-ms", "600000"});
  Api a(first_->port());
  Api c(third->port());
  ASSERT_TRUE(eventually([&] { return metric_value(c, "payd_cache_database_listening") == 1; }, milliseconds(5'000)));
  std::string id = string_at(a.create_merchant({{"fee_bps", 100}}), "id").value_or("");
  const std::string hits = "payd_cache_l1_requests_total{family=\"merchant:config\",result=\"hit\"}";
  EXPECT_EQ(int_at(json_of(c.get("/v1/merchants/" + id)), "fee_bps"), 100);
  std::int64_t hits_before = metric_value(c, hits).value_or(0);
  EXPECT_EQ(int_at(json_of(c.get("/v1/merchants/" + id)), "fee_bps"), 100);
  EXPECT_EQ(metric_value(c, hits).value_or(0), hits_before + 1) << "the second read is served from the L1";

  HttpResponse patched = a.patch("/v1/merchants/" + id, {{"fee_bps", 250}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_TRUE(eventually([&] { return int_at(json_of(c.get("/v1/merchants/" + id)), "fee_bps") == 250; },
                         milliseconds(2'000)))
      << "the third node still serves the old merchant config";
}

}  // namespace
}  // namespace payd::api_test
