// The workloads' choices: Zipf skew as promised, requests that name only
// the fixture's accounts, never a transfer from an account to itself, and
// payments to one merchant (hot-merchant) or spread evenly over all of them
// (payments-uniform), otherwise alike.
#include "bench/paybench/workload.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "bench/paybench/json_fields.h"

namespace payd::bench {
namespace {

Fixture make_fixture(std::size_t accounts, std::size_t merchants = 1) {
  Fixture fixture;
  fixture.currency = "USD";
  for (std::size_t index = 0; index < accounts; ++index) fixture.account_ids.push_back("acct_" + std::to_string(index));
  for (std::size_t index = 0; index < merchants; ++index) {
    std::string number = std::to_string(index);
    fixture.merchants.push_back({"mer_" + number, "acct_merchant_" + number});
  }
  fixture.payment_method_id = "pm_1";
  return fixture;
}

// What a captured wallet payment names; fails the test for anything else.
struct WalletPaymentBody {
  std::string merchant;
  std::string account;
  std::int64_t amount_minor = 0;
};

WalletPaymentBody expect_captured_wallet_payment(const PlannedRequest& planned) {
  EXPECT_EQ(planned.kind, RequestKind::wallet_payment);
  EXPECT_EQ(planned.request.method, "POST");
  EXPECT_EQ(planned.request.target, "/v1/payments");
  boost::json::object body = parse_object(planned.request.body);
  const boost::json::value* capture = body.if_contains("capture");
  EXPECT_TRUE(capture != nullptr && capture->is_bool() && capture->as_bool());
  EXPECT_EQ(text_member(body, "currency"), "USD");
  WalletPaymentBody payment{text_member(body, "merchant"), text_member(body, "account"),
                            integer_member(body, "amount").value_or(0)};
  EXPECT_GE(payment.amount_minor, 1);
  EXPECT_LE(payment.amount_minor, WorkloadGenerator::amount_max_minor);
  EXPECT_EQ(payment.account.rfind("acct_", 0), 0u);
  EXPECT_EQ(payment.account.find("merchant"), std::string::npos);
  return payment;
}

TEST(Workload, NamesRoundTripAndMerchantCounts) {
  for (WorkloadKind workload : {WorkloadKind::transfers_uniform, WorkloadKind::transfers_zipf,
                                WorkloadKind::hot_merchant, WorkloadKind::payments_uniform, WorkloadKind::payment_mix,
                                WorkloadKind::read_heavy}) {
    EXPECT_EQ(parse_workload(to_string(workload)), workload);
  }
  EXPECT_EQ(parse_workload("payments-uniform"), WorkloadKind::payments_uniform);
  EXPECT_EQ(merchants_for(WorkloadKind::payments_uniform, 100), 100u);
  EXPECT_EQ(merchants_for(WorkloadKind::payments_uniform, 1), 1u);
  EXPECT_EQ(merchants_for(WorkloadKind::hot_merchant, 100), 1u);
  EXPECT_EQ(merchants_for(WorkloadKind::payment_mix, 100), 1u);
  EXPECT_EQ(merchants_for(WorkloadKind::transfers_uniform, 100), 0u);
  EXPECT_EQ(merchants_for(WorkloadKind::read_heavy, 100), 0u);
  EXPECT_TRUE(pays_merchant(WorkloadKind::payments_uniform));
}

TEST(ZipfSampler, RankFrequenciesFollowThePowerLaw) {
  constexpr std::size_t count = 1000;
  constexpr int draws = 400'000;
  ZipfSampler zipf(count, 0.99);
  SeededRandom random(11);
  std::vector<int> hits(count, 0);
  for (int draw = 0; draw < draws; ++draw) hits[zipf.sample(random)] += 1;
  double normaliser = 0.0;
  for (std::size_t rank = 1; rank <= count; ++rank) normaliser += 1.0 / std::pow(static_cast<double>(rank), 0.99);
  for (std::size_t rank : {0, 1, 9}) {
    double expected = draws / std::pow(static_cast<double>(rank + 1), 0.99) / normaliser;
    EXPECT_NEAR(hits[rank], expected, expected * 0.05) << "rank " << rank;
  }
}

TEST(WorkloadGenerator, TransfersStayWithinTheFixture) {
  Fixture fixture = make_fixture(3);
  SeededRandom random(3);
  WorkloadGenerator generator(WorkloadKind::transfers_zipf, fixture, random);
  for (int request = 0; request < 1000; ++request) {
    PlannedRequest planned = generator.next();
    ASSERT_EQ(planned.kind, RequestKind::transfer);
    boost::json::object body = parse_object(planned.request.body);
    std::string from = text_member(body, "from");
    std::string to = text_member(body, "to");
    EXPECT_NE(from, to);
    EXPECT_EQ(from.rfind("acct_", 0), 0u);
    std::int64_t amount = integer_member(body, "amount").value_or(0);
    EXPECT_GE(amount, 1);
    EXPECT_LE(amount, WorkloadGenerator::amount_max_minor);
  }
}

TEST(WorkloadGenerator, PaymentMixCapturesWhatItAuthorised) {
  Fixture fixture = make_fixture(10);
  SeededRandom random(4);
  WorkloadGenerator generator(WorkloadKind::payment_mix, fixture, random);
  generator.learn(RequestKind::wallet_payment, 201, "pay_authorised", "authorized");
  bool captured = false;
  for (int request = 0; request < 200 && !captured; ++request) {
    PlannedRequest planned = generator.next();
    captured = planned.kind == RequestKind::capture;
    if (captured) {
      EXPECT_EQ(planned.request.target, "/v1/payments/pay_authorised/capture");
    }
  }
  EXPECT_TRUE(captured);
}

TEST(WorkloadGenerator, HotMerchantPaysItsOneMerchant) {
  Fixture fixture = make_fixture(10);
  SeededRandom random(5);
  WorkloadGenerator generator(WorkloadKind::hot_merchant, fixture, random);
  std::map<std::string, int> accounts;
  for (int request = 0; request < 1000; ++request) {
    WalletPaymentBody payment = expect_captured_wallet_payment(generator.next());
    EXPECT_EQ(payment.merchant, "mer_0");
    accounts[payment.account] += 1;
  }
  EXPECT_EQ(accounts.size(), fixture.account_ids.size());
}

TEST(WorkloadGenerator, PaymentsUniformSpreadsOverEveryMerchant) {
  constexpr std::size_t merchants = 20;
  constexpr int requests = 20'000;
  Fixture fixture = make_fixture(10, merchants);
  SeededRandom random(6);
  WorkloadGenerator generator(WorkloadKind::payments_uniform, fixture, random);
  std::map<std::string, int> per_merchant;
  std::map<std::string, int> per_account;
  for (int request = 0; request < requests; ++request) {
    WalletPaymentBody payment = expect_captured_wallet_payment(generator.next());
    per_merchant[payment.merchant] += 1;
    per_account[payment.account] += 1;
  }
  ASSERT_EQ(per_merchant.size(), merchants);
  // 1000 expected each; the binomial's standard deviation is about 31.
  constexpr double expected = static_cast<double>(requests) / merchants;
  for (const FixtureMerchant& merchant : fixture.merchants) {
    EXPECT_NEAR(per_merchant[merchant.id], expected, expected * 0.15) << merchant.id;
  }
  EXPECT_EQ(per_account.size(), fixture.account_ids.size());
}

TEST(WorkloadGenerator, PaymentsUniformWithOneMerchantIsHotMerchant) {
  Fixture fixture = make_fixture(10);
  SeededRandom hot_random(7);
  SeededRandom uniform_random(7);
  WorkloadGenerator hot(WorkloadKind::hot_merchant, fixture, hot_random);
  WorkloadGenerator uniform(WorkloadKind::payments_uniform, fixture, uniform_random);
  for (int request = 0; request < 200; ++request) {
    PlannedRequest from_hot = hot.next();
    PlannedRequest from_uniform = uniform.next();
    ASSERT_EQ(from_uniform.kind, from_hot.kind);
    ASSERT_EQ(from_uniform.request.target, from_hot.request.target);
    ASSERT_EQ(from_uniform.request.body, from_hot.request.body) << "request " << request;
  }
}

TEST(WorkloadGenerator, PaymentsUniformDrawsAmountsAndAccountsLikeHotMerchant) {
  // With many merchants the merchant draw shifts the sequence, so compare
  // distributions: amounts over 1..amount_max_minor, accounts over the
  // fixture, both about uniform in each workload.
  constexpr int requests = 40'000;
  Fixture one_merchant = make_fixture(8);
  Fixture many_merchants = make_fixture(8, 50);
  SeededRandom hot_random(8);
  SeededRandom uniform_random(9);
  WorkloadGenerator hot(WorkloadKind::hot_merchant, one_merchant, hot_random);
  WorkloadGenerator uniform(WorkloadKind::payments_uniform, many_merchants, uniform_random);
  std::map<std::int64_t, int> hot_amounts;
  std::map<std::int64_t, int> uniform_amounts;
  std::map<std::string, int> hot_accounts;
  std::map<std::string, int> uniform_accounts;
  for (int request = 0; request < requests; ++request) {
    WalletPaymentBody from_hot = expect_captured_wallet_payment(hot.next());
    WalletPaymentBody from_uniform = expect_captured_wallet_payment(uniform.next());
    hot_amounts[from_hot.amount_minor] += 1;
    uniform_amounts[from_uniform.amount_minor] += 1;
    hot_accounts[from_hot.account] += 1;
    uniform_accounts[from_uniform.account] += 1;
  }
  ASSERT_EQ(hot_amounts.size(), static_cast<std::size_t>(WorkloadGenerator::amount_max_minor));
  ASSERT_EQ(uniform_amounts.size(), static_cast<std::size_t>(WorkloadGenerator::amount_max_minor));
  constexpr double per_amount = static_cast<double>(requests) / WorkloadGenerator::amount_max_minor;
  for (std::int64_t amount = 1; amount <= WorkloadGenerator::amount_max_minor; ++amount) {
    EXPECT_NEAR(hot_amounts[amount], per_amount, per_amount * 0.25) << "hot-merchant amount " << amount;
    EXPECT_NEAR(uniform_amounts[amount], per_amount, per_amount * 0.25) << "payments-uniform amount " << amount;
  }
  ASSERT_EQ(hot_accounts.size(), one_merchant.account_ids.size());
  ASSERT_EQ(uniform_accounts.size(), many_merchants.account_ids.size());
  const double per_account = static_cast<double>(requests) / static_cast<double>(one_merchant.account_ids.size());
  for (const std::string& account : one_merchant.account_ids) {
    EXPECT_NEAR(hot_accounts[account], per_account, per_account * 0.05) << account;
    EXPECT_NEAR(uniform_accounts[account], per_account, per_account * 0.05) << account;
  }
}

}  // namespace
}  // namespace payd::bench
