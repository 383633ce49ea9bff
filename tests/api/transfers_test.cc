// Deposits, transfers and entries (API.md, Resources; Conventions > Lists,
// Ids in the body).
#include <set>

#include "tests/api/api_test.h"

namespace payd::api_test {
namespace {

class TransfersApi : public PaydSuite {
 protected:
  static void SetUpTestSuite() { start_shared({}); }
  static void TearDownTestSuite() { stop_shared(); }

  // The data array of a list answer, after checking the list envelope.
  static boost::json::array list_data(const HttpResponse& response) {
    boost::json::value list = EXPECT_JSON(response, 200);
    EXPECT_EQ(string_at(list, "object"), "list") << response.body;
    EXPECT_TRUE(bool_at(list, "has_more").has_value()) << response.body;
    const boost::json::value* data = testing::find_path(list, "data");
    if (data == nullptr || !data->is_array()) {
      ADD_FAILURE() << "no data array: " << response.body;
      return {};
    }
    return data->get_array();
  }
};

TEST_F(TransfersApi, DepositCreditsTheAccountAndDebitsExternal) {
  std::string account = api().create_account();
  TrialBalance before = api().trial_balance();

  HttpResponse response = api().post("/v1/deposits", {{"account", account}, {"amount", 1000}, {"currency", "USD"}},
                                     unique_idempotency_key());
  boost::json::value deposit = EXPECT_JSON(response, 201);
  std::string deposit_id = string_at(deposit, "id").value_or("");
  EXPECT_TRUE(has_prefix(deposit_id, "dep_")) << response.body;
  EXPECT_EQ(string_at(deposit, "object"), "deposit");
  EXPECT_EQ(string_at(deposit, "account"), account);
  EXPECT_EQ(int_at(deposit, "amount"), 1000);
  EXPECT_EQ(string_at(deposit, "currency"), "USD");
  EXPECT_TRUE(is_rfc3339_utc(string_at(deposit, "created_at"))) << response.body;

  EXPECT_EQ(api().state(account), (AccountState{.balance = 1000, .held = 0, .available = 1000, .version = 1}));

  TrialBalance after = api().trial_balance();
  EXPECT_BALANCED(after, {"USD"});
  auto external_before = before.system_account("USD", "external");
  auto external_after = after.system_account("USD", "external");
  ASSERT_TRUE(external_after.has_value()) << "no USD external account in " << after.raw;
  std::int64_t was = external_before ? external_before->balance : 0;
  EXPECT_EQ(external_after->balance, was - 1000) << "the deposit debits the external account";
  boost::json::value external = api().account(external_after->id);
  EXPECT_EQ(int_at(external, "balance"), external_after->balance);
}

TEST_F(TransfersApi, DepositEntry) {
  std::string account = api().create_account();
  std::string deposit = api().deposit(account, 1234);
  boost::json::array entries = list_data(api().get("/v1/accounts/" + account + "/entries"));
  ASSERT_EQ(entries.size(), 1u);
  const boost::json::value& entry = entries[0];
  EXPECT_TRUE(has_prefix(string_at(entry, "id"), "ent_"));
  EXPECT_EQ(string_at(entry, "object"), "entry");
  EXPECT_EQ(string_at(entry, "account"), account);
  EXPECT_EQ(string_at(entry, "transfer"), deposit);
  EXPECT_EQ(int_at(entry, "amount"), 1234);
  EXPECT_EQ(string_at(entry, "currency"), "USD");
  EXPECT_EQ(int_at(entry, "balance_after"), 1234);
  EXPECT_EQ(int_at(entry, "sequence"), 1);
  EXPECT_TRUE(is_rfc3339_utc(string_at(entry, "created_at")));
}

TEST_F(TransfersApi, TransferMovesMoneyBetweenAccounts) {
  std::string from = api().funded_account(1000);
  std::string to = api().create_account();

  HttpResponse response = api().post(
      "/v1/transfers", {{"from", from}, {"to", to}, {"amount", 300}, {"currency", "USD"}, {"description", "rent"}},
      unique_idempotency_key());
  boost::json::value transfer = EXPECT_JSON(response, 201);
  std::string id = string_at(transfer, "id").value_or("");
  EXPECT_TRUE(has_prefix(id, "tr_")) << response.body;
  EXPECT_EQ(string_at(transfer, "object"), "transfer");
  EXPECT_EQ(string_at(transfer, "from"), from);
  EXPECT_EQ(string_at(transfer, "to"), to);
  EXPECT_EQ(int_at(transfer, "amount"), 300);
  EXPECT_EQ(string_at(transfer, "currency"), "USD");
  EXPECT_EQ(string_at(transfer, "status"), "posted");
  EXPECT_TRUE(is_rfc3339_utc(string_at(transfer, "created_at"))) << response.body;

  EXPECT_EQ(api().state(from), (AccountState{.balance = 700, .held = 0, .available = 700, .version = 2}));
  EXPECT_EQ(api().state(to), (AccountState{.balance = 300, .held = 0, .available = 300, .version = 1}));

  HttpResponse read = api().get("/v1/transfers/" + id);
  EXPECT_EQ(EXPECT_JSON(read, 200), transfer) << "created: " << response.body << "\nread: " << read.body;
  EXPECT_BALANCED(api().trial_balance(), {"USD"});
}

TEST_F(TransfersApi, EntriesAreSignedNewestFirstWithRunningBalance) {
  std::string from = api().funded_account(1000);
  std::string to = api().create_account();
  std::string first = api().transfer(from, to, 300);
  std::string second = api().transfer(to, from, 100);

  boost::json::array entries = list_data(api().get("/v1/accounts/" + from + "/entries"));
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(string_at(entries[0], "transfer"), second);
  EXPECT_EQ(int_at(entries[0], "amount"), 100);
  EXPECT_EQ(int_at(entries[0], "balance_after"), 800);
  EXPECT_EQ(int_at(entries[0], "sequence"), 3);
  EXPECT_EQ(string_at(entries[1], "transfer"), first);
  EXPECT_EQ(int_at(entries[1], "amount"), -300);
  EXPECT_EQ(int_at(entries[1], "balance_after"), 700);
  EXPECT_EQ(int_at(entries[1], "sequence"), 2);
  EXPECT_EQ(int_at(entries[2], "amount"), 1000);
  EXPECT_EQ(int_at(entries[2], "balance_after"), 1000);
  EXPECT_EQ(int_at(entries[2], "sequence"), 1);

  boost::json::array to_entries = list_data(api().get("/v1/accounts/" + to + "/entries"));
  ASSERT_EQ(to_entries.size(), 2u);
  EXPECT_EQ(int_at(to_entries[0], "amount"), -100);
  EXPECT_EQ(int_at(to_entries[0], "balance_after"), 200);
  EXPECT_EQ(int_at(to_entries[1], "amount"), 300);
  EXPECT_EQ(int_at(to_entries[1], "balance_after"), 300);
  EXPECT_EQ(api().state(from).version, 3);
  EXPECT_EQ(api().state(to).version, 2);
}

TEST_F(TransfersApi, EntriesPageWithLimitAndStartingAfter) {
  std::string account = api().create_account();
  for (int amount = 1; amount <= 5; ++amount) api().deposit(account, amount);
  const std::string base = "/v1/accounts/" + account + "/entries";

  HttpResponse first = api().get(base + "?limit=2");
  boost::json::array page = list_data(first);
  ASSERT_EQ(page.size(), 2u) << first.body;
  EXPECT_EQ(bool_at(json_of(first), "has_more"), true);
  EXPECT_EQ(int_at(page[0], "sequence"), 5);
  EXPECT_EQ(int_at(page[1], "sequence"), 4);

  std::string cursor = string_at(page[1], "id").value_or("");
  HttpResponse second = api().get(base + "?limit=2&starting_after=" + cursor);
  page = list_data(second);
  ASSERT_EQ(page.size(), 2u) << second.body;
  EXPECT_EQ(bool_at(json_of(second), "has_more"), true);
  EXPECT_EQ(int_at(page[0], "sequence"), 3);
  EXPECT_EQ(int_at(page[1], "sequence"), 2);

  cursor = string_at(page[1], "id").value_or("");
  HttpResponse third = api().get(base + "?limit=2&starting_after=" + cursor);
  page = list_data(third);
  ASSERT_EQ(page.size(), 1u) << third.body;
  EXPECT_EQ(bool_at(json_of(third), "has_more"), false);
  EXPECT_EQ(int_at(page[0], "sequence"), 1);
  EXPECT_EQ(int_at(page[0], "amount"), 1);

  HttpResponse exact = api().get(base + "?limit=5");
  EXPECT_EQ(list_data(exact).size(), 5u);
  EXPECT_EQ(bool_at(json_of(exact), "has_more"), false) << "no more entries after the fifth: " << exact.body;
}

TEST_F(TransfersApi, EntriesDefaultLimitIs20AndMaxIs100) {
  std::string account = api().create_account();
  for (int i = 0; i < 22; ++i) api().deposit(account, 1);
  const std::string base = "/v1/accounts/" + account + "/entries";

  HttpResponse by_default = api().get(base);
  EXPECT_EQ(list_data(by_default).size(), 20u);
  EXPECT_EQ(bool_at(json_of(by_default), "has_more"), true);

  HttpResponse all = api().get(base + "?limit=100");
  EXPECT_EQ(list_data(all).size(), 22u);
  EXPECT_EQ(bool_at(json_of(all), "has_more"), false);

  for (const char* limit : {"0", "101", "-1", "abc", "1.5"}) {
    SCOPED_TRACE(limit);
    EXPECT_PROBLEM(api().get(base + "?limit=" + limit), 400, "invalid_request", "limit");
  }
}

TEST_F(TransfersApi, UnknownTransferIs404) {
  EXPECT_PROBLEM(api().get("/v1/transfers/tr_000000000000000000000000"), 404, "not_found");
  EXPECT_PROBLEM(api().get("/v1/transfers/nope"), 404, "not_found");
}

TEST_F(TransfersApi, InsufficientFundsIs402AndChangesNothing) {
  std::string from = api().funded_account(100);
  std::string to = api().create_account();
  Snapshot before = api().snapshot({from, to});

  HttpResponse response = api().post("/v1/transfers", {{"from", from}, {"to", to}, {"amount", 101}, {"currency", "USD"}},
                                     unique_idempotency_key());
  EXPECT_PROBLEM(response, 402, "insufficient_funds", "amount");
  EXPECT_EQ(api().snapshot({from, to}), before);

  api().transfer(from, to, 100);
  EXPECT_EQ(api().state(from), (AccountState{.balance = 0, .held = 0, .available = 0, .version = 2}));
  EXPECT_EQ(api().state(to).balance, 100);
}

TEST_F(TransfersApi, OverdraftLimitIsHonoured) {
  std::string from = api().funded_account(100, "USD", {{"overdraft_limit", 50}});
  std::string to = api().create_account();
  EXPECT_EQ(api().state(from).available, 150);

  EXPECT_PROBLEM(api().post("/v1/transfers", {{"from", from}, {"to", to}, {"amount", 151}, {"currency", "USD"}},
                            unique_idempotency_key()),
                 402, "insufficient_funds", "amount");
  api().transfer(from, to, 150);
  EXPECT_EQ(api().state(from), (AccountState{.balance = -50, .held = 0, .available = 0, .version = 2}));
  EXPECT_PROBLEM(api().post("/v1/transfers", {{"from", from}, {"to", to}, {"amount", 1}, {"currency", "USD"}},
                            unique_idempotency_key()),
                 402, "insufficient_funds", "amount");
  EXPECT_EQ(api().state(from).balance, -50);
  EXPECT_BALANCED(api().trial_balance(), {"USD"});
}

TEST_F(TransfersApi, CurrencyMismatchNamesTheAccount) {
  std::string usd = api().funded_account(1000, "USD");
  std::string eur = api().funded_account(1000, "EUR");
  Snapshot before = api().snapshot({usd, eur});
  EXPECT_PROBLEM(api().post("/v1/transfers", {{"from", usd}, {"to", eur}, {"amount", 10}, {"currency", "USD"}},
                            unique_idempotency_key()),
                 400, "invalid_request", "to");
  EXPECT_PROBLEM(api().post("/v1/transfers", {{"from", eur}, {"to", usd}, {"amount", 10}, {"currency", "USD"}},
                            unique_idempotency_key()),
                 400, "invalid_request", "from");
  EXPECT_PROBLEM(api().post("/v1/deposits", {{"account", eur}, {"amount", 10}, {"currency", "USD"}},
                            unique_idempotency_key()),
                 400, "invalid_request", "account");
  EXPECT_EQ(api().snapshot({usd, eur}), before);
}

TEST_F(TransfersApi, SameAccountOnBothSidesIsRejected) {
  std::string account = api().funded_account(1000);
  Snapshot before = api().snapshot({account});
  HttpResponse response = api().post(
      "/v1/transfers", {{"from", account}, {"to", account}, {"amount", 10}, {"currency", "USD"}}, unique_idempotency_key());
  boost::json::value problem = EXPECT_PROBLEM(response, 400, "invalid_request");
  auto param = string_at(problem, "param");
  EXPECT_TRUE(param == "to" || param == "from") << response.body;
  EXPECT_EQ(api().snapshot({account}), before);
}

TEST_F(TransfersApi, UnknownOrWrongKindIdsInTheBodyAre400WithParam) {
  std::string account = api().funded_account(1000);
  std::string other = api().create_account();
  std::string transfer = api().transfer(account, other, 1);
  const std::string missing = "acct_000000000000000000000000";
  Snapshot before = api().snapshot({account, other});

  EXPECT_PROBLEM(api().post("/v1/transfers", {{"from", missing}, {"to", other}, {"amount", 10}, {"currency", "USD"}},
                            unique_idempotency_key()),
                 400, "invalid_request", "from");
  EXPECT_PROBLEM(api().post("/v1/transfers", {{"from", account}, {"to", missing}, {"amount", 10}, {"currency", "USD"}},
                            unique_idempotency_key()),
                 400, "invalid_request", "to");
  EXPECT_PROBLEM(api().post("/v1/transfers", {{"from", account}, {"to", transfer}, {"amount", 10}, {"currency", "USD"}},
                            unique_idempotency_key()),
                 400, "invalid_request", "to");
  EXPECT_PROBLEM(api().post("/v1/transfers", {{"from", account}, {"to", "garbage"}, {"amount", 10}, {"currency", "USD"}},
                            unique_idempotency_key()),
                 400, "invalid_request", "to");
  EXPECT_PROBLEM(api().post("/v1/deposits", {{"account", missing}, {"amount", 10}, {"currency", "USD"}},
                            unique_idempotency_key()),
                 400, "invalid_request", "account");
  EXPECT_EQ(api().snapshot({account, other}), before);
}

TEST_F(TransfersApi, LargestAmountIsAccepted) {
  std::string account = api().create_account();
  api().deposit(account, amount_max);
  EXPECT_EQ(api().state(account).balance, amount_max);
  EXPECT_BALANCED(api().trial_balance(), {"USD"});
}

TEST_F(TransfersApi, ZeroDecimalCurrency) {
  std::string from = api().funded_account(5000, "JPY");
  std::string to = api().create_account("JPY");
  api().transfer(from, to, 1234, "JPY");
  EXPECT_EQ(api().state(from).balance, 3766);
  EXPECT_EQ(api().state(to).balance, 1234);
  EXPECT_BALANCED(api().trial_balance(), {"JPY"});
}

}  // namespace
}  // namespace payd::api_test
