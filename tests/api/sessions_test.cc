// Checkout sessions (API.md): made in the cache with a 15-minute TTL, and
// consumed exactly once by the payment that matches them.
#include "tests/api/api_test.h"

#include <atomic>
#include <thread>

namespace payd::api_test {
namespace {

class Sessions : public PaydSuite {
 protected:
  static void SetUpTestSuite() { start_shared({"--rate-limits", "off"}); }
  static void TearDownTestSuite() { stop_shared(); }

  std::string merchant() { return string_at(api().create_merchant(), "id").value_or(""); }
  std::string open_session(const std::string& merchant_id, std::int64_t amount, const std::string& customer = "") {
    boost::json::object body{{"merchant", merchant_id}, {"amount", amount}, {"currency", "USD"}};
    if (!customer.empty()) body["customer"] = customer;
    boost::json::value session = EXPECT_JSON(api().post("/v1/sessions", body), 201);
    EXPECT_EQ(string_at(session, "status"), "open");
    EXPECT_TRUE(is_rfc3339_utc(string_at(session, "expires_at")));
    return string_at(session, "id").value_or("");
  }
  HttpResponse pay(const std::string& merchant_id, const std::string& account, std::int64_t amount,
                   const std::string& session) {
    boost::json::object body{{"amount", amount}, {"currency", "USD"}, {"merchant", merchant_id},
                             {"account", account}, {"session", session}};
    return api().post("/v1/payments", body, unique_idempotency_key());
  }
};

TEST_F(Sessions, OpenSessionCanBeReadUntilConsumed) {
  std::string merchant_id = merchant();
  std::string customer = api().funded_account(10'000);
  std::string session = open_session(merchant_id, 500, customer);
  ASSERT_TRUE(has_prefix(session, "cs_"));
  EXPECT_JSON(api().get("/v1/sessions/" + session), 200);

  EXPECT_JSON(pay(merchant_id, customer, 500, session), 201);
  EXPECT_PROBLEM(api().get("/v1/sessions/" + session), 404, "not_found");
  EXPECT_PROBLEM(pay(merchant_id, customer, 500, session), 400, "invalid_request", "session");
  EXPECT_EQ(api().state(customer).balance, 9'500);
}

TEST_F(Sessions, MismatchIsRefusedAndDoesNotConsume) {
  std::string merchant_id = merchant();
  std::string customer = api().funded_account(10'000);
  std::string other = api().funded_account(10'000);
  std::string session = open_session(merchant_id, 500, customer);
  EXPECT_PROBLEM(pay(merchant_id, customer, 499, session), 400, "invalid_request", "session");
  EXPECT_PROBLEM(pay(merchant_id, other, 500, session), 400, "invalid_request", "session");
  EXPECT_JSON(api().get("/v1/sessions/" + session), 200);
  EXPECT_EQ(api().state(customer).balance, 10'000);
}

TEST_F(Sessions, RefusedPaymentLeavesTheSessionOpen) {
  std::string merchant_id = merchant();
  std::string poor = api().create_account();
  std::string session = open_session(merchant_id, 500, poor);
  EXPECT_PROBLEM(pay(merchant_id, poor, 500, session), 402, "insufficient_funds");
  EXPECT_JSON(api().get("/v1/sessions/" + session), 200);
}

TEST_F(Sessions, ConcurrentPaymentsConsumeASessionOnce) {
  std::string merchant_id = merchant();
  std::string customer = api().funded_account(100'000);
  std::string session = open_session(merchant_id, 700, customer);
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      Api own(port());
      boost::json::object body{{"amount", 700}, {"currency", "USD"}, {"merchant", merchant_id},
                               {"account", customer}, {"session", session}};
      if (own.post("/v1/payments", body, unique_idempotency_key()).status == 201) ++created;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(api().state(customer).balance, 100'000 - 700);
}

TEST_F(Sessions, UnknownMerchantIsRefused) {
  EXPECT_PROBLEM(api().post("/v1/sessions", boost::json::object{{"merchant", "mer_unknown"}, {"amount", 5},
                                                                {"currency", "USD"}}),
                 400, "invalid_request", "merchant");
}

}  // namespace
}  // namespace payd::api_test
