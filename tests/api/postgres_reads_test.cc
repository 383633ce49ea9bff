// The HTTP reads of payd on PostgreSQL run on the event loop without
// blocking it: a read that waits on the database holds up no other request,
// and reads while the database is down are answered 503 `unavailable`, then
// served again once it is back, without restarting payd. Run by the
// conformance run (PAYD_TEST_LEDGER=postgresql); skipped on SQLite.
#include "tests/api/api_test.h"

#include <chrono>
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

// Payd's statements waiting for a lock, seen from another connection.
std::int64_t reads_waiting_on_a_lock(Connection& observer) {
  return observer
      .query("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'payd' AND wait_event_type = 'Lock'",
             Parameters())
      .integer(0, 0);
}

TEST_F(PostgresReads, ReadWaitingOnALockHoldsUpNoOtherRequest) {
  Api api(payd_->port());
  std::string account = api.funded_account(500);
  ASSERT_FALSE(account.empty());

  Connection locker(url_, 5);
  locker.execute("BEGIN; LOCK TABLE balances IN ACCESS EXCLUSIVE MODE");
  std::future<HttpResponse> read = std::async(std::launch::async, [&] {
    Api reader(payd_->port());
    return reader.get("/v1/accounts/" + account);
  });
  Connection observer(url_, 5);
  ASSERT_TRUE(eventually([&] { return reads_waiting_on_a_lock(observer) == 1; }, milliseconds(4'000)))
      << "the account read never reached the locked table";

  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(api.get("/healthz").status, 200);
  EXPECT_EQ(api.get("/problems/not_found").status, 200);
  auto elapsed = std::chrono::steady_clock::now() - started;
  // A blocked event loop would hold them until the read's 5 s statement
  // timeout; the bound leaves room for a busy machine.
  EXPECT_LT(elapsed, milliseconds(2'000)) << "requests that need no database waited for the locked read";
  EXPECT_EQ(read.wait_for(milliseconds(0)), std::future_status::timeout) << "the read did not wait for the lock";

  locker.execute("ROLLBACK");
  ASSERT_EQ(read.wait_for(milliseconds(3'000)), std::future_status::ready);
  HttpResponse answered = read.get();
  boost::json::value body = EXPECT_JSON(answered, 200);
  EXPECT_EQ(string_at(body, "id"), account);
  EXPECT_EQ(int_at(body, "balance"), 500);
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
