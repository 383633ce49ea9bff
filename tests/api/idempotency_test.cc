// Idempotency (API.md, Idempotency): required keys, key syntax, replays,
// fingerprints, and which outcomes are stored.
#include "tests/api/api_test.h"

namespace payd::api_test {
namespace {

class Idempotency : public PaydSuite {
 protected:
  static void SetUpTestSuite() { start_shared({"--rate-limits", "off"}); }
  static void TearDownTestSuite() { stop_shared(); }

  // An authorised wallet payment of 500 from `customer`; returns its id.
  std::string authorized_payment(const std::string& customer, const std::string& merchant) {
    HttpResponse response = api().post(
        "/v1/payments",
        {{"amount", 500}, {"currency", "USD"}, {"merchant", merchant}, {"account", customer}, {"capture", false}},
        unique_idempotency_key("authorize"));
    boost::json::value payment = EXPECT_JSON(response, 201);
    EXPECT_EQ(string_at(payment, "status"), "authorized") << response.body;
    return string_at(payment, "id").value_or("");
  }
};

TEST_F(Idempotency, MissingKeyOnEachMoneyMovingPostIs400) {
  std::string customer = api().funded_account(10'000);
  std::string other = api().create_account();
  std::string merchant = string_at(api().create_merchant(), "id").value_or("");
  std::string payment = authorized_payment(customer, merchant);
  Snapshot before = api().snapshot({customer, other});

  struct Case {
    std::string path;
    boost::json::object body;
  };
  const std::vector<Case> cases = {
      {"/v1/deposits", {{"account", customer}, {"amount", 10}, {"currency", "USD"}}},
      {"/v1/transfers", {{"from", customer}, {"to", other}, {"amount", 10}, {"currency", "USD"}}},
      {"/v1/payments", {{"amount", 10}, {"currency", "USD"}, {"merchant", merchant}, {"account", customer}}},
      {"/v1/payments/" + payment + "/capture", {}},
      {"/v1/payments/" + payment + "/void", {}},
      {"/v1/payments/" + payment + "/refunds", {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    EXPECT_PROBLEM(api().post(c.path, c.body), 400, "idempotency_key_missing");
  }
  EXPECT_EQ(api().snapshot({customer, other}), before);
  EXPECT_EQ(string_at(api().payment(payment), "status"), "authorized");
}

TEST_F(Idempotency, KeyIsOptionalOnOtherPosts) {
  EXPECT_JSON(api().post("/v1/accounts", R"({"currency":"USD"})"), 201);
  api().create_merchant();
  api().tokenize_card("4242424242424242");
}

TEST_F(Idempotency, OptionalKeyIsHonouredOnOtherPosts) {
  struct Case {
    const char* path;
    boost::json::object body;
  };
  const std::vector<Case> cases = {
      {"/v1/accounts", {{"currency", "USD"}}},
      {"/v1/merchants", {{"name", "Keyed"}, {"settlement_currency", "USD"}, {"max_amount", 1'000}}},
      {"/v1/payment_methods",
       {{"type", "card"}, {"card", {{"number", "4242424242424242"}, {"exp_month", 12}, {"exp_year", 2034}}}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    const std::string key = unique_idempotency_key("optional");
    HttpResponse first = api().post(c.path, c.body, key);
    EXPECT_JSON(first, 201);
    HttpResponse second = api().post(c.path, c.body, key);
    EXPECT_EQ(second.status, 201);
    EXPECT_EQ(second.header("idempotent-replayed"), "true");
    EXPECT_EQ(second.body, first.body) << "the same key creates one object";
  }
}

TEST_F(Idempotency, InvalidKeysAre400AndChangeNothing) {
  std::string account = api().create_account();
  Snapshot before = api().snapshot({account});
  const std::string body = to_body({{"account", account}, {"amount", 10}, {"currency", "USD"}});
  for (const std::string& key : {std::string(""), std::string("\"\""), std::string(256, 'k'),
                                std::string("caf\xc3\xa9"), std::string("\x80\x81")}) {
    SCOPED_TRACE("key of " + std::to_string(key.size()) + " bytes: " + key.substr(0, 20));
    EXPECT_PROBLEM(api().post("/v1/deposits", body, key), 400, "idempotency_key_invalid");
  }
  EXPECT_EQ(api().snapshot({account}), before);

  std::string longest = std::string(240, 'k') + unique_idempotency_key("x").substr(0, 15);
  ASSERT_EQ(longest.size(), 255u);
  EXPECT_JSON(api().post("/v1/deposits", body, longest), 201);
  EXPECT_EQ(api().state(account).balance, 10);
}

TEST_F(Idempotency, ReplayReturnsTheStoredAnswerByteForByte) {
  std::string from = api().funded_account(1'000);
  std::string to = api().create_account();
  const std::string key = unique_idempotency_key();
  const boost::json::object body = {{"from", from}, {"to", to}, {"amount", 300}, {"currency", "USD"}};

  HttpResponse first = api().post("/v1/transfers", body, key);
  EXPECT_JSON(first, 201);
  EXPECT_NE(first.header("idempotent-replayed"), "true");
  Snapshot after_first = api().snapshot({from, to});

  api().deposit(to, 5);  // other activity in between changes nothing for the replay
  Snapshot after_deposit = api().snapshot({from, to});
  for (int i = 0; i < 3; ++i) {
    HttpResponse replay = api().post("/v1/transfers", body, key);
    EXPECT_EQ(replay.status, 201);
    EXPECT_EQ(replay.header("idempotent-replayed"), "true");
    EXPECT_EQ(replay.body, first.body);
  }
  EXPECT_EQ(api().snapshot({from, to}), after_deposit) << "a replay must not execute again";
  EXPECT_EQ(after_first.accounts[from], (AccountState{.balance = 700, .held = 0, .available = 700, .version = 2}));
  EXPECT_EQ(api().state(from).version, 2);
}

TEST_F(Idempotency, QuotedKeyIsTheSameKey) {
  std::string account = api().create_account();
  const std::string bare = unique_idempotency_key("quoted");
  const boost::json::object body = {{"account", account}, {"amount", 77}, {"currency", "USD"}};
  HttpResponse first = api().post("/v1/deposits", body, "\"" + bare + "\"");
  EXPECT_JSON(first, 201);
  HttpResponse second = api().post("/v1/deposits", body, bare);
  EXPECT_EQ(second.status, 201);
  EXPECT_EQ(second.header("idempotent-replayed"), "true");
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(api().state(account), (AccountState{.balance = 77, .held = 0, .available = 77, .version = 1}));
}

TEST_F(Idempotency, KeyOrderAndWhitespaceDoNotMatter) {
  std::string account = api().create_account();
  const std::string key = unique_idempotency_key();
  const std::string compact = R"({"account":")" + account + R"(","amount":5,"currency":"USD","metadata":{"a":"1","b":"2"}})";
  const std::string shuffled = "{\n  \"metadata\" : { \"b\":\"2\", \"a\":\"1\" },\n  \"currency\": \"USD\",\t\"amount\" : 5 ,\n"
                               "  \"account\": \"" + account + "\"\n}\n";
  HttpResponse first = api().post("/v1/deposits", compact, key);
  EXPECT_JSON(first, 201);
  HttpResponse second = api().post("/v1/deposits", shuffled, key);
  EXPECT_EQ(second.status, 201) << second.body;
  EXPECT_EQ(second.header("idempotent-replayed"), "true");
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(api().state(account).balance, 5);
}

TEST_F(Idempotency, SameKeyDifferentRequestIs422) {
  std::string from = api().funded_account(1'000);
  std::string to = api().create_account();
  const std::string key = unique_idempotency_key();
  const boost::json::object body = {{"from", from}, {"to", to}, {"amount", 100}, {"currency", "USD"}};
  HttpResponse first = api().post("/v1/transfers", body, key);
  EXPECT_JSON(first, 201);
  Snapshot before = api().snapshot({from, to});

  boost::json::object other_amount = body;
  other_amount["amount"] = 101;
  EXPECT_PROBLEM(api().post("/v1/transfers", other_amount, key), 422, "idempotency_key_reused");
  boost::json::object with_metadata = body;
  with_metadata["metadata"] = {{"x", "y"}};
  EXPECT_PROBLEM(api().post("/v1/transfers", with_metadata, key), 422, "idempotency_key_reused");
  // Any method or path: the same key on another endpoint is a different request.
  EXPECT_PROBLEM(api().post("/v1/deposits", {{"account", to}, {"amount", 100}, {"currency", "USD"}}, key), 422,
                 "idempotency_key_reused");
  EXPECT_EQ(api().snapshot({from, to}), before);

  HttpResponse replay = api().post("/v1/transfers", body, key);
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(replay.body, first.body) << "a 422 leaves the stored outcome alone";
}

TEST_F(Idempotency, RejectedBeforeExecutionIsNotStored) {
  std::string account = api().create_account();
  const boost::json::object good = {{"account", account}, {"amount", 10}, {"currency", "USD"}};

  const std::string after_400 = unique_idempotency_key();
  EXPECT_PROBLEM(api().post("/v1/deposits", R"({"account":")" + account + R"(","amount":"10","currency":"USD"})", after_400),
                 400, "invalid_request", "amount");
  HttpResponse fixed = api().post("/v1/deposits", good, after_400);
  EXPECT_JSON(fixed, 201);
  EXPECT_NE(fixed.header("idempotent-replayed"), "true");

  const std::string after_415 = unique_idempotency_key();
  EXPECT_PROBLEM(api().post("/v1/deposits", to_body(good), after_415, {{"Content-Type", "text/plain"}}), 415,
                 "unsupported_media_type");
  EXPECT_JSON(api().post("/v1/deposits", good, after_415), 201);

  const std::string after_404 = unique_idempotency_key();
  EXPECT_PROBLEM(api().post("/v1/payments/pay_000000000000000000000000/capture", R"({})", after_404), 404, "not_found");
  EXPECT_JSON(api().post("/v1/deposits", good, after_404), 201);

  EXPECT_EQ(api().state(account), (AccountState{.balance = 30, .held = 0, .available = 30, .version = 3}));
}

TEST_F(Idempotency, InsufficientFundsIsStored) {
  std::string from = api().create_account();
  std::string to = api().create_account();
  const std::string key = unique_idempotency_key();
  const boost::json::object body = {{"from", from}, {"to", to}, {"amount", 100}, {"currency", "USD"}};
  HttpResponse refused = api().post("/v1/transfers", body, key);
  EXPECT_PROBLEM(refused, 402, "insufficient_funds", "amount");

  api().deposit(from, 1'000);
  HttpResponse retry = api().post("/v1/transfers", body, key);
  EXPECT_EQ(retry.status, 402);
  EXPECT_EQ(retry.header("idempotent-replayed"), "true");
  EXPECT_EQ(retry.body, refused.body) << "a 402 is a decision about money and is replayed";
  EXPECT_EQ(api().state(from), (AccountState{.balance = 1'000, .held = 0, .available = 1'000, .version = 1}));
  EXPECT_EQ(api().state(to).version, 0);
}

TEST_F(Idempotency, InvalidStateIsStored) {
  std::string customer = api().funded_account(10'000);
  std::string merchant = string_at(api().create_merchant(), "id").value_or("");
  std::string payment = authorized_payment(customer, merchant);
  EXPECT_JSON(api().post("/v1/payments/" + payment + "/void", R"({})", unique_idempotency_key()), 200);

  const std::string key = unique_idempotency_key();
  HttpResponse refused = api().post("/v1/payments/" + payment + "/capture", R"({})", key);
  EXPECT_PROBLEM(refused, 409, "invalid_state");
  HttpResponse replay = api().post("/v1/payments/" + payment + "/capture", R"({})", key);
  EXPECT_EQ(replay.status, 409);
  EXPECT_EQ(replay.header("idempotent-replayed"), "true");
  EXPECT_EQ(replay.body, refused.body);
}

TEST_F(Idempotency, PaymentReplayDoesNotChargeTwice) {
  std::string customer = api().funded_account(10'000);
  std::string merchant = string_at(api().create_merchant(), "id").value_or("");
  const std::string key = unique_idempotency_key();
  const boost::json::object body = {{"amount", 1'000}, {"currency", "USD"}, {"merchant", merchant}, {"account", customer}};
  HttpResponse first = api().post("/v1/payments", body, key);
  EXPECT_JSON(first, 201);
  HttpResponse second = api().post("/v1/payments", body, key);
  EXPECT_EQ(second.status, 201);
  EXPECT_EQ(second.header("idempotent-replayed"), "true");
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(api().state(customer).balance, 9'000);
}

}  // namespace
}  // namespace payd::api_test
