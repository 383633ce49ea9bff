// The HTTP reads of payd on PostgreSQL run on the event loop without
// blocking it: a read that waits on the database (for a GET, or to build a
// POST's command) holds up no other request,
// and reads while the database is down are answered 503 `unavailable`, then
// served again once it is back, without restarting payd. Run by the
// conformance run (PAYD_TEST_LEDGER=postgresql); skipped on SQLite.
#include "tests/api/api_test.h"

#include <chrono>
#include <functional>
#include <future>

#include "ledger/postgres/connection.h"
#include "tests/support/eventually.h"

namespace payd::api_test {
namespace {

using payd::ledger::postgres::Connection;
using payd::ledger::postgres::Parameters;
using payd::testing::eventually;
using std::chrono::milliseconds;

class PostgresReads : public ::testing::Test {
 protected:
  void SetUp() override {
    std::optional<std::string> url = new_postgres_database();
    if (!url) GTEST_SKIP() << "needs the PostgreSQL ledger (PAYD_TEST_LEDGER=postgresql)";
    url_ = *url;
    // One event loop thread: a read that blocked it would hold up everything.
    payd_ = start_payd_on(url_, {"--rate-limits", "off", "--threads", "1"});
  }

  std::string url_;
  std::unique_ptr<PaydProcess> payd_;
};

// Payd's statements reading one row of `table` by id (not the recovery
// worker's scans) that wait for a lock, seen from another connection.
std::int64_t reads_waiting_on_a_lock(Connection& observer, const std::string& table) {
  return observer
      .query("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'payd' AND wait_event_type = 'Lock' "
             "AND query LIKE '%FROM ' || $1 || ' WHERE id = %'",
             Parameters().add(table))
      .integer(0, 0);
}

// Sends `request` while `locked_table` is locked, with `read_table` the
// table its read waits on (a view over the locked one, or itself). Checks
// that requests which need no database are answered meanwhile, then
// unlocks and returns the request's answer.
HttpResponse answer_while_locked(const std::string& url, std::uint16_t port, const std::string& locked_table,
                                 const std::string& read_table, const std::function<HttpResponse(Api&)>& request) {
  Api api(port);
  // Readiness reads the database: a read connection is up with its
  // statements prepared, so what waits on the lock is the request's read
  // and not the preparing of a new connection.
  EXPECT_EQ(api.get("/readyz").status, 200);
  Connection locker(url, 5);
  locker.execute("BEGIN; LOCK TABLE " + locked_table + " IN ACCESS EXCLUSIVE MODE");
  std::future<HttpResponse> waiting = std::async(std::launch::async, [&] {
    Api client(port);
    return request(client);
  });
  Connection observer(url, 5);
  EXPECT_TRUE(eventually([&] { return reads_waiting_on_a_lock(observer, read_table) == 1; }, milliseconds(4'000)))
      << "the request's read never reached the locked table " << locked_table;

  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(api.get("/healthz").status, 200);
  EXPECT_EQ(api.get("/problems/not_found").status, 200);
  auto elapsed = std::chrono::steady_clock::now() - started;
  // A blocked event loop would hold them until the read's 5 s statement
  // timeout; the bound leaves room for a busy machine.
  EXPECT_LT(elapsed, milliseconds(2'000)) << "requests that need no database waited for the locked read";
  EXPECT_EQ(waiting.wait_for(milliseconds(0)), std::future_status::timeout)
      << "the request did not wait for the lock";

  locker.execute("ROLLBACK");
  EXPECT_EQ(waiting.wait_for(milliseconds(3'000)), std::future_status::ready);
  return waiting.get();
}

TEST_F(PostgresReads, ReadWaitingOnALockHoldsUpNoOtherRequest) {
  Api api(payd_->port());
  std::string account = api.funded_account(500);
  ASSERT_FALSE(account.empty());

  HttpResponse answered = answer_while_locked(url_, payd_->port(), "balances", "accounts",
                                              [&](Api& client) { return client.get("/v1/accounts/" + account); });
  boost::json::value body = EXPECT_JSON(answered, 200);
  EXPECT_EQ(string_at(body, "id"), account);
  EXPECT_EQ(int_at(body, "balance"), 500);
}

// The reads that build a POST's command (here the merchant, for the FX
// check) wait off the event loop too.
TEST_F(PostgresReads, PaymentWaitingOnAMerchantReadHoldsUpNoOtherRequest) {
  Api api(payd_->port());
  std::string customer = api.funded_account(500);
  std::string merchant = string_at(api.create_merchant(), "id").value_or("");
  ASSERT_FALSE(customer.empty());
  ASSERT_FALSE(merchant.empty());

  boost::json::object payment{{"amount", 200}, {"currency", "USD"}, {"merchant", merchant}, {"account", customer}};
  HttpResponse answered = answer_while_locked(url_, payd_->port(), "merchants", "merchants", [&](Api& client) {
    return client.post("/v1/payments", payment, unique_idempotency_key("pay"));
  });
  boost::json::value body = EXPECT_JSON(answered, 201);
  EXPECT_EQ(string_at(body, "status"), "captured");
  EXPECT_EQ(api.state(customer).balance, 300);
}

TEST_F(PostgresReads, CaptureWaitingOnAPaymentReadHoldsUpNoOtherRequest) {
  Api api(payd_->port());
  std::string customer = api.funded_account(500);
  std::string merchant = string_at(api.create_merchant(), "id").value_or("");
  boost::json::object authorize{
      {"amount", 200}, {"currency", "USD"}, {"merchant", merchant}, {"account", customer}, {"capture", false}};
  std::string payment =
      string_at(EXPECT_JSON(api.post("/v1/payments", authorize, unique_idempotency_key("pay")), 201), "id")
          .value_or("");
  ASSERT_FALSE(payment.empty());

  HttpResponse answered = answer_while_locked(url_, payd_->port(), "payments", "payments", [&](Api& client) {
    return client.post("/v1/payments/" + payment + "/capture", boost::json::object{},
                       unique_idempotency_key("capture"));
  });
  boost::json::value body = EXPECT_JSON(answered, 200);
  EXPECT_EQ(string_at(body, "status"), "captured");
  EXPECT_EQ(int_at(body, "amount_captured"), 200);
}

TEST_F(PostgresReads, ReadsWhileTheDatabaseIsDownAre503ThenServedAgainWithoutARestart) {
  Api api(payd_->port());
  std::string from = api.funded_account(500);
  std::string to = api.create_account();
  std::string transfer = api.transfer(from, to, 200);
  std::string merchant = string_at(api.create_merchant(), "id").value_or("");
  ASSERT_FALSE(transfer.empty());
  ASSERT_FALSE(merchant.empty());
  std::vector<std::string> reads = {"/v1/accounts/" + from, "/v1/accounts/" + from + "/entries",
                                    "/v1/transfers/" + transfer, "/v1/payments?merchant=" + merchant};
  for (const std::string& target : reads) EXPECT_JSON(api.get(target), 200);

  postgres_server()->stop_immediate();
  for (const std::string& target : reads) {
    for (int attempt = 0; attempt < 3; ++attempt) EXPECT_PROBLEM(api.get(target), 503, "unavailable");
  }
  EXPECT_EQ(api.get("/healthz").status, 200);
  EXPECT_EQ(api.get("/readyz").status, 503);

  postgres_server()->start();
  // payd reconnects after its backoff (at most 2 s between attempts).
  EXPECT_TRUE(eventually([&] { return api.get(reads.front()).status == 200; }, milliseconds(15'000)));
  for (const std::string& target : reads) EXPECT_JSON(api.get(target), 200);
  EXPECT_EQ(api.state(from).balance, 300);
  EXPECT_TRUE(payd_->running());
}

}  // namespace
}  // namespace payd::api_test
