// Operations endpoints (API.md, Operations).
#include <sstream>

#include "tests/api/api_test.h"

namespace payd::api_test {
namespace {

class Operations : public PaydSuite {
 protected:
  static void SetUpTestSuite() { start_shared({}); }
  static void TearDownTestSuite() { stop_shared(); }
};

TEST_F(Operations, Healthz) { EXPECT_EQ(api().get("/healthz").status, 200); }

TEST_F(Operations, ReadyzIsOkWithComponents) {
  HttpResponse response = api().get("/readyz");
  boost::json::value ready = EXPECT_JSON(response, 200);
  EXPECT_EQ(string_at(ready, "status"), "ok") << response.body;
  const boost::json::value* components = testing::find_path(ready, "components");
  ASSERT_NE(components, nullptr) << response.body;
  EXPECT_TRUE(components->is_object()) << response.body;
}

TEST_F(Operations, MetricsCountHttpRequests) {
  for (int i = 0; i < 3; ++i) api().get("/healthz");
  HttpResponse response = api().get("/metrics");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.header("content-type").rfind("text/plain", 0), 0u)
      << "Prometheus text format, Content-Type: " << response.header("content-type");
  std::istringstream lines(response.body);
  std::string line;
  double total = 0;
  bool found = false;
  while (std::getline(lines, line)) {
    if (line.rfind("payd_http_requests_total", 0) != 0) continue;
    found = true;
    total += std::stod(line.substr(line.find_last_of(' ') + 1));
  }
  EXPECT_TRUE(found) << "no payd_http_requests_total sample in:\n" << response.body.substr(0, 2000);
  EXPECT_GE(total, 3) << "three requests were served before this scrape";
}

TEST_F(Operations, AdminStatusReportsTheMode) {
  HttpResponse response = api().get("/v1/admin/status");
  boost::json::value status = EXPECT_JSON(response, 200);
  auto mode = string_at(status, "mode");
  EXPECT_TRUE(mode == "normal" || mode == "degraded" || mode == "shedding") << response.body;
  EXPECT_EQ(mode, "normal") << "an idle payd is not shedding: " << response.body;
}

TEST_F(Operations, TrialBalanceSumsToZeroAndNamesTheBuiltInAccounts) {
  std::string usd = api().funded_account(5'000, "USD");
  std::string eur = api().funded_account(7'000, "EUR");
  api().transfer(usd, api().create_account("USD"), 1'000, "USD");
  TrialBalance balance = api().trial_balance();
  EXPECT_BALANCED(balance, {"USD", "EUR"});
  for (const std::string currency : {"USD", "EUR"}) {
    auto external = balance.system_account(currency, "external");
    ASSERT_TRUE(external.has_value()) << "no " << currency << " external account in " << balance.raw;
    EXPECT_TRUE(external->id.starts_with("acct_")) << balance.raw;
    EXPECT_EQ(int_at(api().account(external->id), "balance"), external->balance)
        << "the trial balance and the account agree";
  }
  EXPECT_EQ(balance.system_account("EUR", "external")->balance, -7'000);
}

TEST_F(Operations, LedgerVerifiesAfterTraffic) {
  std::string from = api().funded_account(10'000);
  std::string to = api().create_account();
  for (int i = 0; i < 10; ++i) api().transfer(from, to, 100 + i);
  testing::CommandResult verified = payd().verify();
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
}

}  // namespace
}  // namespace payd::api_test
