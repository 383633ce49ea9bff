#include "core/problem.h"

#include <map>
#include <set>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace payd {
namespace {

// Every code of API.md's error table with its status.
const std::map<std::string, unsigned>& api_codes() {
  static const std::map<std::string, unsigned> codes = {
      {"invalid_request", 400},
      {"idempotency_key_missing", 400},
      {"idempotency_key_invalid", 400},
      {"insufficient_funds", 402},
      {"card_declined", 402},
      {"merchant_inactive", 402},
      {"amount_over_limit", 402},
      {"processing_error", 402},
      {"not_found", 404},
      {"method_not_allowed", 405},
      {"request_timeout", 408},
      {"idempotency_key_in_use", 409},
      {"invalid_state", 409},
      {"amount_exceeds_refundable", 409},
      {"payload_too_large", 413},
      {"unsupported_media_type", 415},
      {"idempotency_key_reused", 422},
      {"rate_limited", 429},
      {"headers_too_large", 431},
      {"internal_error", 500},
      {"overloaded", 503},
      {"unavailable", 503},
      {"gateway_unavailable", 503},
  };
  return codes;
}

boost::json::object parse_object(const std::string& text) {
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(text, error);
  EXPECT_FALSE(error) << text;
  EXPECT_TRUE(value.is_object()) << text;
  return value.is_object() ? value.get_object() : boost::json::object{};
}

// A string member's value, or "<missing>".
std::string text(const boost::json::object& json, const char* name) {
  const boost::json::value* value = json.if_contains(name);
  return value && value->is_string() ? std::string(value->get_string()) : std::string("<missing>");
}

// An integer member's value, or -1.
std::int64_t number(const boost::json::object& json, const char* name) {
  const boost::json::value* value = json.if_contains(name);
  return value && value->is_int64() ? value->get_int64() : -1;
}

TEST(Problem, CatalogCoversExactlyTheCodesOfApiMd) {
  std::set<std::string> in_catalog;
  for (const ProblemType& type : problem_catalog()) {
    EXPECT_TRUE(in_catalog.insert(std::string(type.code)).second) << "duplicate code " << type.code;
    auto expected = api_codes().find(std::string(type.code));
    if (expected == api_codes().end()) {
      ADD_FAILURE() << "code " << type.code << " is not in API.md";
      continue;
    }
    EXPECT_EQ(type.status, expected->second) << type.code;
    EXPECT_FALSE(type.title.empty()) << type.code;
    EXPECT_FALSE(type.description.empty()) << type.code;
  }
  for (const auto& [code, status] : api_codes()) {
    const ProblemType* type = find_problem_type(code);
    ASSERT_NE(type, nullptr) << "API.md code " << code << " missing from the catalog";
    EXPECT_EQ(type->code, code);
    EXPECT_EQ(type->status, status) << code;
  }
}

TEST(Problem, FindUnknownCodeIsNull) {
  EXPECT_EQ(find_problem_type("no_such_code"), nullptr);
  EXPECT_EQ(find_problem_type(""), nullptr);
  EXPECT_EQ(find_problem_type("NOT_FOUND"), nullptr);
}

TEST(Problem, MakeProblemTakesStatusAndTitleFromTheCatalog) {
  Problem problem = make_problem("insufficient_funds", "not enough", "amount");
  EXPECT_EQ(problem.code, "insufficient_funds");
  EXPECT_EQ(problem.status(), 402u);
  EXPECT_EQ(problem.title(), "Insufficient funds");
  EXPECT_EQ(problem.param, "amount");
  EXPECT_EQ(problem.retry_after_s, 0u);

  EXPECT_EQ(invalid_request("bad", "currency").status(), 400u);
  EXPECT_EQ(invalid_request("bad", "currency").code, "invalid_request");
  EXPECT_EQ(invalid_request("bad", "currency").param, "currency");
  EXPECT_EQ(not_found("gone").status(), 404u);
  EXPECT_EQ(not_found("gone").code, "not_found");
}

TEST(Problem, UnknownCodeBecomesInternalError) {
  Problem problem = make_problem("made_up", "oops");
  EXPECT_EQ(problem.code, "internal_error");
  EXPECT_EQ(problem.status(), 500u);
}

TEST(Problem, RenderHasTheRfc9457MembersAndPayd) {
  Problem problem = make_problem("insufficient_funds", "account acct_1 has 500 available, 900 requested", "amount");
  problem.extensions.push_back({"payment", "pay_123"});
  std::string body = render_problem(problem, "req_abc");
  boost::json::object json = parse_object(body);
  EXPECT_EQ(text(json, "type"), "/problems/insufficient_funds");
  EXPECT_EQ(text(json, "title"), "Insufficient funds");
  ASSERT_TRUE(json.if_contains("status") && json.at("status").is_int64()) << body;
  EXPECT_EQ(number(json, "status"), 402);
  EXPECT_EQ(text(json, "detail"), "account acct_1 has 500 available, 900 requested");
  EXPECT_EQ(text(json, "code"), "insufficient_funds");
  EXPECT_EQ(text(json, "param"), "amount");
  EXPECT_EQ(text(json, "payment"), "pay_123");
  EXPECT_EQ(text(json, "request_id"), "req_abc");
}

TEST(Problem, RenderLeavesOutEmptyParamAndRequestId) {
  std::string body = render_problem(make_problem("not_found", "no such account"), "");
  boost::json::object json = parse_object(body);
  EXPECT_FALSE(json.contains("param")) << body;
  EXPECT_FALSE(json.contains("request_id")) << body;
  EXPECT_EQ(text(json, "code"), "not_found");
  EXPECT_EQ(number(json, "status"), 404);
}

TEST(Problem, RenderEscapesDetail) {
  std::string detail = "quote \" backslash \\ newline \n tab \t control \x01 unicode \xc3\xa9";
  std::string body = render_problem(invalid_request(detail, "metadata"), "req_1");
  boost::json::object json = parse_object(body);
  EXPECT_EQ(text(json, "detail"), detail);
}

TEST(Problem, RenderIsDeterministic) {
  Problem problem = invalid_request("amount must be an integer", "amount");
  EXPECT_EQ(render_problem(problem, "req_1"), render_problem(problem, "req_1"));
  EXPECT_NE(render_problem(problem, "req_1"), render_problem(problem, "req_2"));
}

TEST(Problem, EveryCatalogCodeRendersWithItsStatus) {
  for (const ProblemType& type : problem_catalog()) {
    std::string body = render_problem(make_problem(type.code, "detail"), "req_x");
    boost::json::object json = parse_object(body);
    EXPECT_EQ(text(json, "type"), "/problems/" + std::string(type.code)) << body;
    EXPECT_EQ(text(json, "code"), std::string(type.code)) << body;
    EXPECT_EQ(text(json, "title"), std::string(type.title)) << body;
    EXPECT_EQ(number(json, "status"), static_cast<std::int64_t>(type.status)) << body;
  }
}

}  // namespace
}  // namespace payd
