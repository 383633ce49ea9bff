// The workloads' choices: Zipf skew as promised, and requests that name
// only the fixture's accounts, never a transfer from an account to itself.
#include "bench/paybench/workload.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "bench/paybench/json_fields.h"

namespace payd::bench {
namespace {

Fixture make_fixture(std::size_t accounts) {
  Fixture fixture;
  fixture.currency = "USD";
  for (std::size_t index = 0; index < accounts; ++index) fixture.account_ids.push_back("acct_" + std::to_string(index));
  fixture.merchant_id = "mer_1";
  fixture.merchant_account_id = "acct_merchant";
  fixture.payment_method_id = "pm_1";
  return fixture;
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

}  // namespace
}  // namespace payd::bench
