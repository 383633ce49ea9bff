// Reference data (API.md, Reference data): FX rates, the BIN table and
// gateway health.
#include <fstream>
#include <stdexcept>
#include <thread>

#include "tests/api/api_test.h"
#include "tests/support/temporary_directory.h"

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

TEST_F(Reference, BinLookupTakesTheLongestPrefix) {
  struct Case {
    std::string bin, brand, country, type;
  };
  const Case cases[] = {
      {"424242", "visa", "US", "credit"},      {"4242420", "visa", "US", "credit"},
      {"42424242", "visa", "GB", "debit"},     {"555555", "mastercard", "US", "debit"},
      {"55555512", "mastercard", "FR", "credit"}, {"400000", "visa", "US", "credit"},
      {"40000077", "visa", "DE", "prepaid"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.bin);
    boost::json::value bin = EXPECT_JSON(api().get("/v1/bins/" + c.bin), 200);
    EXPECT_EQ(string_at(bin, "bin"), c.bin);
    EXPECT_EQ(string_at(bin, "brand"), c.brand);
    EXPECT_EQ(string_at(bin, "country"), c.country);
    EXPECT_EQ(string_at(bin, "type"), c.type);
  }
  EXPECT_PROBLEM(api().get("/v1/bins/999999"), 404, "not_found");
  EXPECT_PROBLEM(api().get("/v1/bins/4242"), 400, "invalid_request", std::string("bin"));
}

TEST_F(Reference, BinMustBeSixToEightDigits) {
  for (std::string bin : {"12345", "123456789", "42424a", "4242%2042", "-424242"}) {
    SCOPED_TRACE(bin);
    EXPECT_PROBLEM(api().get("/v1/bins/" + bin), 400, "invalid_request", std::string("bin"));
  }
}

TEST_F(Reference, TokenisingAddsCountryAndTypeFromTheBinTable) {
  struct Case {
    std::string number;
    std::optional<std::string> country, type;
  };
  const Case cases[] = {
      {"4242424242424242", "GB", "debit"},  {"5555555555554444", "US", "debit"},
      {"4000000000000002", "US", "credit"}, {"378282246310005", "US", "credit"},
      {"6011111111111117", std::nullopt, std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.number);
    std::string id = api().tokenize_card(c.number);
    boost::json::value method = EXPECT_JSON(api().get("/v1/payment_methods/" + id), 200);
    const boost::json::value* card = method.as_object().if_contains("card");
    ASSERT_TRUE(card && card->is_object()) << boost::json::serialize(method);
    EXPECT_EQ(string_at(*card, "country"), c.country);
    EXPECT_EQ(string_at(*card, "type"), c.type);
    if (!c.country) {
      EXPECT_TRUE(card->as_object().at("country").is_null()) << "unknown is null, not absent";
      EXPECT_TRUE(card->as_object().at("type").is_null());
    }
  }
}

// A file in a fresh temporary folder, removed with the folder.
class TemporaryFile {
 public:
  TemporaryFile(const std::string& name, const std::string& content) : path_(folder_ / name) {
    std::ofstream(path_) << content;
  }
  const std::string& path() const { return path_; }

 private:
  payd::testing::TemporaryDirectory folder_{"payd-reference"};
  std::string path_;
};

TEST(ReferenceStart, MalformedBinTableStopsPaydWithTheLineAndReason) {
  TemporaryFile bins("bins.csv", "prefix,brand,country,type\n424242,visa,US,credit\n55555,mastercard,US,debit\n");
  try {
    std::unique_ptr<PaydProcess> payd = start_payd({"--bin-table", bins.path()});
    ADD_FAILURE() << "payd started with a malformed BIN table";
  } catch (const std::runtime_error& error) {
    std::string message = error.what();
    EXPECT_NE(message.find(bins.path() + " line 3: prefix '55555' is not 6 to 8 digits"), std::string::npos)
        << message;
  }
}

TEST(ReferenceStart, ConfiguredBinTableReplacesTheShippedOne) {
  TemporaryFile bins("bins.csv", "prefix,brand,country,type\n12345678,unknown,NL,prepaid\n");
  std::unique_ptr<PaydProcess> payd = start_payd({"--bin-table", bins.path()});
  Api api(payd->port());
  boost::json::value bin = EXPECT_JSON(api.get("/v1/bins/12345678"), 200);
  EXPECT_EQ(string_at(bin, "country"), "NL");
  EXPECT_PROBLEM(api.get("/v1/bins/424242"), 404, "not_found");
}

// GET /v1/gateways with the simulated gateway's health driven by a file.
TEST(ReferenceGateways, HealthCheckerReportsEachGatewayAsTheProbeSeesIt) {
  TemporaryFile health("health", "up\n");
  std::unique_ptr<PaydProcess> payd =
      start_payd({"--gateway-health-interval-ms", "50", "--gateway-health-file", health.path()});
  Api api(payd->port());
  // The gateway's status once it is `status` (or whatever it is after 5 s).
  auto await_status = [&](const std::string& status) {
    boost::json::value gateway;
    for (int i = 0; i < 100; ++i) {
      boost::json::value list = EXPECT_JSON(api.get("/v1/gateways"), 200);
      const auto& data = list.as_object().at("data").as_array();
      EXPECT_EQ(data.size(), 1u);
      EXPECT_EQ(bool_at(list, "has_more"), false);
      gateway = data.empty() ? boost::json::value() : data.front();
      if (string_at(gateway, "status") == status) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return gateway;
  };
  for (const std::string status : {"up", "degraded", "down", "up"}) {
    SCOPED_TRACE(status);
    std::ofstream(health.path(), std::ios::trunc) << status << "\n";
    boost::json::value gateway = await_status(status);
    EXPECT_EQ(string_at(gateway, "name"), "simulated");
    EXPECT_EQ(string_at(gateway, "status"), status);
    EXPECT_EQ(string_at(gateway, "circuit"), "closed") << "payd has no gateway circuit breaker yet";
    EXPECT_TRUE(is_rfc3339_utc(string_at(gateway, "checked_at"))) << boost::json::serialize(gateway);
  }
}

}  // namespace
}  // namespace payd::api_test
