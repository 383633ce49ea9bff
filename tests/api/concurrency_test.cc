// Concurrent requests: one effect per key, no double spend.
#include <barrier>
#include <functional>
#include <thread>

#include "tests/api/api_test.h"

namespace payd::api_test {
namespace {

constexpr int thread_count = 16;

class Concurrency : public PaydSuite {
 protected:
  static void SetUpTestSuite() { start_shared({"--rate-limits", "off"}); }
  static void TearDownTestSuite() { stop_shared(); }

  // Runs `send(index, client)` on `thread_count` threads, each with its own
  // connection opened beforehand, released together by a barrier.
  std::vector<HttpResponse> all_at_once(const std::function<HttpResponse(int, Api&)>& send) {
    std::vector<HttpResponse> responses(thread_count);
    std::vector<std::string> errors(thread_count);
    std::barrier start(thread_count);
    std::vector<std::thread> threads;
    for (int i = 0; i < thread_count; ++i) {
      threads.emplace_back([&, i] {
        Api client(port());
        try {
          client.client().request("GET", "/healthz");  // connect before the race
        } catch (const std::exception& error) {
          errors[i] = error.what();
        }
        start.arrive_and_wait();
        if (!errors[i].empty()) return;
        try {
          responses[i] = send(i, client);
        } catch (const std::exception& error) {
          errors[i] = error.what();
        }
      });
    }
    for (auto& thread : threads) thread.join();
    for (int i = 0; i < thread_count; ++i) EXPECT_EQ(errors[i], "") << "thread " << i;
    return responses;
  }
};

TEST_F(Concurrency, SameKeyAtOnceHasExactlyOneEffect) {
  std::string from = api().funded_account(10'000);
  std::string to = api().create_account();
  const std::string key = unique_idempotency_key("race");
  const std::string body = to_body({{"from", from}, {"to", to}, {"amount", 250}, {"currency", "USD"}});

  std::vector<HttpResponse> responses =
      all_at_once([&](int, Api& client) { return client.post("/v1/transfers", body, key); });

  int originals = 0;
  int replays = 0;
  int in_use = 0;
  std::string created_body;
  for (const HttpResponse& response : responses) {
    if (response.status == 201) {
      if (response.header("idempotent-replayed") == "true") {
        ++replays;
      } else {
        ++originals;
      }
      if (created_body.empty()) created_body = response.body;
      EXPECT_EQ(response.body, created_body) << "every 201 is the same transfer";
    } else {
      ++in_use;
      EXPECT_PROBLEM(response, 409, "idempotency_key_in_use");
      std::string retry_after = response.header("retry-after");
      EXPECT_TRUE(!retry_after.empty() && retry_after.find_first_not_of("0123456789") == std::string::npos)
          << "Retry-After in whole seconds: '" << retry_after << "'";
    }
  }
  EXPECT_EQ(originals, 1) << replays << " replays, " << in_use << " in use";
  EXPECT_EQ(originals + replays + in_use, thread_count);

  EXPECT_EQ(api().state(from), (AccountState{.balance = 9'750, .held = 0, .available = 9'750, .version = 2}));
  EXPECT_EQ(api().state(to), (AccountState{.balance = 250, .held = 0, .available = 250, .version = 1}));

  HttpResponse retry = api().post("/v1/transfers", body, key);
  EXPECT_EQ(retry.status, 201);
  EXPECT_EQ(retry.header("idempotent-replayed"), "true");
  EXPECT_EQ(retry.body, created_body);
  EXPECT_BALANCED(api().trial_balance(), {"USD"});
}

TEST_F(Concurrency, RacingTransfersNeverOverdraw) {
  std::string from = api().funded_account(1'000);
  std::string to = api().create_account();
  const std::string body = to_body({{"from", from}, {"to", to}, {"amount", 100}, {"currency", "USD"}});

  std::vector<HttpResponse> responses = all_at_once(
      [&](int i, Api& client) { return client.post("/v1/transfers", body, unique_idempotency_key("spend" + std::to_string(i))); });

  int posted = 0;
  int refused = 0;
  for (const HttpResponse& response : responses) {
    if (response.status == 201) {
      ++posted;
    } else {
      ++refused;
      EXPECT_PROBLEM(response, 402, "insufficient_funds", "amount");
    }
  }
  EXPECT_EQ(posted, 10) << "1000 available covers exactly ten transfers of 100";
  EXPECT_EQ(refused, thread_count - 10);
  EXPECT_EQ(api().state(from), (AccountState{.balance = 0, .held = 0, .available = 0, .version = 11}));
  EXPECT_EQ(api().state(to), (AccountState{.balance = 1'000, .held = 0, .available = 1'000, .version = 10}));
  EXPECT_BALANCED(api().trial_balance(), {"USD"});
}

TEST_F(Concurrency, RacingAuthorizationsNeverHoldMoreThanAvailable) {
  std::string customer = api().funded_account(1'000);
  std::string merchant = string_at(api().create_merchant(), "id").value_or("");
  const std::string body = to_body(
      {{"amount", 100}, {"currency", "USD"}, {"merchant", merchant}, {"account", customer}, {"capture", false}});

  std::vector<HttpResponse> responses = all_at_once(
      [&](int i, Api& client) { return client.post("/v1/payments", body, unique_idempotency_key("hold" + std::to_string(i))); });

  int authorized = 0;
  for (const HttpResponse& response : responses) {
    if (response.status == 201) {
      ++authorized;
      EXPECT_EQ(string_at(json_of(response), "status"), "authorized") << response.body;
    } else {
      EXPECT_PROBLEM(response, 402, "insufficient_funds");
    }
  }
  EXPECT_EQ(authorized, 10);
  EXPECT_EQ(api().state(customer), (AccountState{.balance = 1'000, .held = 1'000, .available = 0, .version = 1}));
}

TEST_F(Concurrency, RacingCapturesSettleOnce) {
  std::string customer = api().funded_account(10'000);
  boost::json::value merchant = api().create_merchant();
  std::string merchant_account = string_at(merchant, "account").value_or("");
  HttpResponse authorized = api().post("/v1/payments",
                                       {{"amount", 1'000},
                                        {"currency", "USD"},
                                        {"merchant", string_at(merchant, "id").value_or("")},
                                        {"account", customer},
                                        {"capture", false}},
                                       unique_idempotency_key());
  std::string payment = string_at(EXPECT_JSON(authorized, 201), "id").value_or("");

  std::vector<HttpResponse> responses = all_at_once([&](int i, Api& client) {
    return client.post("/v1/payments/" + payment + "/capture", R"({})", unique_idempotency_key("capture" + std::to_string(i)));
  });
  int captured = 0;
  for (const HttpResponse& response : responses) {
    if (response.status == 200) {
      ++captured;
    } else {
      EXPECT_PROBLEM(response, 409, "invalid_state");
    }
  }
  EXPECT_EQ(captured, 1) << "a capture is final";
  EXPECT_EQ(api().state(customer), (AccountState{.balance = 9'000, .held = 0, .available = 9'000, .version = 2}));
  EXPECT_EQ(api().state(merchant_account).balance, 1'000);
  EXPECT_BALANCED(api().trial_balance(), {"USD"});
}

TEST_F(Concurrency, RacingRefundsNeverExceedTheCapture) {
  std::string customer = api().funded_account(1'000);
  boost::json::value merchant = api().create_merchant();
  std::string merchant_account = string_at(merchant, "account").value_or("");
  HttpResponse paid = api().post("/v1/payments",
                                 {{"amount", 1'000},
                                  {"currency", "USD"},
                                  {"merchant", string_at(merchant, "id").value_or("")},
                                  {"account", customer}},
                                 unique_idempotency_key());
  std::string payment = string_at(EXPECT_JSON(paid, 201), "id").value_or("");

  std::vector<HttpResponse> responses = all_at_once([&](int i, Api& client) {
    return client.post("/v1/payments/" + payment + "/refunds", R"({"amount":100})",
                       unique_idempotency_key("refund" + std::to_string(i)));
  });
  int refunded = 0;
  for (const HttpResponse& response : responses) {
    if (response.status == 201) {
      ++refunded;
    } else {
      EXPECT_EQ(response.status, 409) << response.body;
      auto code = string_at(json_of(response), "code");
      EXPECT_TRUE(code == "amount_exceeds_refundable" || code == "invalid_state") << response.body;
    }
  }
  EXPECT_EQ(refunded, 10);
  boost::json::value after = api().payment(payment);
  EXPECT_EQ(string_at(after, "status"), "refunded");
  EXPECT_EQ(int_at(after, "amount_refunded"), 1'000);
  EXPECT_EQ(api().state(customer).balance, 1'000);
  EXPECT_EQ(api().state(merchant_account).balance, 0);
  EXPECT_BALANCED(api().trial_balance(), {"USD"});
}

TEST_F(Concurrency, ManyAccountsManyThreadsConserveMoney) {
  constexpr int account_count = 6;
  constexpr int transfers_per_thread = 20;
  std::vector<std::string> accounts;
  for (int i = 0; i < account_count; ++i) accounts.push_back(api().funded_account(100'000));

  std::vector<std::vector<int>> statuses(thread_count);
  std::vector<std::string> errors(thread_count);
  std::vector<std::thread> threads;
  for (int t = 0; t < thread_count; ++t) {
    threads.emplace_back([&, t] {
      Api client(port());
      try {
        for (int i = 0; i < transfers_per_thread; ++i) {
          const std::string& from = accounts[(t + i) % account_count];
          const std::string& to = accounts[(t + 2 * i + 1) % account_count];
          if (from == to) continue;
          HttpResponse response = client.post(
              "/v1/transfers", to_body({{"from", from}, {"to", to}, {"amount", 1 + (t * 7 + i) % 50}, {"currency", "USD"}}),
              unique_idempotency_key("mesh"));
          statuses[t].push_back(response.status);
        }
      } catch (const std::exception& error) {
        errors[t] = error.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < thread_count; ++t) {
    EXPECT_EQ(errors[t], "");
    for (int status : statuses[t]) EXPECT_EQ(status, 201) << "thread " << t;
  }
  std::int64_t total = 0;
  for (const auto& account : accounts) {
    AccountState state = api().state(account);
    total += state.balance;
    EXPECT_EQ(static_cast<std::size_t>(state.version), api().all_entries(account).size());
  }
  EXPECT_EQ(total, 100'000 * account_count);
  EXPECT_BALANCED(api().trial_balance(), {"USD"});
}

}  // namespace
}  // namespace payd::api_test
