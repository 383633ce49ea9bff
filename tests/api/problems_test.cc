// Problem details (API.md, Errors: RFC 9457).
#include "tests/api/api_test.h"

namespace payd::api_test {
namespace {

// Every code of API.md's error table.
const std::vector<std::string> api_codes = {
    "invalid_request",  "idempotency_key_missing", "idempotency_key_invalid", "insufficient_funds",
    "card_declined",    "merchant_inactive",       "amount_over_limit",       "processing_error",
    "not_found",        "method_not_allowed",      "request_timeout",         "idempotency_key_in_use",
    "invalid_state",    "amount_exceeds_refundable", "payload_too_large",     "unsupported_media_type",
    "idempotency_key_reused", "rate_limited",      "headers_too_large",       "internal_error",
    "overloaded",       "unavailable",             "gateway_unavailable",
};

class ProblemDetails : public PaydSuite {
 protected:
  static void SetUpTestSuite() { start_shared({}); }
  static void TearDownTestSuite() { stop_shared(); }
};

TEST_F(ProblemDetails, ErrorsAreProblemJsonWithTheStandardMembers) {
  HttpResponse response = api().get("/v1/accounts/acct_000000000000000000000000");
  boost::json::value problem = EXPECT_PROBLEM(response, 404, "not_found");
  EXPECT_EQ(string_at(problem, "type"), "/problems/not_found") << response.body;

  HttpResponse invalid = api().post("/v1/accounts", R"({"currency":"usd"})");
  problem = EXPECT_PROBLEM(invalid, 400, "invalid_request", "currency");
  auto detail = string_at(problem, "detail");
  EXPECT_TRUE(detail && !detail->empty()) << "a 400 explains itself in detail: " << invalid.body;
}

TEST_F(ProblemDetails, EachRequestHasItsOwnRequestId) {
  auto first = string_at(json_of(api().get("/v1/nothing")), "request_id");
  auto second = string_at(json_of(api().get("/v1/nothing")), "request_id");
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value());
  EXPECT_NE(*first, *second);
}

TEST_F(ProblemDetails, ProblemTypePagesDescribeEveryCode) {
  for (const std::string& code : api_codes) {
    SCOPED_TRACE(code);
    HttpResponse response = api().get("/problems/" + code);
    EXPECT_EQ(response.status, 200) << response.body;
    EXPECT_FALSE(response.body.empty());
  }
  EXPECT_PROBLEM(api().get("/problems/no_such_code"), 404, "not_found");
}

}  // namespace
}  // namespace payd::api_test
