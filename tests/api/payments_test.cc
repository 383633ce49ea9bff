// Merchants, payment methods and payments (API.md, Resources > Merchants,
// Payment methods, Payments; Rate limits).
#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "tests/api/api_test.h"

namespace payd::api_test {
namespace {

// fee_fixed + round_half_up(amount * fee_bps / 10000), capped at amount.
std::int64_t expected_fee(std::int64_t amount, std::int64_t fee_bps, std::int64_t fee_fixed) {
  std::int64_t fee = fee_fixed + (amount * fee_bps * 2 + 10'000) / 20'000;
  return std::min(fee, amount);
}

struct MerchantRef {
  std::string id;
  std::string account;
};

class Payments : public PaydSuite {
 protected:
  static void SetUpTestSuite() {
    start_shared({"--rate-limits", "off", "--gateway-timeout-ms", "300", "--recovery-interval-ms", "200"});
  }
  static void TearDownTestSuite() { stop_shared(); }

  MerchantRef merchant(boost::json::object fields = {}) {
    boost::json::value json = api().create_merchant(std::move(fields));
    return {string_at(json, "id").value_or(""), string_at(json, "account").value_or("")};
  }

  HttpResponse pay(boost::json::object body, const std::optional<std::string>& key = std::nullopt) {
    if (!body.contains("currency")) body["currency"] = "USD";
    return api().post("/v1/payments", body, key.value_or(unique_idempotency_key("pay")));
  }

  HttpResponse wallet(const std::string& customer, const MerchantRef& merchant, std::int64_t amount,
                      bool capture = true) {
    return pay({{"amount", amount}, {"merchant", merchant.id}, {"account", customer}, {"capture", capture}});
  }

  HttpResponse card(const std::string& payment_method, const MerchantRef& merchant, std::int64_t amount,
                    bool capture = true) {
    return pay({{"amount", amount}, {"merchant", merchant.id}, {"payment_method", payment_method}, {"capture", capture}});
  }

  HttpResponse action(const std::string& payment, const std::string& what, boost::json::object body = {}) {
    return api().post("/v1/payments/" + payment + "/" + what, body, unique_idempotency_key(what));
  }

  std::int64_t balance(const std::string& account) { return api().state(account).balance; }

  std::int64_t system_balance(std::string_view role, const std::string& currency = "USD") {
    TrialBalance trial = api().trial_balance();
    auto account = trial.system_account(currency, role);
    return account ? account->balance : 0;
  }

  // Polls GET /v1/payments/{id} until its status is `status` or `wait_ms` passes.
  boost::json::value await_status(const std::string& payment, const std::string& status, int wait_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    boost::json::value json;
    do {
      json = api().payment(payment);
      if (string_at(json, "status") == status) return json;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } while (std::chrono::steady_clock::now() < deadline);
    return json;
  }

  // A 402 for a payment names the failed payment it recorded.
  void expect_failed_payment(const boost::json::value& problem, const std::string& code) {
    auto id = string_at(problem, "payment");
    ASSERT_TRUE(has_prefix(id, "pay_")) << "402 without a payment member: " << boost::json::serialize(problem);
    boost::json::value payment = api().payment(*id);
    EXPECT_EQ(string_at(payment, "status"), "failed") << boost::json::serialize(payment);
    EXPECT_EQ(string_at(payment, "failure_code"), code) << boost::json::serialize(payment);
    EXPECT_EQ(int_at(payment, "amount_captured"), 0);
  }
};

// ---- Merchants --------------------------------------------------------------

TEST_F(Payments, CreateAndGetMerchant) {
  HttpResponse response = api().post("/v1/merchants", {{"name", "Acme"},
                                                        {"settlement_currency", "USD"},
                                                        {"max_amount", 100'000},
                                                        {"fee_bps", 290},
                                                        {"fee_fixed", 30},
                                                        {"mcc", "5812"}});
  boost::json::value merchant = EXPECT_JSON(response, 201);
  std::string id = string_at(merchant, "id").value_or("");
  EXPECT_TRUE(has_prefix(id, "mer_")) << response.body;
  EXPECT_EQ(string_at(merchant, "object"), "merchant");
  EXPECT_EQ(string_at(merchant, "name"), "Acme");
  EXPECT_EQ(string_at(merchant, "settlement_currency"), "USD");
  EXPECT_EQ(int_at(merchant, "max_amount"), 100'000);
  EXPECT_EQ(int_at(merchant, "fee_bps"), 290);
  EXPECT_EQ(int_at(merchant, "fee_fixed"), 30);
  EXPECT_EQ(string_at(merchant, "mcc"), "5812");
  EXPECT_EQ(bool_at(merchant, "active"), true);
  auto account_id = string_at(merchant, "account");
  ASSERT_TRUE(has_prefix(account_id, "acct_")) << response.body;

  HttpResponse read = api().get("/v1/merchants/" + id);
  EXPECT_EQ(EXPECT_JSON(read, 200), merchant) << "created: " << response.body << "\nread: " << read.body;

  boost::json::value account = api().account(*account_id);
  EXPECT_EQ(string_at(account, "currency"), "USD");
  EXPECT_EQ(string_at(account, "type"), "merchant");
  EXPECT_EQ(int_at(account, "balance"), 0);

  boost::json::value eur = api().create_merchant({}, "EUR");
  EXPECT_EQ(string_at(api().account(string_at(eur, "account").value_or("")), "currency"), "EUR")
      << "the merchant's account is in its settlement currency";
}

TEST_F(Payments, MerchantDefaults) {
  HttpResponse response =
      api().post("/v1/merchants", {{"name", "Plain"}, {"settlement_currency", "USD"}, {"max_amount", 5'000}});
  boost::json::value merchant = EXPECT_JSON(response, 201);
  EXPECT_EQ(int_at(merchant, "fee_bps"), 0) << response.body;
  EXPECT_EQ(int_at(merchant, "fee_fixed"), 0) << response.body;
  EXPECT_EQ(bool_at(merchant, "active"), true) << response.body;
}

TEST_F(Payments, InvalidMerchantFieldsAre400WithParam) {
  const boost::json::object good = {{"name", "Shop"}, {"settlement_currency", "USD"}, {"max_amount", 5'000}};
  struct Case {
    const char* field;
    boost::json::value value;  // null: leave the field out
  };
  const std::vector<Case> cases = {
      {"name", nullptr},          {"name", 42},
      {"settlement_currency", nullptr}, {"settlement_currency", "XXX"}, {"settlement_currency", "usd"},
      {"max_amount", nullptr},    {"max_amount", 0},   {"max_amount", 1.5}, {"max_amount", "100"},
      {"fee_bps", 10'001},        {"fee_bps", -1},     {"fee_bps", 2.5},
      {"fee_fixed", -1},          {"mcc", "58"},       {"mcc", "58a2"},     {"mcc", "12345"},
      {"active", "yes"},
  };
  for (const Case& c : cases) {
    boost::json::object body = good;
    if (c.value.is_null()) {
      body.erase(c.field);
    } else {
      body[c.field] = c.value;
    }
    SCOPED_TRACE(to_body(body));
    EXPECT_PROBLEM(api().post("/v1/merchants", body), 400, "invalid_request", std::string(c.field));
  }
}

TEST_F(Payments, PatchMerchant) {
  boost::json::value created = api().create_merchant({{"fee_bps", 100}, {"max_amount", 7'000}});
  std::string id = string_at(created, "id").value_or("");
  HttpResponse response = api().patch("/v1/merchants/" + id, {{"fee_bps", 250}, {"name", "Renamed"}, {"active", false}});
  boost::json::value patched = EXPECT_JSON(response, 200);
  EXPECT_EQ(int_at(patched, "fee_bps"), 250);
  EXPECT_EQ(string_at(patched, "name"), "Renamed");
  EXPECT_EQ(bool_at(patched, "active"), false);
  EXPECT_EQ(int_at(patched, "max_amount"), 7'000) << "fields not in the PATCH stay";
  EXPECT_EQ(string_at(patched, "account"), string_at(created, "account"));
  EXPECT_EQ(api().get("/v1/merchants/" + id).body, response.body);

  EXPECT_PROBLEM(api().patch("/v1/merchants/" + id, {{"fee_bps", 20'000}}), 400, "invalid_request", "fee_bps");
  EXPECT_EQ(int_at(json_of(api().get("/v1/merchants/" + id)), "fee_bps"), 250) << "a rejected PATCH changes nothing";
  EXPECT_PROBLEM(api().patch("/v1/merchants/mer_000000000000000000000000", {{"fee_bps", 1}}), 404, "not_found");
  EXPECT_PROBLEM(api().get("/v1/merchants/mer_000000000000000000000000"), 404, "not_found");
}

TEST_F(Payments, MerchantUpdateAppliesToTheNextPayment) {
  std::string customer = api().funded_account(10'000);
  MerchantRef shop = merchant({{"fee_bps", 0}, {"fee_fixed", 0}});
  EXPECT_EQ(int_at(EXPECT_JSON(wallet(customer, shop, 1'000), 201), "fee"), 0);
  EXPECT_JSON(api().patch("/v1/merchants/" + shop.id, {{"fee_fixed", 25}}), 200);
  EXPECT_EQ(int_at(EXPECT_JSON(wallet(customer, shop, 1'000), 201), "fee"), 25);
  EXPECT_JSON(api().patch("/v1/merchants/" + shop.id, {{"active", false}}), 200);
  EXPECT_PROBLEM(wallet(customer, shop, 1'000), 402, "merchant_inactive");
}

// ---- Wallet payments ---------------------------------------------------------

TEST_F(Payments, WalletPaymentCapturedMovesMoneyNetOfFee) {
  std::string customer = api().funded_account(10'000);
  MerchantRef shop = merchant({{"fee_bps", 290}, {"fee_fixed", 30}});
  std::int64_t fees_before = system_balance("fees");

  HttpResponse response = pay({{"amount", 1'000},
                               {"merchant", shop.id},
                               {"account", customer},
                               {"description", "coffee"},
                               {"metadata", {{"order", "7"}}}});
  boost::json::value payment = EXPECT_JSON(response, 201);
  EXPECT_TRUE(has_prefix(string_at(payment, "id"), "pay_")) << response.body;
  EXPECT_EQ(string_at(payment, "object"), "payment");
  EXPECT_EQ(int_at(payment, "amount"), 1'000);
  EXPECT_EQ(string_at(payment, "currency"), "USD");
  EXPECT_EQ(string_at(payment, "merchant"), shop.id);
  EXPECT_EQ(string_at(payment, "source.type"), "account");
  EXPECT_EQ(string_at(payment, "source.account"), customer);
  EXPECT_EQ(string_at(payment, "status"), "captured");
  EXPECT_EQ(int_at(payment, "amount_captured"), 1'000);
  EXPECT_EQ(int_at(payment, "amount_refunded"), 0);
  EXPECT_EQ(int_at(payment, "fee"), 59);  // 30 + 2.9% of 1000
  EXPECT_TRUE(is_rfc3339_utc(string_at(payment, "created_at"))) << response.body;
  EXPECT_TRUE(is_rfc3339_utc(string_at(payment, "updated_at"))) << response.body;
  EXPECT_EQ(string_at(payment, "metadata.order"), "7");

  EXPECT_EQ(api().state(customer), (AccountState{.balance = 9'000, .held = 0, .available = 9'000, .version = 2}));
  EXPECT_EQ(balance(shop.account), 941);
  EXPECT_EQ(system_balance("fees"), fees_before + 59);
  EXPECT_BALANCED(api().trial_balance(), {"USD"});

  std::string id = string_at(payment, "id").value_or("");
  EXPECT_EQ(api().payment(id), payment);
}

TEST_F(Payments, FeeRoundsHalfUpAndIsCappedAtTheAmount) {
  std::string customer = api().funded_account(100'000);
  MerchantRef percent = merchant({{"fee_bps", 100}});
  for (std::int64_t amount : {150, 149, 50, 49, 1, 12'345}) {
    SCOPED_TRACE(amount);
    std::int64_t before = balance(percent.account);
    boost::json::value payment = EXPECT_JSON(wallet(customer, percent, amount), 201);
    EXPECT_EQ(int_at(payment, "fee"), expected_fee(amount, 100, 0));
    EXPECT_EQ(balance(percent.account), before + amount - expected_fee(amount, 100, 0));
  }
  MerchantRef fixed = merchant({{"fee_fixed", 500}});
  boost::json::value small = EXPECT_JSON(wallet(customer, fixed, 100), 201);
  EXPECT_EQ(int_at(small, "fee"), 100) << "the fee is capped at the captured amount";
  EXPECT_EQ(balance(fixed.account), 0);
  EXPECT_BALANCED(api().trial_balance(), {"USD"});
}

TEST_F(Payments, AuthorizeHoldsThenCaptureSettles) {
  std::string customer = api().funded_account(10'000);
  MerchantRef shop = merchant({{"fee_bps", 290}, {"fee_fixed", 30}});
  HttpResponse response = wallet(customer, shop, 1'000, false);
  boost::json::value payment = EXPECT_JSON(response, 201);
  std::string id = string_at(payment, "id").value_or("");
  EXPECT_EQ(string_at(payment, "status"), "authorized");
  EXPECT_EQ(int_at(payment, "amount_captured"), 0);
  EXPECT_EQ(api().state(customer), (AccountState{.balance = 10'000, .held = 1'000, .available = 9'000, .version = 1}));
  EXPECT_EQ(balance(shop.account), 0);

  HttpResponse captured = action(id, "capture");
  boost::json::value after = EXPECT_JSON(captured, 200);
  EXPECT_EQ(string_at(after, "status"), "captured");
  EXPECT_EQ(int_at(after, "amount_captured"), 1'000);
  EXPECT_EQ(int_at(after, "fee"), 59);
  EXPECT_EQ(api().state(customer), (AccountState{.balance = 9'000, .held = 0, .available = 9'000, .version = 2}));
  EXPECT_EQ(balance(shop.account), 941);
  EXPECT_BALANCED(api().trial_balance(), {"USD"});
}

TEST_F(Payments, AuthorizationOfTheWholeBalanceCanBeCaptured) {
  std::string customer = api().funded_account(1'000);
  MerchantRef shop = merchant();
  std::string id = string_at(json_of(wallet(customer, shop, 1'000, false)), "id").value_or("");
  EXPECT_EQ(api().state(customer).available, 0);
  boost::json::value captured = EXPECT_JSON(action(id, "capture"), 200);
  EXPECT_EQ(string_at(captured, "status"), "captured");
  EXPECT_EQ(api().state(customer), (AccountState{.balance = 0, .held = 0, .available = 0, .version = 2}));
  EXPECT_EQ(balance(shop.account), 1'000);
}

TEST_F(Payments, PartialCaptureReleasesTheRestAndIsFinal) {
  std::string customer = api().funded_account(10'000);
  MerchantRef shop = merchant({{"fee_bps", 100}});
  std::string id = string_at(json_of(wallet(customer, shop, 1'000, false)), "id").value_or("");

  boost::json::value after = EXPECT_JSON(action(id, "capture", {{"amount", 600}}), 200);
  EXPECT_EQ(string_at(after, "status"), "captured");
  EXPECT_EQ(int_at(after, "amount_captured"), 600);
  EXPECT_EQ(int_at(after, "fee"), 6);
  EXPECT_EQ(api().state(customer), (AccountState{.balance = 9'400, .held = 0, .available = 9'400, .version = 2}));
  EXPECT_EQ(balance(shop.account), 594);

  Snapshot before = api().snapshot({customer, shop.account});
  EXPECT_PROBLEM(action(id, "capture"), 409, "invalid_state");
  EXPECT_PROBLEM(action(id, "capture", {{"amount", 100}}), 409, "invalid_state");
  EXPECT_EQ(api().snapshot({customer, shop.account}), before);
}

TEST_F(Payments, CaptureMoreThanAuthorizedIs400) {
  std::string customer = api().funded_account(10'000);
  MerchantRef shop = merchant();
  std::string id = string_at(json_of(wallet(customer, shop, 500, false)), "id").value_or("");
  EXPECT_PROBLEM(action(id, "capture", {{"amount", 501}}), 400, "invalid_request", "amount");
  EXPECT_PROBLEM(action(id, "capture", {{"amount", 0}}), 400, "invalid_request", "amount");
  EXPECT_EQ(string_at(api().payment(id), "status"), "authorized");
  EXPECT_EQ(api().state(customer), (AccountState{.balance = 10'000, .held = 500, .available = 9'500, .version = 1}));
  EXPECT_JSON(action(id, "capture", {{"amount", 500}}), 200);
}

TEST_F(Payments, VoidReleasesTheHold) {
  std::string customer = api().funded_account(10'000);
  MerchantRef shop = merchant();
  std::string id = string_at(json_of(wallet(customer, shop, 1'000, false)), "id").value_or("");
  boost::json::value voided = EXPECT_JSON(action(id, "void"), 200);
  EXPECT_EQ(string_at(voided, "status"), "voided");
  EXPECT_EQ(api().state(customer), (AccountState{.balance = 10'000, .held = 0, .available = 10'000, .version = 1}));
  EXPECT_EQ(balance(shop.account), 0);

  EXPECT_PROBLEM(action(id, "capture"), 409, "invalid_state");
  EXPECT_PROBLEM(action(id, "void"), 409, "invalid_state");
  EXPECT_PROBLEM(action(id, "refunds"), 409, "invalid_state");
  EXPECT_EQ(api().state(customer), (AccountState{.balance = 10'000, .held = 0, .available = 10'000, .version = 1}));
}

TEST_F(Payments, VoidAfterCaptureIs409) {
  std::string customer = api().funded_account(10'000);
  MerchantRef shop = merchant();
  std::string id = string_at(json_of(wallet(customer, shop, 1'000)), "id").value_or("");
  Snapshot before = api().snapshot({customer, shop.account});
  EXPECT_PROBLEM(action(id, "void"), 409, "invalid_state");
  EXPECT_EQ(string_at(api().payment(id), "status"), "captured");
  EXPECT_EQ(api().snapshot({customer, shop.account}), before);
}

TEST_F(Payments, RefundsPartialThenFull) {
  std::string customer = api().funded_account(10'000);
  MerchantRef shop = merchant({{"fee_bps", 290}, {"fee_fixed", 30}});
  std::string id = string_at(json_of(wallet(customer, shop, 1'000)), "id").value_or("");
  std::int64_t fees = system_balance("fees");
  ASSERT_EQ(balance(shop.account), 941);

  HttpResponse partial = action(id, "refunds", {{"amount", 300}, {"reason", "requested_by_customer"}});
  boost::json::value refund = EXPECT_JSON(partial, 201);
  EXPECT_TRUE(has_prefix(string_at(refund, "id"), "re_")) << partial.body;
  EXPECT_EQ(string_at(refund, "object"), "refund");
  EXPECT_EQ(string_at(refund, "payment"), id);
  EXPECT_EQ(int_at(refund, "amount"), 300);
  EXPECT_EQ(string_at(refund, "status"), "succeeded");
  EXPECT_TRUE(is_rfc3339_utc(string_at(refund, "created_at")));
  boost::json::value payment = api().payment(id);
  EXPECT_EQ(string_at(payment, "status"), "partially_refunded");
  EXPECT_EQ(int_at(payment, "amount_refunded"), 300);
  EXPECT_EQ(balance(customer), 9'300);
  EXPECT_EQ(balance(shop.account), 641) << "the whole refund is debited from the merchant";

  Snapshot before = api().snapshot({customer, shop.account});
  EXPECT_PROBLEM(action(id, "refunds", {{"amount", 701}}), 409, "amount_exceeds_refundable");
  EXPECT_PROBLEM(action(id, "refunds", {{"amount", 0}}), 400, "invalid_request", "amount");
  EXPECT_EQ(api().snapshot({customer, shop.account}), before);

  boost::json::value rest = EXPECT_JSON(action(id, "refunds"), 201);
  EXPECT_EQ(int_at(rest, "amount"), 700) << "the default refund is what is left";
  payment = api().payment(id);
  EXPECT_EQ(string_at(payment, "status"), "refunded");
  EXPECT_EQ(int_at(payment, "amount_refunded"), 1'000);
  EXPECT_EQ(int_at(payment, "fee"), 59);
  EXPECT_EQ(balance(customer), 10'000);
  EXPECT_EQ(balance(shop.account), -59) << "the merchant may go negative for a refund; the fee is not returned";
  EXPECT_EQ(system_balance("fees"), fees);

  HttpResponse more = action(id, "refunds", {{"amount", 1}});
  EXPECT_EQ(more.status, 409) << more.body;
  auto code = string_at(json_of(more), "code");
  EXPECT_TRUE(code == "amount_exceeds_refundable" || code == "invalid_state") << more.body;
  EXPECT_EQ(balance(customer), 10'000);
  EXPECT_BALANCED(api().trial_balance(), {"USD"});
}

TEST_F(Payments, RefundOfAnAuthorizationIs409) {
  std::string customer = api().funded_account(10'000);
  MerchantRef shop = merchant();
  std::string id = string_at(json_of(wallet(customer, shop, 1'000, false)), "id").value_or("");
  EXPECT_PROBLEM(action(id, "refunds", {{"amount", 100}}), 409, "invalid_state");
  EXPECT_EQ(api().state(customer), (AccountState{.balance = 10'000, .held = 1'000, .available = 9'000, .version = 1}));
}

TEST_F(Payments, UnknownPaymentIs404) {
  const std::string missing = "pay_000000000000000000000000";
  EXPECT_PROBLEM(api().get("/v1/payments/" + missing), 404, "not_found");
  for (const char* what : {"capture", "void", "refunds"}) {
    SCOPED_TRACE(what);
    EXPECT_PROBLEM(action(missing, what), 404, "not_found");
  }
}

TEST_F(Payments, InactiveMerchantIs402WithAFailedPayment) {
  std::string customer = api().funded_account(10'000);
  MerchantRef shop = merchant({{"active", false}});
  Snapshot before = api().snapshot({customer, shop.account});
  HttpResponse response = wallet(customer, shop, 1'000);
  boost::json::value problem = EXPECT_PROBLEM(response, 402, "merchant_inactive");
  expect_failed_payment(problem, "merchant_inactive");
  EXPECT_EQ(api().snapshot({customer, shop.account}), before);
}

TEST_F(Payments, AmountOverTheMerchantMaximumIs402) {
  std::string customer = api().funded_account(10'000);
  MerchantRef shop = merchant({{"max_amount", 5'000}});
  Snapshot before = api().snapshot({customer, shop.account});
  boost::json::value problem = EXPECT_PROBLEM(wallet(customer, shop, 5'001), 402, "amount_over_limit");
  expect_failed_payment(problem, "amount_over_limit");
  EXPECT_EQ(api().snapshot({customer, shop.account}), before);
  EXPECT_JSON(wallet(customer, shop, 5'000), 201);
}

TEST_F(Payments, WalletWithoutFundsIs402WithAFailedPayment) {
  std::string customer = api().funded_account(100);
  MerchantRef shop = merchant();
  Snapshot before = api().snapshot({customer, shop.account});
  boost::json::value problem = EXPECT_PROBLEM(wallet(customer, shop, 200), 402, "insufficient_funds");
  expect_failed_payment(problem, "insufficient_funds");
  EXPECT_EQ(api().snapshot({customer, shop.account}), before);
  // Authorisations count against available funds too.
  EXPECT_PROBLEM(wallet(customer, shop, 101, false), 402, "insufficient_funds");
  EXPECT_EQ(api().snapshot({customer, shop.account}), before);
}

TEST_F(Payments, HeldFundsAreNotAvailableForOtherPayments) {
  std::string customer = api().funded_account(1'000);
  MerchantRef shop = merchant();
  EXPECT_JSON(wallet(customer, shop, 700, false), 201);
  EXPECT_PROBLEM(wallet(customer, shop, 400), 402, "insufficient_funds");
  EXPECT_PROBLEM(api().post("/v1/transfers",
                            {{"from", customer}, {"to", shop.account}, {"amount", 301}, {"currency", "USD"}},
                            unique_idempotency_key()),
                 402, "insufficient_funds", "amount");
  EXPECT_EQ(api().state(customer), (AccountState{.balance = 1'000, .held = 700, .available = 300, .version = 1}));
}

TEST_F(Payments, InvalidPaymentRequestsAre400AndChangeNothing) {
  std::string customer = api().funded_account(10'000);
  std::string euro = api().funded_account(10'000, "EUR");
  MerchantRef shop = merchant();
  std::string method = api().tokenize_card("4242424242424242");
  Snapshot before = api().snapshot({customer, euro, shop.account});

  struct Case {
    boost::json::object body;
    std::optional<std::string> param;
  };
  const std::vector<Case> cases = {
      {{{"amount", 100}, {"merchant", shop.id}}, std::nullopt},
      {{{"amount", 100}, {"merchant", shop.id}, {"account", customer}, {"payment_method", method}}, std::nullopt},
      {{{"amount", 100}, {"merchant", "mer_000000000000000000000000"}, {"account", customer}}, "merchant"},
      {{{"amount", 100}, {"merchant", customer}, {"account", customer}}, "merchant"},
      {{{"amount", 100}, {"merchant", shop.id}, {"account", "acct_000000000000000000000000"}}, "account"},
      {{{"amount", 100}, {"merchant", shop.id}, {"account", euro}}, "account"},
      {{{"amount", 100}, {"merchant", shop.id}, {"payment_method", "pm_000000000000000000000000"}}, "payment_method"},
      {{{"amount", 0}, {"merchant", shop.id}, {"account", customer}}, "amount"},
      {{{"amount", 10.5}, {"merchant", shop.id}, {"account", customer}}, "amount"},
      {{{"merchant", shop.id}, {"account", customer}}, "amount"},
      {{{"amount", 100}, {"account", customer}}, "merchant"},
      {{{"amount", 100}, {"merchant", shop.id}, {"account", customer}, {"currency", "XXX"}}, "currency"},
      {{{"amount", 100}, {"merchant", shop.id}, {"account", customer}, {"capture", "yes"}}, "capture"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(to_body(c.body));
    EXPECT_PROBLEM(pay(c.body), 400, "invalid_request", c.param);
  }
  EXPECT_EQ(api().snapshot({customer, euro, shop.account}), before);
}

TEST_F(Payments, ListPaymentsByMerchant) {
  std::string customer = api().funded_account(10'000);
  MerchantRef shop = merchant();
  MerchantRef other = merchant();
  std::string method = api().tokenize_card("4242424242424242");
  std::set<std::string> made;
  for (std::int64_t amount : {100, 200, 300}) {
    made.insert(string_at(json_of(wallet(customer, shop, amount)), "id").value_or(""));
  }
  made.insert(string_at(json_of(card(method, shop, 400)), "id").value_or(""));
  EXPECT_JSON(wallet(customer, other, 50), 201);

  HttpResponse all = api().get("/v1/payments?merchant=" + shop.id);
  boost::json::value list = EXPECT_JSON(all, 200);
  EXPECT_EQ(string_at(list, "object"), "list");
  EXPECT_EQ(bool_at(list, "has_more"), false);
  const boost::json::value* data = testing::find_path(list, "data");
  ASSERT_TRUE(data && data->is_array()) << all.body;
  std::set<std::string> listed;
  for (const auto& payment : data->get_array()) {
    EXPECT_EQ(string_at(payment, "merchant"), shop.id);
    EXPECT_EQ(string_at(payment, "object"), "payment");
    listed.insert(string_at(payment, "id").value_or(""));
  }
  EXPECT_EQ(listed, made);

  // Paging with limit and starting_after visits every payment once.
  std::set<std::string> paged;
  std::string cursor;
  bool has_more = true;
  for (int page = 0; page < 3 && has_more; ++page) {
    std::string target = "/v1/payments?merchant=" + shop.id + "&limit=3";
    if (!cursor.empty()) target += "&starting_after=" + cursor;
    HttpResponse response = api().get(target);
    boost::json::value json = EXPECT_JSON(response, 200);
    const boost::json::value* items = testing::find_path(json, "data");
    ASSERT_TRUE(items && items->is_array()) << response.body;
    EXPECT_EQ(items->get_array().size(), page == 0 ? 3u : 1u) << response.body;
    for (const auto& payment : items->get_array()) {
      EXPECT_TRUE(paged.insert(string_at(payment, "id").value_or("")).second) << "listed twice: " << response.body;
    }
    has_more = bool_at(json, "has_more").value_or(false);
    EXPECT_EQ(has_more, page == 0) << response.body;
    if (!items->get_array().empty()) cursor = string_at(items->get_array().back(), "id").value_or("");
  }
  EXPECT_EQ(paged, made);
}

// ---- Payment methods -----------------------------------------------------------

TEST_F(Payments, TokenizedCardsShowBrandBinAndLast4Only) {
  struct Card {
    const char* number;
    const char* brand;
    const char* bin;
    const char* last4;
  };
  for (const Card& card : {Card{"4242424242424242", "visa", "424242", "4242"},
                           Card{"5555555555554444", "mastercard", "555555", "4444"},
                           Card{"2221000000000009", "mastercard", "222100", "0009"},
                           Card{"378282246310005", "amex", "378282", "0005"},
                           Card{"6011111111111117", "unknown", "601111", "1117"},
                           Card{"4000000000000002", "visa", "400000", "0002"}}) {
    SCOPED_TRACE(card.number);
    HttpResponse response = api().post(
        "/v1/payment_methods",
        {{"type", "card"}, {"card", {{"number", card.number}, {"exp_month", 12}, {"exp_year", 2034}}}});
    boost::json::value method = EXPECT_JSON(response, 201);
    std::string id = string_at(method, "id").value_or("");
    EXPECT_TRUE(has_prefix(id, "pm_")) << response.body;
    EXPECT_EQ(string_at(method, "object"), "payment_method");
    EXPECT_EQ(string_at(method, "type"), "card");
    EXPECT_EQ(string_at(method, "card.brand"), card.brand);
    EXPECT_EQ(string_at(method, "card.bin"), card.bin);
    EXPECT_EQ(string_at(method, "card.last4"), card.last4);
    EXPECT_EQ(int_at(method, "card.exp_month"), 12);
    EXPECT_EQ(int_at(method, "card.exp_year"), 2034);
    auto fingerprint = string_at(method, "card.fingerprint");
    EXPECT_TRUE(fingerprint && !fingerprint->empty()) << response.body;
    EXPECT_TRUE(is_rfc3339_utc(string_at(method, "created_at"))) << response.body;
    EXPECT_EQ(response.body.find(card.number), std::string::npos) << "the full number must never be returned";

    HttpResponse read = api().get("/v1/payment_methods/" + id);
    EXPECT_EQ(EXPECT_JSON(read, 200), method);
    EXPECT_EQ(read.body.find(card.number), std::string::npos);
  }
}

TEST_F(Payments, CardFingerprintIdentifiesTheNumber) {
  auto fingerprint = [&](const std::string& number) {
    std::string id = api().tokenize_card(number);
    return std::make_pair(id, string_at(json_of(api().get("/v1/payment_methods/" + id)), "card.fingerprint"));
  };
  auto first = fingerprint("4242424242424242");
  auto second = fingerprint("4242424242424242");
  auto other = fingerprint("5555555555554444");
  EXPECT_NE(first.first, second.first) << "each tokenisation is a new payment method";
  EXPECT_EQ(first.second, second.second);
  EXPECT_NE(first.second, other.second);
  EXPECT_NE(first.second, std::optional<std::string>("4242424242424242"));
}

TEST_F(Payments, PaymentMethodCustomer) {
  std::string customer = api().create_account();
  std::string id = api().tokenize_card("4242424242424242", customer);
  EXPECT_EQ(string_at(json_of(api().get("/v1/payment_methods/" + id)), "customer"), customer);
  EXPECT_PROBLEM(api().post("/v1/payment_methods", {{"type", "card"},
                                                    {"card", {{"number", "4242424242424242"}, {"exp_month", 12}, {"exp_year", 2034}}},
                                                    {"customer", "acct_000000000000000000000000"}}),
                 400, "invalid_request", "customer");
}

TEST_F(Payments, InvalidCardsAre400AndNeverEchoed) {
  for (const char* number : {"4242424242424241", "42424242424", "424242424242424242420", "4242abcd42424242", ""}) {
    SCOPED_TRACE(number);
    HttpResponse response = api().post(
        "/v1/payment_methods", {{"type", "card"}, {"card", {{"number", number}, {"exp_month", 12}, {"exp_year", 2034}}}});
    boost::json::value problem = EXPECT_PROBLEM(response, 400, "invalid_request");
    EXPECT_TRUE(string_at(problem, "param").value_or("").starts_with("card")) << response.body;
    if (std::string_view(number).size() > 4) {
      EXPECT_EQ(response.body.find(number), std::string::npos) << "a rejected number must not be echoed";
    }
  }
  for (int month : {0, 13}) {
    HttpResponse response = api().post(
        "/v1/payment_methods",
        {{"type", "card"}, {"card", {{"number", "4242424242424242"}, {"exp_month", month}, {"exp_year", 2034}}}});
    boost::json::value problem = EXPECT_PROBLEM(response, 400, "invalid_request");
    EXPECT_TRUE(string_at(problem, "param").value_or("").starts_with("card")) << response.body;
  }
  EXPECT_PROBLEM(api().post("/v1/payment_methods", {{"type", "bank_account"},
                                                    {"card", {{"number", "4242424242424242"}, {"exp_month", 12}, {"exp_year", 2034}}}}),
                 400, "invalid_request", "type");
  EXPECT_PROBLEM(api().get("/v1/payment_methods/pm_000000000000000000000000"), 404, "not_found");
}

// ---- Card payments ---------------------------------------------------------------

TEST_F(Payments, ApprovedCardsAreCaptured) {
  for (const char* number : {"4242424242424242", "5555555555554444"}) {
    SCOPED_TRACE(number);
    MerchantRef shop = merchant({{"fee_bps", 290}, {"fee_fixed", 30}});
    std::string method = api().tokenize_card(number);
    std::int64_t clearing_before = system_balance("clearing");
    HttpResponse response = card(method, shop, 2'000);
    boost::json::value payment = EXPECT_JSON(response, 201);
    EXPECT_EQ(string_at(payment, "status"), "captured");
    EXPECT_EQ(string_at(payment, "source.type"), "card");
    EXPECT_EQ(string_at(payment, "source.payment_method"), method);
    EXPECT_EQ(int_at(payment, "amount_captured"), 2'000);
    EXPECT_EQ(int_at(payment, "fee"), expected_fee(2'000, 290, 30));
    EXPECT_FALSE(string_at(payment, "gateway").value_or("").empty()) << response.body;
    EXPECT_FALSE(string_at(payment, "gateway_reference").value_or("").empty()) << response.body;
    EXPECT_EQ(response.body.find(number), std::string::npos);
    EXPECT_EQ(balance(shop.account), 2'000 - expected_fee(2'000, 290, 30));
    EXPECT_EQ(system_balance("clearing"), clearing_before - 2'000)
        << "a card payment posts against the gateway clearing account";
    EXPECT_BALANCED(api().trial_balance(), {"USD"});
  }
}

TEST_F(Payments, RefusedCardsAre402WithAFailedPayment) {
  struct Case {
    const char* number;
    const char* code;
  };
  for (const Case& c : {Case{"4000000000000002", "card_declined"}, Case{"4000000000009995", "insufficient_funds"},
                        Case{"4000000000000119", "processing_error"}}) {
    SCOPED_TRACE(c.number);
    MerchantRef shop = merchant();
    std::string method = api().tokenize_card(c.number);
    TrialBalance before = api().trial_balance();
    HttpResponse response = card(method, shop, 1'500);
    boost::json::value problem = EXPECT_PROBLEM(response, 402, c.code);
    expect_failed_payment(problem, c.code);
    EXPECT_EQ(balance(shop.account), 0);
    EXPECT_EQ(api().trial_balance(), before) << "a refused card moves no money";
  }
}

TEST_F(Payments, GatewayTimeoutIs202PendingThenCaptured) {
  MerchantRef shop = merchant({{"fee_bps", 100}});
  std::string method = api().tokenize_card("4000000000000259");
  const std::string key = unique_idempotency_key("timeout");
  const boost::json::object body = {
      {"amount", 3'000}, {"currency", "USD"}, {"merchant", shop.id}, {"payment_method", method}};
  HttpResponse response = api().post("/v1/payments", body, key);
  boost::json::value payment = EXPECT_JSON(response, 202);
  EXPECT_EQ(string_at(payment, "status"), "pending") << response.body;
  std::string id = string_at(payment, "id").value_or("");
  ASSERT_TRUE(has_prefix(id, "pay_")) << response.body;

  HttpResponse replay = api().post("/v1/payments", body, key);
  EXPECT_EQ(replay.status, 202) << "a stored 202 is replayed like any outcome";
  EXPECT_EQ(replay.header("idempotent-replayed"), "true");
  EXPECT_EQ(replay.body, response.body);

  boost::json::value resolved = await_status(id, "captured", 10'000);
  EXPECT_EQ(string_at(resolved, "status"), "captured") << "not resolved within 10 s: " << boost::json::serialize(resolved);
  EXPECT_EQ(int_at(resolved, "amount_captured"), 3'000);
  EXPECT_EQ(balance(shop.account), 3'000 - 30);
  EXPECT_BALANCED(api().trial_balance(), {"USD"});
}

TEST_F(Payments, CardAuthorizeThenCaptureOrVoid) {
  MerchantRef shop = merchant();
  std::string method = api().tokenize_card("4242424242424242");
  boost::json::value authorized = EXPECT_JSON(card(method, shop, 1'000, false), 201);
  EXPECT_EQ(string_at(authorized, "status"), "authorized");
  EXPECT_EQ(balance(shop.account), 0);
  boost::json::value captured = EXPECT_JSON(action(string_at(authorized, "id").value_or(""), "capture"), 200);
  EXPECT_EQ(string_at(captured, "status"), "captured");
  EXPECT_EQ(int_at(captured, "amount_captured"), 1'000);
  EXPECT_EQ(balance(shop.account), 1'000);

  boost::json::value second = EXPECT_JSON(card(method, shop, 500, false), 201);
  boost::json::value voided = EXPECT_JSON(action(string_at(second, "id").value_or(""), "void"), 200);
  EXPECT_EQ(string_at(voided, "status"), "voided");
  EXPECT_EQ(balance(shop.account), 1'000);
  EXPECT_BALANCED(api().trial_balance(), {"USD"});
}

TEST_F(Payments, CardRefund) {
  MerchantRef shop = merchant();
  std::string method = api().tokenize_card("4242424242424242");
  std::string id = string_at(json_of(card(method, shop, 1'000)), "id").value_or("");
  std::int64_t clearing = system_balance("clearing");
  HttpResponse response = action(id, "refunds", {{"amount", 400}});
  boost::json::value refund = EXPECT_JSON(response, 201);
  auto status = string_at(refund, "status");
  EXPECT_TRUE(status == "succeeded" || status == "pending") << response.body;
  EXPECT_EQ(int_at(refund, "amount"), 400);
  boost::json::value payment = api().payment(id);
  EXPECT_EQ(string_at(payment, "status"), "partially_refunded");
  EXPECT_EQ(int_at(payment, "amount_refunded"), 400);
  EXPECT_EQ(balance(shop.account), 600);
  EXPECT_EQ(system_balance("clearing"), clearing + 400) << "a card refund is credited back to the clearing account";
  EXPECT_BALANCED(api().trial_balance(), {"USD"});
}

// ---- Rate limits -----------------------------------------------------------------

class RateLimits : public PaydSuite {
 protected:
  static void SetUpTestSuite() { start_shared({}); }
  static void TearDownTestSuite() { stop_shared(); }
};

TEST_F(RateLimits, FivePaymentAttemptsPerMinutePerCustomer) {
  std::string customer = api().funded_account(100'000);
  std::string other = api().funded_account(100'000);
  std::string shop = string_at(api().create_merchant(), "id").value_or("");
  auto attempt = [&](const std::string& account, const std::string& key, bool capture = true) {
    return api().post("/v1/payments",
                      {{"amount", 100}, {"currency", "USD"}, {"merchant", shop}, {"account", account}, {"capture", capture}},
                      key);
  };

  std::vector<std::string> keys;
  std::vector<std::string> authorized;
  for (int i = 0; i < 4; ++i) {
    keys.push_back(unique_idempotency_key("limit"));
    HttpResponse response = attempt(customer, keys.back(), false);
    EXPECT_EQ(response.status, 201) << "attempt " << i + 1 << ": " << response.body;
    authorized.push_back(string_at(json_of(response), "id").value_or(""));
  }
  for (const auto& id : authorized) {  // captures do not count
    EXPECT_EQ(api().post("/v1/payments/" + id + "/capture", R"({})", unique_idempotency_key()).status, 200);
  }
  HttpResponse replay = attempt(customer, keys[0], false);  // replays do not count
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(replay.header("idempotent-replayed"), "true");
  keys.push_back(unique_idempotency_key("limit"));
  EXPECT_EQ(attempt(customer, keys.back()).status, 201) << "the fifth attempt is within the limit";

  Snapshot before = api().snapshot({customer});
  const std::string sixth = unique_idempotency_key("limit");
  HttpResponse limited = attempt(customer, sixth);
  EXPECT_PROBLEM(limited, 429, "rate_limited");
  std::string retry_after = limited.header("retry-after");
  ASSERT_FALSE(retry_after.empty());
  ASSERT_EQ(retry_after.find_first_not_of("0123456789"), std::string::npos) << "Retry-After: " << retry_after;
  int seconds = std::stoi(retry_after);
  EXPECT_GE(seconds, 1);
  EXPECT_LE(seconds, 60);
  std::string policy = limited.header("ratelimit-policy");
  EXPECT_NE(policy.find("\"minute\";q=5;w=60"), std::string::npos) << "RateLimit-Policy: " << policy;
  EXPECT_NE(policy.find("\"hour\";q=10;w=3600"), std::string::npos) << "RateLimit-Policy: " << policy;
  EXPECT_NE(policy.find("\"day\";q=100;w=86400"), std::string::npos) << "RateLimit-Policy: " << policy;
  std::string limit = limited.header("ratelimit");
  EXPECT_NE(limit.find("\"minute\""), std::string::npos) << "RateLimit: " << limit;
  EXPECT_NE(limit.find("r=0"), std::string::npos) << "RateLimit: " << limit;
  EXPECT_NE(limit.find("t="), std::string::npos) << "RateLimit: " << limit;
  EXPECT_EQ(api().snapshot({customer}), before);

  HttpResponse again = attempt(customer, sixth);
  EXPECT_EQ(again.status, 429) << "a 429 is not stored; the retry is limited again";
  EXPECT_NE(again.header("idempotent-replayed"), "true");

  EXPECT_EQ(attempt(other, unique_idempotency_key("limit")).status, 201) << "limits are per customer";
}

}  // namespace
}  // namespace payd::api_test
