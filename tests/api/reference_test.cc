// Reference data (API.md, Reference data): FX rates, the BIN table and
// gateway health.
#include "tests/api/api_test.h"

namespace payd::api_test {
namespace {

class Reference : public PaydSuite {
 protected:
  static void SetUpTestSuite() { start_shared({}); }
  static void TearDownTestSuite() { stop_shared(); }

  HttpResponse put_rate(const std::string& pair, const std::string& rate) {
    return api().put("/v1/fx_rates/" + pair, {{"rate", rate}});
  }
  // The pair's version now; 0 when it was never set.
  std::int64_t version_of(const std::string& pair) {
    HttpResponse response = api().get("/v1/fx_rates/" + pair);
    if (response.status == 404) return 0;
    return int_at(EXPECT_JSON(response, 200), "version").value_or(-1);
  }
};

TEST_F(Reference, PutRateThenGetIt) {
  std::int64_t before = version_of("GBP/CHF");
  boost::json::value put = EXPECT_JSON(put_rate("GBP/CHF", "1.1372"), 200);
  EXPECT_EQ(string_at(put, "base"), "GBP");
  EXPECT_EQ(string_at(put, "quote"), "CHF");
  EXPECT_EQ(string_at(put, "rate"), "1.1372") << "a rate is a decimal string, never a float";
  EXPECT_EQ(int_at(put, "version"), before + 1);
  EXPECT_TRUE(is_rfc3339_utc(string_at(put, "updated_at"))) << boost::json::serialize(put);

  boost::json::value got = EXPECT_JSON(api().get("/v1/fx_rates/GBP/CHF"), 200);
  EXPECT_EQ(got, put) << "GET answers what the PUT stored";
  EXPECT_EQ(api().get("/v1/fx_rates/CHF/GBP").status, 404) << "a pair has a direction";
}

TEST_F(Reference, EachPutOfAPairAddsOneToItsVersion) {
  std::int64_t before = version_of("SEK/NOK");
  for (int i = 1; i <= 3; ++i) {
    boost::json::value put = EXPECT_JSON(put_rate("SEK/NOK", "0.98" + std::to_string(i)), 200);
    EXPECT_EQ(int_at(put, "version"), before + i);
  }
  boost::json::value got = EXPECT_JSON(api().get("/v1/fx_rates/SEK/NOK"), 200);
  EXPECT_EQ(int_at(got, "version"), before + 3);
  EXPECT_EQ(string_at(got, "rate"), "0.983");
  std::int64_t reverse_before = version_of("NOK/SEK");
  EXPECT_EQ(int_at(EXPECT_JSON(put_rate("NOK/SEK", "1.02"), 200), "version"), reverse_before + 1)
      << "each pair counts its own versions";
}

TEST_F(Reference, RateIsStoredInCanonicalForm) {
  EXPECT_EQ(string_at(EXPECT_JSON(put_rate("AUD/NZD", "1.0900"), 200), "rate"), "1.09");
  EXPECT_EQ(string_at(EXPECT_JSON(put_rate("AUD/NZD", "007"), 200), "rate"), "7");
  EXPECT_EQ(string_at(EXPECT_JSON(put_rate("AUD/NZD", "0.0000000001"), 200), "rate"), "0.0000000001");
  EXPECT_EQ(string_at(EXPECT_JSON(put_rate("AUD/NZD", "999999999999"), 200), "rate"), "999999999999");
}

TEST_F(Reference, UnknownPairIsNotFound) {
  EXPECT_PROBLEM(api().get("/v1/fx_rates/ISK/MOP"), 404, "not_found");
}

TEST_F(Reference, BadRatesAreRefusedAndChangeNothing) {
  ASSERT_EQ(put_rate("CAD/MXN", "13.5").status, 200);
  boost::json::value before = EXPECT_JSON(api().get("/v1/fx_rates/CAD/MXN"), 200);
  for (const std::string& body :
       {std::string(R"({"rate":1.08})"), std::string(R"({"rate":1})"), std::string(R"({"rate":"0"})"),
        std::string(R"({"rate":"0.000"})"), std::string(R"({"rate":"-1.5"})"), std::string(R"({"rate":"1e3"})"),
        std::string(R"({"rate":"abc"})"), std::string(R"({"rate":""})"), std::string(R"({"rate":" 1.5"})"),
        std::string(R"({"rate":".5"})"), std::string(R"({"rate":"1.00000000001"})"),
        std::string(R"({"rate":"1234567890123"})"), std::string(R"({"rate":true})"), std::string(R"({"rate":null})"),
        std::string("{}"), std::string("")}) {
    SCOPED_TRACE(body);
    EXPECT_PROBLEM(api().client().request("PUT", "/v1/fx_rates/CAD/MXN", body), 400, "invalid_request",
                   std::string("rate"));
  }
  EXPECT_PROBLEM(api().client().request("PUT", "/v1/fx_rates/CAD/MXN", R"({"rate":"1.5","spread":"0.1"})"), 400,
                 "invalid_request", std::string("spread"));
  EXPECT_PROBLEM(api().client().request("PUT", "/v1/fx_rates/CAD/MXN", "{\"rate\":"), 400, "invalid_request");
  EXPECT_PROBLEM(api().client().request("PUT", "/v1/fx_rates/CAD/MXN", R"({"rate":"1.5"})", {{"Content-Type", "text/plain"}}),
                 415, "unsupported_media_type");
  EXPECT_EQ(EXPECT_JSON(api().get("/v1/fx_rates/CAD/MXN"), 200), before) << "a refused PUT changed the rate";
}

TEST_F(Reference, PairMustBeTwoDifferentKnownCurrencies) {
  const std::pair<std::string, std::string> pairs[] = {
      {"USD/USD", "quote"}, {"usd/EUR", "base"}, {"XXX/USD", "base"}, {"USD/XAU", "quote"},
      {"ABC/USD", "base"},  {"USD/EURO", "quote"}, {"US/EUR", "base"},
  };
  for (const auto& [pair, param] : pairs) {
    SCOPED_TRACE(pair);
    EXPECT_PROBLEM(put_rate(pair, "1.5"), 400, "invalid_request", param);
    EXPECT_PROBLEM(api().get("/v1/fx_rates/" + pair), 400, "invalid_request", param);
  }
  EXPECT_PROBLEM(api().get("/v1/fx_rates/USD"), 404, "not_found");
  EXPECT_PROBLEM(api().post("/v1/fx_rates/USD/EUR", boost::json::object{{"rate", "1.5"}}), 405, "method_not_allowed");
}

}  // namespace
}  // namespace payd::api_test
