#include "domain/idempotency.h"

#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace payd {
namespace {

boost::json::value json(const char* text) { return boost::json::parse(text); }

TEST(IdempotencyKey, AcceptsOneTo255PrintableAsciiBytes) {
  for (const std::string& key : {std::string("a"), std::string("order-42"), std::string(255, 'k'),
                                 std::string("a b"), std::string("~!@#$%^&*()_+{}|:<>?`-=[]\\;',./"),
                                 std::string("550e8400-e29b-41d4-a716-446655440000")}) {
    Result<std::string> parsed = parse_idempotency_key(key);
    ASSERT_TRUE(parsed.ok()) << key;
    EXPECT_EQ(parsed.value(), key);
  }
}

TEST(IdempotencyKey, QuotedFormDropsTheQuotes) {
  Result<std::string> parsed = parse_idempotency_key("\"abc\"");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value(), "abc");
  EXPECT_EQ(parse_idempotency_key("\"abc\"").value(), parse_idempotency_key("abc").value());
  // The length limit applies to the key, not to the quotes around it.
  Result<std::string> longest = parse_idempotency_key("\"" + std::string(255, 'q') + "\"");
  ASSERT_TRUE(longest.ok());
  EXPECT_EQ(longest.value(), std::string(255, 'q'));
}

TEST(IdempotencyKey, RejectsEmptyTooLongAndNonPrintable) {
  for (const std::string& key :
       {std::string(""), std::string("\"\""), std::string(256, 'k'), "\"" + std::string(256, 'k') + "\"",
        std::string("caf\xc3\xa9"), std::string("tab\there"), std::string("new\nline"), std::string("nul\0x", 5),
        std::string("del\x7f"), std::string("\x80"), std::string("\x1f")}) {
    Result<std::string> parsed = parse_idempotency_key(key);
    ASSERT_FALSE(parsed.ok()) << "accepted " << key;
    EXPECT_EQ(parsed.problem().code, "idempotency_key_invalid");
    EXPECT_EQ(parsed.problem().status(), 400u);
  }
}

TEST(CanonicalJson, SortsKeysAtEveryDepthAndDropsWhitespace) {
  EXPECT_EQ(canonical_json(json(R"( { "b" : 1, "a" : [ { "d" : 2, "c" : { "z": null, "y": true } } ] } )")),
            R"({"a":[{"c":{"y":true,"z":null},"d":2}],"b":1})");
  EXPECT_EQ(canonical_json(json(R"({"s":"x\"y"})")), R"({"s":"x\"y"})");
  EXPECT_EQ(canonical_json(json("[3,1,2]")), "[3,1,2]");
}

TEST(Fingerprint, IgnoresKeyOrderAndWhitespace) {
  const std::string a = request_fingerprint(
      "POST", "/v1/transfers", json(R"({"from":"acct_1","to":"acct_2","amount":500,"currency":"USD","metadata":{"x":"1","y":"2"}})"));
  const std::string b = request_fingerprint(
      "POST", "/v1/transfers",
      json("{\n  \"currency\": \"USD\",\n  \"metadata\": {\"y\": \"2\", \"x\": \"1\"},\n  \"amount\": 500,\n"
           "  \"to\": \"acct_2\",\t\"from\": \"acct_1\"\n}\n"));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
}

TEST(Fingerprint, DependsOnMethodPathAndBody) {
  const auto body = json(R"({"account":"acct_1","amount":500,"currency":"USD"})");
  const std::string base = request_fingerprint("POST", "/v1/deposits", body);
  EXPECT_EQ(base, request_fingerprint("POST", "/v1/deposits", body));
  EXPECT_NE(base, request_fingerprint("PUT", "/v1/deposits", body));
  EXPECT_NE(base, request_fingerprint("POST", "/v1/transfers", body));
  EXPECT_NE(base, request_fingerprint("POST", "/v1/deposits/", body));
  EXPECT_NE(base, request_fingerprint("POST", "/v1/deposits", json(R"({"account":"acct_1","amount":501,"currency":"USD"})")));
  EXPECT_NE(base, request_fingerprint("POST", "/v1/deposits", json(R"({"account":"acct_2","amount":500,"currency":"USD"})")));
  EXPECT_NE(base, request_fingerprint("POST", "/v1/deposits", json(R"({"account":"acct_1","amount":"500","currency":"USD"})")));
  EXPECT_NE(base, request_fingerprint("POST", "/v1/deposits",
                                      json(R"({"account":"acct_1","amount":500,"currency":"USD","metadata":{}})")));
  EXPECT_NE(request_fingerprint("POST", "/v1/x", json("[1,2]")), request_fingerprint("POST", "/v1/x", json("[2,1]")));
  EXPECT_NE(request_fingerprint("POST", "/v1/x", json("{}")), request_fingerprint("POST", "/v1/x", json("null")));
}

TEST(Fingerprint, MethodAndPathCannotBleedIntoEachOther) {
  const auto body = json("{}");
  EXPECT_NE(request_fingerprint("POST", "/v1/a", body), request_fingerprint("POST /v1/a", "", body));
  EXPECT_NE(request_fingerprint("POS", "T/v1/a", body), request_fingerprint("POST", "/v1/a", body));
}

TEST(StoredOutcome, MoneyDecisionsAreStored) {
  for (unsigned status : {200u, 201u, 202u, 204u}) EXPECT_TRUE(is_stored_outcome(status, "")) << status;
  for (const char* code : {"insufficient_funds", "card_declined", "merchant_inactive", "amount_over_limit",
                           "processing_error"}) {
    EXPECT_TRUE(is_stored_outcome(402, code)) << code;
  }
  EXPECT_TRUE(is_stored_outcome(409, "invalid_state"));
  EXPECT_TRUE(is_stored_outcome(409, "amount_exceeds_refundable"));
}

TEST(StoredOutcome, RejectionsAndUnknownOutcomesAreNotStored) {
  struct Case {
    unsigned status;
    const char* code;
  };
  for (const Case& c : {Case{400, "invalid_request"}, Case{400, "idempotency_key_missing"},
                        Case{400, "idempotency_key_invalid"}, Case{404, "not_found"},
                        Case{405, "method_not_allowed"}, Case{408, "request_timeout"},
                        Case{409, "idempotency_key_in_use"}, Case{413, "payload_too_large"},
                        Case{415, "unsupported_media_type"}, Case{422, "idempotency_key_reused"},
                        Case{429, "rate_limited"}, Case{431, "headers_too_large"}, Case{500, "internal_error"},
                        Case{503, "overloaded"}, Case{503, "unavailable"}, Case{503, "gateway_unavailable"}}) {
    EXPECT_FALSE(is_stored_outcome(c.status, c.code)) << c.status << " " << c.code;
  }
}

}  // namespace
}  // namespace payd
