// Bad input (API.md, Conventions and Errors): each rejected request must
// change nothing, checked against the accounts' balance and version and the
// trial balance before and after.
#include "tests/api/api_test.h"

namespace payd::api_test {
namespace {

class BadInput : public PaydSuite {
 protected:
  static void SetUpTestSuite() { start_shared({}); }
  static void TearDownTestSuite() { stop_shared(); }

  void SetUp() override {
    PaydSuite::SetUp();
    if (HasFatalFailure()) return;
    from_ = api().funded_account(10'000);
    to_ = api().funded_account(100);
    before_ = api().snapshot({from_, to_});
  }

  void expect_unchanged() { EXPECT_EQ(api().snapshot({from_, to_}), before_) << "a rejected request changed the ledger"; }

  // A transfer body from `from_` to `to_` with `amount_json` spliced in as is.
  std::string transfer_with_amount(const std::string& amount_json) const {
    return R"({"from":")" + from_ + R"(","to":")" + to_ + R"(","amount":)" + amount_json + R"(,"currency":"USD"})";
  }
  std::string deposit_with_amount(const std::string& amount_json) const {
    return R"({"account":")" + to_ + R"(","amount":)" + amount_json + R"(,"currency":"USD"})";
  }
  std::string transfer_with_currency(const std::string& currency_json) const {
    return R"({"from":")" + from_ + R"(","to":")" + to_ + R"(","amount":10,"currency":)" + currency_json + "}";
  }

  std::string from_;
  std::string to_;
  Snapshot before_;
};

TEST_F(BadInput, MalformedJson) {
  for (const std::string& body : {std::string(R"({"from":)"), std::string("{"), std::string("not json"),
                                 std::string(R"({"amount":10,})"), std::string("{\"from\":\"a\"}garbage"),
                                 std::string("\xff\xfe")}) {
    SCOPED_TRACE(body);
    EXPECT_PROBLEM(api().post("/v1/transfers", body, unique_idempotency_key()), 400, "invalid_request");
  }
  expect_unchanged();
}

TEST_F(BadInput, BodyMustBeAnObject) {
  for (const std::string& body : {std::string("[]"), std::string("\"text\""), std::string("10"), std::string("null")}) {
    SCOPED_TRACE(body);
    EXPECT_PROBLEM(api().post("/v1/transfers", body, unique_idempotency_key()), 400, "invalid_request");
  }
  expect_unchanged();
}

TEST_F(BadInput, AmountMustBeAnIntegerInRange) {
  for (const std::string& amount :
       {std::string("10.5"), std::string("10.0"), std::string("\"10\""), std::string("1e3"), std::string("1E3"),
        std::string("0"), std::string("-5"), std::string("-0"), std::string("1000000000000001"),
        std::string("9223372036854775807"), std::string("9223372036854775808"), std::string("18446744073709551616"),
        std::string("true"), std::string("null"), std::string("[10]"), std::string("{}")}) {
    SCOPED_TRACE("amount " + amount);
    EXPECT_PROBLEM(api().post("/v1/transfers", transfer_with_amount(amount), unique_idempotency_key()), 400,
                   "invalid_request", "amount");
    EXPECT_PROBLEM(api().post("/v1/deposits", deposit_with_amount(amount), unique_idempotency_key()), 400,
                   "invalid_request", "amount");
  }
  expect_unchanged();
}

TEST_F(BadInput, MissingFieldsNameTheirParam) {
  struct Case {
    const char* path;
    boost::json::object body;
    const char* param;
  };
  const std::vector<Case> cases = {
      {"/v1/transfers", {{"to", to_}, {"amount", 10}, {"currency", "USD"}}, "from"},
      {"/v1/transfers", {{"from", from_}, {"amount", 10}, {"currency", "USD"}}, "to"},
      {"/v1/transfers", {{"from", from_}, {"to", to_}, {"currency", "USD"}}, "amount"},
      {"/v1/transfers", {{"from", from_}, {"to", to_}, {"amount", 10}}, "currency"},
      {"/v1/deposits", {{"amount", 10}, {"currency", "USD"}}, "account"},
      {"/v1/deposits", {{"account", to_}, {"currency", "USD"}}, "amount"},
      {"/v1/deposits", {{"account", to_}, {"amount", 10}}, "currency"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.path) + " " + to_body(c.body));
    EXPECT_PROBLEM(api().post(c.path, c.body, unique_idempotency_key()), 400, "invalid_request", std::string(c.param));
  }
  expect_unchanged();
}

TEST_F(BadInput, EmptyBodyMeansAnEmptyObject) {
  HttpResponse response = api().post("/v1/transfers", std::string(), unique_idempotency_key());
  boost::json::value problem = EXPECT_PROBLEM(response, 400, "invalid_request");
  EXPECT_TRUE(string_at(problem, "param").has_value()) << "{} misses required fields, named by param: " << response.body;
  EXPECT_PROBLEM(api().post("/v1/accounts", std::string()), 400, "invalid_request", "currency");
  expect_unchanged();
}

TEST_F(BadInput, CurrencyMustBeAnActiveUpperCaseIsoCode) {
  for (const std::string& currency :
       {std::string("\"ABC\""), std::string("\"XXX\""), std::string("\"XAU\""), std::string("\"XTS\""),
        std::string("\"usd\""), std::string("\"Usd\""), std::string("\"US\""), std::string("\"USDD\""),
        std::string("\"\""), std::string("840"), std::string("null")}) {
    SCOPED_TRACE("currency " + currency);
    EXPECT_PROBLEM(api().post("/v1/transfers", transfer_with_currency(currency), unique_idempotency_key()), 400,
                   "invalid_request", "currency");
  }
  expect_unchanged();
}

TEST_F(BadInput, MetadataOverItsLimitsOnATransfer) {
  boost::json::object too_many;
  for (int i = 0; i < 21; ++i) too_many["k" + std::to_string(i)] = "v";
  for (const boost::json::object& metadata :
       {too_many, boost::json::object{{std::string(41, 'k'), "v"}}, boost::json::object{{"k", std::string(501, 'v')}}}) {
    HttpResponse response = api().post(
        "/v1/transfers", {{"from", from_}, {"to", to_}, {"amount", 10}, {"currency", "USD"}, {"metadata", metadata}},
        unique_idempotency_key());
    boost::json::value problem = EXPECT_PROBLEM(response, 400, "invalid_request");
    std::string param = string_at(problem, "param").value_or("");
    EXPECT_TRUE(param == "metadata" || param.starts_with("metadata.") || param.starts_with("metadata["))
        << "param: " << param;
  }
  expect_unchanged();
}

TEST_F(BadInput, WrongContentTypeIs415) {
  const std::string body = transfer_with_amount("10");
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "application/xml", "text/json"}) {
    SCOPED_TRACE(type);
    EXPECT_PROBLEM(api().post("/v1/transfers", body, unique_idempotency_key(), {{"Content-Type", type}}), 415,
                   "unsupported_media_type");
  }
  // A body without any Content-Type.
  std::string raw = "POST /v1/transfers HTTP/1.1\r\nHost: 127.0.0.1\r\nIdempotency-Key: " + unique_idempotency_key() +
                    "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  EXPECT_PROBLEM(api().client().send_raw(raw), 415, "unsupported_media_type");
  api().client().close();
  expect_unchanged();
}

TEST_F(BadInput, JsonWithCharsetIsAccepted) {
  HttpResponse response = api().post("/v1/transfers", transfer_with_amount("10"), unique_idempotency_key(),
                                     {{"Content-Type", "application/json; charset=utf-8"}});
  EXPECT_JSON(response, 201);
  EXPECT_EQ(api().state(from_).balance, 9'990);
}

TEST_F(BadInput, BodyOver64KiBIs413) {
  boost::json::object body = {{"from", from_}, {"to", to_}, {"amount", 10}, {"currency", "USD"},
                              {"description", std::string(70'000, 'x')}};
  EXPECT_PROBLEM(api().post("/v1/transfers", body, unique_idempotency_key()), 413, "payload_too_large");
  api().client().close();
  expect_unchanged();
}

TEST_F(BadInput, BodyJustUnder64KiBIsRead) {
  // Whitespace is valid JSON padding: 60 000 bytes stay under the limit.
  std::string body = std::string(60'000, ' ') + transfer_with_amount("10");
  HttpResponse response = api().post("/v1/transfers", body, unique_idempotency_key());
  EXPECT_JSON(response, 201);
  EXPECT_EQ(api().state(to_).balance, 110);
}

TEST_F(BadInput, HeadersOver8KiBAre431) {
  HttpResponse response = api().post("/v1/transfers", transfer_with_amount("10"), unique_idempotency_key(),
                                     {{"X-Padding", std::string(9'000, 'p')}});
  EXPECT_PROBLEM(response, 431, "headers_too_large");
  api().client().close();
  expect_unchanged();
}

TEST_F(BadInput, UnknownRouteIs404) {
  EXPECT_PROBLEM(api().get("/v1/nothing"), 404, "not_found");
  EXPECT_PROBLEM(api().get("/v2/accounts"), 404, "not_found");
  EXPECT_PROBLEM(api().post("/v1/nothing", transfer_with_amount("10"), unique_idempotency_key()), 404, "not_found");
  EXPECT_PROBLEM(api().post("/v1/transfers/extra/segments", transfer_with_amount("10"), unique_idempotency_key()), 404,
                 "not_found");
  expect_unchanged();
}

TEST_F(BadInput, WrongMethodIs405WithAllow) {
  struct Case {
    const char* method;
    std::string target;
    const char* allowed;
  };
  for (const Case& c : {Case{"DELETE", "/v1/accounts/" + from_, "GET"}, Case{"PUT", "/v1/transfers", "POST"},
                        Case{"GET", "/v1/deposits", "POST"}, Case{"DELETE", "/v1/transfers", "POST"},
                        Case{"POST", "/healthz", "GET"}}) {
    SCOPED_TRACE(std::string(c.method) + " " + c.target);
    std::string body = std::string(c.method) == "GET" || std::string(c.method) == "DELETE" ? "" : transfer_with_amount("10");
    HttpResponse response = api().client().request(c.method, c.target, body, {{"Idempotency-Key", unique_idempotency_key()}});
    EXPECT_PROBLEM(response, 405, "method_not_allowed");
    EXPECT_NE(response.header("allow").find(c.allowed), std::string::npos)
        << "405 must list the allowed methods (RFC 9110), Allow: " << response.header("allow");
  }
  expect_unchanged();
}

TEST_F(BadInput, UnknownAccountInTheBodyIs400NotA404) {
  EXPECT_PROBLEM(api().post("/v1/deposits", {{"account", "acct_nope"}, {"amount", 10}, {"currency", "USD"}},
                            unique_idempotency_key()),
                 400, "invalid_request", "account");
  expect_unchanged();
}

}  // namespace
}  // namespace payd::api_test
