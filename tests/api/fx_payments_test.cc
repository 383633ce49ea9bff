// Cross-currency payments (API.md, Payments: FX): conversion at the current
// rate with half-even rounding to the settlement currency's minor unit,
// postings that balance in each currency through the fx accounts, refusal
// without a rate, and the fx_drift review at capture.
#include <algorithm>
#include <chrono>
#include <thread>

#include "tests/api/api_test.h"

namespace payd::api_test {
namespace {

struct Shop {
  std::string id;
  std::string account;
};

class FxPayments : public PaydSuite {
 protected:
  static void SetUpTestSuite() {
    start_shared({"--rate-limits", "off", "--gateway-timeout-ms", "300", "--fx-drift-tolerance-bps", "50"});
  }
  static void TearDownTestSuite() { stop_shared(); }

  // Sets base/quote to `rate`; returns the new version.
  std::int64_t set_rate(const std::string& base, const std::string& quote, const std::string& rate) {
    HttpResponse response = api().put("/v1/fx_rates/" + base + "/" + quote, {{"rate", rate}});
    return int_at(EXPECT_JSON(response, 200), "version").value_or(-1);
  }

  Shop shop(const std::string& currency, boost::json::object fields = {}) {
    boost::json::value json = api().create_merchant(std::move(fields), currency);
    return {string_at(json, "id").value_or(""), string_at(json, "account").value_or("")};
  }

  HttpResponse pay(boost::json::object body, const std::optional<std::string>& key = std::nullopt) {
    return api().post("/v1/payments", body, key.value_or(unique_idempotency_key("fx")));
  }
  HttpResponse wallet(const std::string& customer, const std::string& currency, const Shop& to, std::int64_t amount,
                      bool capture = true) {
    return pay({{"amount", amount}, {"currency", currency}, {"merchant", to.id}, {"account", customer},
                {"capture", capture}});
  }
  HttpResponse action(const std::string& payment, const std::string& what, boost::json::object body = {}) {
    return api().post("/v1/payments/" + payment + "/" + what, body, unique_idempotency_key(what));
  }

  std::int64_t balance(const std::string& account) { return api().state(account).balance; }
  std::int64_t system_balance(const std::string& currency, std::string_view role) {
    auto account = api().trial_balance().system_account(currency, role);
    return account ? account->balance : 0;
  }
  std::int64_t drift_reviews() {
    std::optional<std::int64_t> reviews = metric_value(api(), "payd_fx_drift_reviews_total");
    if (!reviews) ADD_FAILURE() << "no payd_fx_drift_reviews_total in /metrics";
    return reviews.value_or(-1);
  }
};

TEST_F(FxPayments, WalletPaymentConvertsAtTheCurrentRateAndPostsThroughTheFxAccounts) {
  std::int64_t version = set_rate("EUR", "USD", "1.0842");
  Shop usd = shop("USD", {{"fee_bps", 100}});
  std::string customer = api().funded_account(50'000, "EUR");
  std::int64_t fx_eur = system_balance("EUR", "fx");
  std::int64_t fx_usd = system_balance("USD", "fx");
  std::int64_t fees_usd = system_balance("USD", "fees");

  boost::json::value payment = EXPECT_JSON(wallet(customer, "EUR", usd, 10'000), 201);
  EXPECT_EQ(string_at(payment, "status"), "captured");
  EXPECT_EQ(int_at(payment, "amount"), 10'000);
  EXPECT_EQ(string_at(payment, "currency"), "EUR");
  EXPECT_EQ(string_at(payment, "fx.rate"), "1.0842");
  EXPECT_EQ(int_at(payment, "fx.version"), version);
  EXPECT_EQ(string_at(payment, "fx.settlement_currency"), "USD");
  EXPECT_EQ(int_at(payment, "fx.settlement_amount"), 10'842);
  EXPECT_TRUE(payment.as_object().at("review").is_null());
  EXPECT_EQ(int_at(payment, "fee"), 108) << "the fee is in the settlement currency: 1% of 108.42 USD";
  EXPECT_EQ(api().payment(string_at(payment, "id").value_or("")), payment) << "GET shows what was stored";

  EXPECT_EQ(balance(customer), 40'000) << "the payer pays in the payment currency";
  EXPECT_EQ(balance(usd.account), 10'842 - 108) << "the merchant is paid in its settlement currency";
  EXPECT_EQ(system_balance("EUR", "fx") - fx_eur, 10'000);
  EXPECT_EQ(system_balance("USD", "fx") - fx_usd, -10'842);
  EXPECT_EQ(system_balance("USD", "fees") - fees_usd, 108);
  EXPECT_BALANCED(api().trial_balance(), {"EUR", "USD"});
}

TEST_F(FxPayments, ConversionRoundsHalfToEvenAcrossCurrencyExponents) {
  struct Case {
    std::string base, quote, rate;
    std::int64_t amount, settled;
  };
  const Case cases[] = {
      {"JPY", "USD", "0.0067", 1'234, 827},   // 1234 JPY = 8.2678 USD
      {"JPY", "USD", "0.0067", 1, 1},         // 0.67 cents
      {"KWD", "JPY", "480.5", 1'234, 593},    // 1.234 KWD = 592.937 JPY
      {"USD", "KWD", "0.3075", 1'000, 3'075}, // 10.00 USD = 3.075 KWD
      {"USD", "JPY", "149.5", 5, 7},          // 7.475 JPY
      {"GBP", "CHF", "0.5", 5, 2},            // 2.5 to the even 2
      {"GBP", "CHF", "0.5", 7, 4},            // 3.5 to the even 4
      {"BHD", "EUR", "2.4321", 1'005, 244},   // 1.005 BHD = 2.44426 EUR
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.base + "/" + c.quote + " " + c.rate + " of " + std::to_string(c.amount));
    set_rate(c.base, c.quote, c.rate);
    Shop to = shop(c.quote);
    std::string customer = api().funded_account(1'000'000, c.base);
    boost::json::value payment = EXPECT_JSON(wallet(customer, c.base, to, c.amount), 201);
    EXPECT_EQ(int_at(payment, "fx.settlement_amount"), c.settled);
    EXPECT_EQ(balance(to.account), c.settled);
    EXPECT_EQ(balance(customer), 1'000'000 - c.amount);
  }
  EXPECT_BALANCED(api().trial_balance(), {"JPY", "USD", "KWD", "GBP", "CHF", "BHD", "EUR"});
  testing::CommandResult verified = payd().verify();
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
}

TEST_F(FxPayments, NoRateForThePairIsRefusedAndWritesNothing) {
  Shop zar = shop("ZAR");
  std::string customer = api().funded_account(10'000, "THB");
  Snapshot before = api().snapshot({customer, zar.account});
  std::string key = unique_idempotency_key("norate");
  boost::json::value problem = EXPECT_PROBLEM(wallet(customer, "THB", zar, 1'000, true), 400, "invalid_request",
                                              std::string("currency"));
  EXPECT_NE(string_at(problem, "detail").value_or("").find("THB/ZAR"), std::string::npos);
  EXPECT_PROBLEM(pay({{"amount", 1'000}, {"currency", "THB"}, {"merchant", zar.id}, {"account", customer}}, key), 400,
                 "invalid_request", std::string("currency"));
  std::string card = api().tokenize_card("4242424242424242");
  EXPECT_PROBLEM(pay({{"amount", 1'000}, {"currency", "THB"}, {"merchant", zar.id}, {"payment_method", card}}), 400,
                 "invalid_request", std::string("currency"));
  EXPECT_EQ(api().snapshot({customer, zar.account}), before) << "a refused payment wrote something";
  EXPECT_EQ(api().get("/v1/payments?merchant=" + zar.id).body.find("pay_"), std::string::npos)
      << "no payment was recorded";

  set_rate("THB", "ZAR", "0.52");
  boost::json::value payment = EXPECT_JSON(
      pay({{"amount", 1'000}, {"currency", "THB"}, {"merchant", zar.id}, {"account", customer}}, key), 201);
  EXPECT_EQ(int_at(payment, "fx.settlement_amount"), 520) << "the 400 was not stored: the key works once a rate exists";
  // A rate of another pair does not help.
  set_rate("ZAR", "THB", "1.9");
  EXPECT_PROBLEM(wallet(api().funded_account(100, "ZAR"), "ZAR", shop("USD"), 100), 400, "invalid_request",
                 std::string("currency"));
}

TEST_F(FxPayments, ConvertedAmountOutOfRangeIsRefused) {
  set_rate("ISK", "BHD", "0.0001");
  set_rate("IDR", "VND", "999999999");
  Shop bhd = shop("BHD");
  Shop vnd = shop("VND");
  std::string customer = api().funded_account(10'000, "ISK");
  std::string rich = api().funded_account(amount_max, "IDR");
  Snapshot before = api().snapshot({customer, bhd.account, rich, vnd.account});
  // 1 ISK is 0.0001 BHD: less than one fils.
  EXPECT_PROBLEM(wallet(customer, "ISK", bhd, 1), 400, "invalid_request", std::string("amount"));
  // More than 10^15 minor units.
  EXPECT_PROBLEM(wallet(rich, "IDR", vnd, amount_max), 400, "invalid_request", std::string("amount"));
  EXPECT_EQ(api().snapshot({customer, bhd.account, rich, vnd.account}), before);
}

TEST_F(FxPayments, MerchantMaximumIsInTheSettlementCurrency) {
  set_rate("EUR", "USD", "1.0842");
  Shop usd = shop("USD", {{"max_amount", 1'000}});
  std::string customer = api().funded_account(10'000, "EUR");
  boost::json::value problem = EXPECT_PROBLEM(wallet(customer, "EUR", usd, 950), 402, "amount_over_limit");
  EXPECT_TRUE(has_prefix(string_at(problem, "payment"), "pay_")) << "950 EUR is 1030 USD, over 1000";
  EXPECT_EQ(int_at(EXPECT_JSON(wallet(customer, "EUR", usd, 922), 201), "fx.settlement_amount"), 1'000);
}

TEST_F(FxPayments, CardPaymentSettlesThroughTheClearingAndFxAccounts) {
  set_rate("GBP", "EUR", "1.1650");
  Shop eur = shop("EUR");
  std::int64_t clearing = system_balance("GBP", "gateway_clearing");
  std::string card = api().tokenize_card("4242424242424242");
  boost::json::value payment = EXPECT_JSON(
      pay({{"amount", 2'000}, {"currency", "GBP"}, {"merchant", eur.id}, {"payment_method", card}}), 201);
  EXPECT_EQ(string_at(payment, "status"), "captured");
  EXPECT_EQ(int_at(payment, "fx.settlement_amount"), 2'330);
  EXPECT_EQ(balance(eur.account), 2'330);
  EXPECT_EQ(system_balance("GBP", "gateway_clearing") - clearing, -2'000);
  EXPECT_BALANCED(api().trial_balance(), {"GBP", "EUR"});
}

TEST_F(FxPayments, CaptureAfterTheRateMovedBeyondToleranceIsReviewedButSettlesAtThePaymentsRate) {
  set_rate("EUR", "USD", "1.0842");
  Shop usd = shop("USD");
  std::string customer = api().funded_account(50'000, "EUR");
  std::string card = api().tokenize_card("5555555555554444");
  boost::json::value wallet_payment = EXPECT_JSON(wallet(customer, "EUR", usd, 10'000, false), 201);
  boost::json::value card_payment = EXPECT_JSON(
      pay({{"amount", 10'000}, {"currency", "EUR"}, {"merchant", usd.id}, {"payment_method", card}, {"capture", false}}),
      201);
  std::int64_t reviews = drift_reviews();

  set_rate("EUR", "USD", "1.1000");  // 1.46% up
  for (const boost::json::value& authorised : {wallet_payment, card_payment}) {
    SCOPED_TRACE(string_at(authorised, "source.type").value_or(""));
    std::string id = string_at(authorised, "id").value_or("");
    boost::json::value captured = EXPECT_JSON(action(id, "capture"), 200);
    EXPECT_EQ(string_at(captured, "status"), "captured");
    EXPECT_EQ(string_at(captured, "review"), "fx_drift");
    EXPECT_EQ(string_at(captured, "fx.rate"), "1.0842");
    EXPECT_EQ(int_at(captured, "fx.settlement_amount"), 10'842);
    EXPECT_EQ(string_at(api().payment(id), "review"), "fx_drift");
  }
  EXPECT_EQ(balance(usd.account), 2 * 10'842) << "both captures settled at the payment's rate, not 1.1000";
  EXPECT_EQ(drift_reviews(), reviews + 2);
  EXPECT_BALANCED(api().trial_balance(), {"EUR", "USD"});
}

TEST_F(FxPayments, CaptureWithinToleranceIsNotReviewed) {
  set_rate("EUR", "USD", "1.0842");
  Shop usd = shop("USD");
  std::string customer = api().funded_account(50'000, "EUR");
  std::string id = string_at(EXPECT_JSON(wallet(customer, "EUR", usd, 10'000, false), 201), "id").value_or("");
  std::int64_t reviews = drift_reviews();
  set_rate("EUR", "USD", "1.0896");  // 0.498% up
  boost::json::value captured = EXPECT_JSON(action(id, "capture"), 200);
  EXPECT_TRUE(captured.as_object().at("review").is_null()) << boost::json::serialize(captured);
  EXPECT_EQ(drift_reviews(), reviews);
  set_rate("EUR", "USD", "1.0842");
}

TEST_F(FxPayments, PartialCaptureAndRefundsReturnExactlyWhatWasSettled) {
  set_rate("EUR", "USD", "1.0842");
  Shop usd = shop("USD", {{"fee_fixed", 30}});
  std::string customer = api().funded_account(20'000, "EUR");
  std::string id = string_at(EXPECT_JSON(wallet(customer, "EUR", usd, 10'000, false), 201), "id").value_or("");
  boost::json::value captured = EXPECT_JSON(action(id, "capture", {{"amount", 3'333}}), 200);
  EXPECT_EQ(int_at(captured, "amount_captured"), 3'333);
  EXPECT_EQ(int_at(captured, "fee"), 30);
  EXPECT_EQ(balance(usd.account), 3'614 - 30) << "3333 EUR cents at 1.0842 = 3613.6386 USD cents";
  EXPECT_EQ(api().state(customer).held, 0) << "a capture releases the rest of the hold";

  EXPECT_EQ(EXPECT_JSON(action(id, "refunds", {{"amount", 1'111}}), 201).as_object().at("amount").as_int64(), 1'111);
  EXPECT_EQ(balance(usd.account), 3'614 - 30 - 1'205) << "1111 EUR cents settled 1204.5462 -> 1205";
  EXPECT_EQ(EXPECT_JSON(action(id, "refunds"), 201).as_object().at("amount").as_int64(), 2'222);
  EXPECT_EQ(balance(usd.account), -30) << "a full refund takes back exactly what was settled; the fee stays";
  EXPECT_EQ(balance(customer), 20'000);
  EXPECT_EQ(string_at(api().payment(id), "status"), "refunded");
  EXPECT_BALANCED(api().trial_balance(), {"EUR", "USD"});
  testing::CommandResult verified = payd().verify();
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
}

TEST_F(FxPayments, SameCurrencyPaymentsHaveNoFx) {
  Shop usd = shop("USD");
  boost::json::value payment = EXPECT_JSON(wallet(api().funded_account(1'000), "USD", usd, 500), 201);
  EXPECT_TRUE(payment.as_object().at("fx").is_null());
  EXPECT_TRUE(payment.as_object().at("review").is_null());
}

}  // namespace
}  // namespace payd::api_test
