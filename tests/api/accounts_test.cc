// Accounts (API.md, Resources > Accounts; Conventions > Ids, Metadata).
#include <set>

#include "tests/api/api_test.h"

namespace payd::api_test {
namespace {

class AccountsApi : public PaydSuite {
 protected:
  static void SetUpTestSuite() { start_shared({}); }
  static void TearDownTestSuite() { stop_shared(); }
};

TEST_F(AccountsApi, CreateWithDefaults) {
  HttpResponse response = api().post("/v1/accounts", R"({"currency":"USD"})");
  boost::json::value account = EXPECT_JSON(response, 201);
  EXPECT_TRUE(has_prefix(string_at(account, "id"), "acct_")) << response.body;
  EXPECT_EQ(string_at(account, "object"), "account");
  EXPECT_EQ(string_at(account, "currency"), "USD");
  EXPECT_EQ(string_at(account, "type"), "customer");
  EXPECT_EQ(int_at(account, "balance"), 0);
  EXPECT_EQ(int_at(account, "held"), 0);
  EXPECT_EQ(int_at(account, "available"), 0);
  EXPECT_EQ(int_at(account, "overdraft_limit"), 0);
  EXPECT_EQ(int_at(account, "version"), 0);
  EXPECT_TRUE(is_rfc3339_utc(string_at(account, "created_at"))) << response.body;
  const boost::json::value* metadata = testing::find_path(account, "metadata");
  ASSERT_NE(metadata, nullptr) << response.body;
  ASSERT_TRUE(metadata->is_object()) << response.body;
  EXPECT_TRUE(metadata->get_object().empty()) << response.body;
}

TEST_F(AccountsApi, GetReturnsTheCreatedAccount) {
  HttpResponse created = api().post("/v1/accounts", R"({"currency":"EUR","type":"merchant"})");
  boost::json::value account = EXPECT_JSON(created, 201);
  std::string id = string_at(account, "id").value_or("");
  ASSERT_FALSE(id.empty());

  HttpResponse read = api().get("/v1/accounts/" + id);
  boost::json::value again = EXPECT_JSON(read, 200);
  EXPECT_EQ(again, account) << "created: " << created.body << "\nread: " << read.body;
  EXPECT_EQ(string_at(again, "type"), "merchant");
  EXPECT_EQ(string_at(again, "currency"), "EUR");
}

TEST_F(AccountsApi, TypesAndOverdraftLimit) {
  for (const char* type : {"customer", "merchant", "internal"}) {
    HttpResponse response = api().post("/v1/accounts", {{"currency", "USD"}, {"type", type}});
    boost::json::value account = EXPECT_JSON(response, 201);
    EXPECT_EQ(string_at(account, "type"), type);
  }
  HttpResponse response = api().post("/v1/accounts", {{"currency", "USD"}, {"overdraft_limit", 500}});
  boost::json::value account = EXPECT_JSON(response, 201);
  EXPECT_EQ(int_at(account, "overdraft_limit"), 500);
  EXPECT_EQ(int_at(account, "balance"), 0);
  EXPECT_EQ(int_at(account, "available"), 500) << "available = balance - held + overdraft_limit";
}

TEST_F(AccountsApi, InvalidFieldsAreRejectedWithTheirParam) {
  struct Case {
    const char* body;
    const char* param;
  };
  for (const Case& c : {Case{R"({})", "currency"}, Case{R"({"currency":"usd"})", "currency"},
                        Case{R"({"currency":"ABC"})", "currency"}, Case{R"({"currency":"XXX"})", "currency"},
                        Case{R"({"currency":"XAU"})", "currency"}, Case{R"({"currency":840})", "currency"},
                        Case{R"({"currency":"USD","type":"savings"})", "type"},
                        Case{R"({"currency":"USD","type":"Customer"})", "type"},
                        Case{R"({"currency":"USD","overdraft_limit":-1})", "overdraft_limit"},
                        Case{R"({"currency":"USD","overdraft_limit":1.5})", "overdraft_limit"},
                        Case{R"({"currency":"USD","overdraft_limit":"100"})", "overdraft_limit"},
                        Case{R"({"currency":"USD","metadata":"note"})", "metadata"}}) {
    SCOPED_TRACE(c.body);
    EXPECT_PROBLEM(api().post("/v1/accounts", std::string(c.body)), 400, "invalid_request", std::string(c.param));
  }
}

TEST_F(AccountsApi, UnknownIdIs404) {
  for (const char* target :
       {"/v1/accounts/acct_000000000000000000000000", "/v1/accounts/acct_nope", "/v1/accounts/mer_000000000000000000000000",
        "/v1/accounts/acct_000000000000000000000000/entries"}) {
    SCOPED_TRACE(target);
    EXPECT_PROBLEM(api().get(target), 404, "not_found");
  }
}

TEST_F(AccountsApi, IdsAreUniqueAndSortByCreationTime) {
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) ids.push_back(api().create_account());
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size());
  for (std::size_t i = 1; i < ids.size(); ++i) EXPECT_LT(ids[i - 1], ids[i]) << "ids must sort by creation time";
}

TEST_F(AccountsApi, MetadataRoundTrips) {
  boost::json::object metadata = {{"order", "42"}, {"note", "caf\xc3\xa9 \"quoted\""}, {"empty", ""}};
  HttpResponse created = api().post("/v1/accounts", {{"currency", "USD"}, {"metadata", metadata}});
  boost::json::value account = EXPECT_JSON(created, 201);
  const boost::json::value* echoed = testing::find_path(account, "metadata");
  ASSERT_NE(echoed, nullptr) << created.body;
  EXPECT_EQ(*echoed, boost::json::value(metadata)) << created.body;

  boost::json::value read = api().account(string_at(account, "id").value_or(""));
  const boost::json::value* stored = testing::find_path(read, "metadata");
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(*stored, boost::json::value(metadata));
}

TEST_F(AccountsApi, MetadataAtItsLimitsIsAccepted) {
  boost::json::object twenty_keys;
  for (int i = 0; i < 20; ++i) twenty_keys["key" + std::to_string(i)] = "value";
  EXPECT_JSON(api().post("/v1/accounts", {{"currency", "USD"}, {"metadata", twenty_keys}}), 201);

  boost::json::object longest = {{std::string(40, 'k'), std::string(500, 'v')}};
  HttpResponse response = api().post("/v1/accounts", {{"currency", "USD"}, {"metadata", longest}});
  boost::json::value account = EXPECT_JSON(response, 201);
  EXPECT_EQ(string_at(account, "metadata." + std::string(40, 'k')), std::string(500, 'v'));
}

TEST_F(AccountsApi, MetadataOverItsLimitsIsRejected) {
  boost::json::object twenty_one_keys;
  for (int i = 0; i < 21; ++i) twenty_one_keys["key" + std::to_string(i)] = "value";
  std::vector<boost::json::object> too_much = {
      twenty_one_keys,
      {{std::string(41, 'k'), "value"}},
      {{"key", std::string(501, 'v')}},
      // 501 bytes in 251 two-byte characters less one: limits count bytes.
      {{"key", std::string("a") + [] {
          std::string text;
          for (int i = 0; i < 250; ++i) text += "\xc3\xa9";
          return text;
        }()}},
      {{"number", 1}},
      {{"nested", {{"a", "b"}}}},
      {{"null", nullptr}},
  };
  for (const auto& metadata : too_much) {
    SCOPED_TRACE(boost::json::serialize(metadata).substr(0, 200));
    HttpResponse response = api().post("/v1/accounts", {{"currency", "USD"}, {"metadata", metadata}});
    boost::json::value problem = EXPECT_PROBLEM(response, 400, "invalid_request");
    std::string param = string_at(problem, "param").value_or("");
    EXPECT_TRUE(param == "metadata" || param.starts_with("metadata.") || param.starts_with("metadata["))
        << "param: " << param;
  }
}

}  // namespace
}  // namespace payd::api_test
