// Graceful shutdown: SIGTERM ends payd with status 0 and keeps the data.
#include "tests/api/api_test.h"

namespace payd::api_test {
namespace {

TEST(Shutdown, SigtermExitsZeroAndDataPersists) {
  std::unique_ptr<PaydProcess> payd = start_payd({});
  std::string account;
  std::string key = unique_idempotency_key("shutdown");
  std::string deposit_body;
  {
    Api api(payd->port());
    account = api.create_account();
    deposit_body = to_body({{"account", account}, {"amount", 1234}, {"currency", "USD"}});
    HttpResponse deposit = api.post("/v1/deposits", deposit_body, key);
    ASSERT_EQ(deposit.status, 201) << deposit.body;
    deposit_body = deposit.body;

    // An idle keep-alive connection must not hold the shutdown up.
    EXPECT_EQ(api.get("/healthz").status, 200);
    auto started = std::chrono::steady_clock::now();
    int status = payd->terminate(10'000);
    auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(status, 0) << "SIGTERM is a graceful shutdown; log:\n" << payd->log_tail();
    EXPECT_LT(took, std::chrono::seconds(5)) << "shutdown took too long";
  }

  testing::CommandResult verified = payd->verify();
  EXPECT_EQ(verified.exit_code, 0) << verified.output;

  payd->restart();
  Api api(payd->port());
  EXPECT_EQ(api.state(account), (AccountState{.balance = 1234, .held = 0, .available = 1234, .version = 1}));
  HttpResponse replay =
      api.post("/v1/deposits", to_body({{"account", account}, {"amount", 1234}, {"currency", "USD"}}), key);
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(replay.header("idempotent-replayed"), "true");
  EXPECT_EQ(replay.body, deposit_body) << "the stored outcome survives the restart";
  EXPECT_EQ(api.state(account).version, 1);
}

}  // namespace
}  // namespace payd::api_test
