#include "tests/ledger/executor_contract.h"

namespace payd::ledger {

Outcome ExecutorContract::one(Command command, std::optional<IdempotencyTag> tag) {
  return batch({Submission{std::move(command), std::move(tag), "req_test"}}).front();
}

std::string ExecutorContract::new_account(const std::string& currency, Minor overdraft) {
  Outcome outcome = one(CreateAccount{currency, AccountType::customer, overdraft, "{}"});
  EXPECT_EQ(outcome.reply.status, 201u);
  return outcome.reply.body.substr(7, outcome.reply.body.find('"', 7) - 7);
}

Submission ExecutorContract::transfer(const std::string& from, const std::string& to, Minor amount, std::string key) {
  std::optional<IdempotencyTag> tag;
  if (!key.empty()) tag = IdempotencyTag{key, "fingerprint-" + key};
  return Submission{MakeTransfer{from, to, amount, "USD", "", "{}"}, tag, "req_test"};
}

namespace {

TEST_P(ExecutorContract, RefusedTransferDoesNotFailItsBatchNeighbours) {
  std::string a = new_account();
  std::string b = new_account();
  ASSERT_EQ(one(MakeDeposit{a, 100, "USD", "{}"}).reply.status, 201u);

  auto outcomes = batch({transfer(a, b, 60, "k1"), transfer(a, b, 60, "k2"), transfer(a, b, 40, "k3")});
  EXPECT_EQ(outcomes[0].reply.status, 201u);
  EXPECT_EQ(outcomes[1].reply.status, 402u);
  EXPECT_NE(outcomes[1].reply.body.find("insufficient_funds"), std::string::npos);
  EXPECT_EQ(outcomes[2].reply.status, 201u);
  EXPECT_EQ(account(a).balance, 0);
  EXPECT_EQ(account(a).version, 3);  // deposit and two transfers
  EXPECT_EQ(account(b).balance, 100);
}

TEST_P(ExecutorContract, HotAccountInOneBatchKeepsSequencesAndBalances) {
  std::string a = new_account();
  std::string b = new_account();
  ASSERT_EQ(one(MakeDeposit{a, 1000, "USD", "{}"}).reply.status, 201u);
  std::vector<Submission> submissions;
  for (int i = 0; i < 50; ++i) submissions.push_back(transfer(a, b, 10, "hot-" + std::to_string(i)));
  for (const Outcome& outcome : batch(submissions)) EXPECT_EQ(outcome.reply.status, 201u);
  EXPECT_EQ(account(a).balance, 500);
  EXPECT_EQ(account(a).version, 51);
  Entry last = backend().last_entry(b);
  EXPECT_EQ(last.balance_after, 500);
  EXPECT_EQ(last.sequence, 50);
}

TEST_P(ExecutorContract, CompletedKeyReplaysTheStoredBodyAndExecutesNothing) {
  std::string a = new_account();
  std::string b = new_account();
  ASSERT_EQ(one(MakeDeposit{a, 100, "USD", "{}"}).reply.status, 201u);
  Outcome first = batch({transfer(a, b, 30, "same")}).front();
  Outcome again = batch({transfer(a, b, 30, "same")}).front();
  EXPECT_EQ(first.kind, Outcome::Kind::executed);
  EXPECT_EQ(again.kind, Outcome::Kind::replayed);
  EXPECT_EQ(again.reply.status, first.reply.status);
  EXPECT_EQ(again.reply.body, first.reply.body);
  EXPECT_EQ(account(a).balance, 70);
}

TEST_P(ExecutorContract, KeyWithAnotherFingerprintIs422AndNotStored) {
  std::string a = new_account();
  std::string b = new_account();
  ASSERT_EQ(one(MakeDeposit{a, 100, "USD", "{}"}).reply.status, 201u);
  ASSERT_EQ(batch({transfer(a, b, 30, "k")}).front().reply.status, 201u);
  Submission other = transfer(a, b, 31, "k");
  other.idempotency->fingerprint = "something else";
  Outcome reused = batch({other}).front();
  EXPECT_EQ(reused.reply.status, 422u);
  EXPECT_EQ(account(a).balance, 70);
}

TEST_P(ExecutorContract, RefusalsAreStoredButInvalidRequestsAreNot) {
  std::string a = new_account();
  std::string b = new_account();
  // 402 is a decision about money: stored, and replayed even after a deposit.
  ASSERT_EQ(batch({transfer(a, b, 30, "poor")}).front().reply.status, 402u);
  ASSERT_EQ(one(MakeDeposit{a, 100, "USD", "{}"}).reply.status, 201u);
  Outcome replay = batch({transfer(a, b, 30, "poor")}).front();
  EXPECT_EQ(replay.kind, Outcome::Kind::replayed);
  EXPECT_EQ(replay.reply.status, 402u);
  // 400 (unknown account) is not stored: the key can be used again.
  Outcome unknown = batch({transfer(a, "acct_unknown", 30, "fixable")}).front();
  EXPECT_EQ(unknown.reply.status, 400u);
  Outcome fixed = batch({transfer(a, b, 30, "fixable")}).front();
  EXPECT_EQ(fixed.kind, Outcome::Kind::executed);
  EXPECT_EQ(fixed.reply.status, 201u);
}

TEST_P(ExecutorContract, OverflowingDepositIsRefusedAndWritesNothing) {
  std::string a = new_account();
  // INT64_MAX is about 9223.37 * 10^15: the 9224th deposit of 10^15 overflows.
  std::vector<Submission> deposits(9300, Submission{MakeDeposit{a, amount_max, "USD", "{}"}, std::nullopt, "req_test"});
  std::vector<Outcome> outcomes = batch(deposits);
  std::int64_t accepted = 0;
  for (const Outcome& outcome : outcomes) {
    if (outcome.reply.status == 201u) {
      ++accepted;
    } else {
      EXPECT_EQ(outcome.reply.status, 400u);
      EXPECT_NE(outcome.reply.body.find("\"param\":\"amount\""), std::string::npos);
    }
  }
  EXPECT_EQ(accepted, INT64_MAX / amount_max);
  EXPECT_EQ(account(a).balance, accepted * amount_max);
  EXPECT_EQ(account(a).version, accepted);
}

TEST_P(ExecutorContract, EntriesCannotBeUpdatedOrDeleted) {
  std::string a = new_account();
  ASSERT_EQ(one(MakeDeposit{a, 100, "USD", "{}"}).reply.status, 201u);
  EXPECT_TRUE(backend().write_is_refused("UPDATE entries SET amount = 1"));
  EXPECT_TRUE(backend().write_is_refused("DELETE FROM entries"));
  EXPECT_EQ(account(a).balance, 100);
}

TEST_P(ExecutorContract, CardPaymentKeyIsStartedThenCompletedByFinish) {
  std::string customer = new_account();
  Outcome merchant = one(CreateMerchant{MerchantFields{"Shop", "USD", 100'000, 290, 30, std::nullopt, std::nullopt, true}});
  ASSERT_EQ(merchant.reply.status, 201u);
  std::string merchant_id = merchant.reply.body.substr(7, merchant.reply.body.find('"', 7) - 7);
  PaymentMethod card;
  card.brand = "visa";
  card.bin = "424242";
  card.last4 = "4242";
  card.exp_month = 12;
  card.exp_year = 2030;
  card.fingerprint = "f";
  card.customer = customer;
  Outcome method = one(CreatePaymentMethod{card});
  std::string method_id = method.reply.body.substr(7, method.reply.body.find('"', 7) - 7);

  IdempotencyTag tag{"card-key", "card-fingerprint"};
  BeginCardPayment begin{1000, "USD", merchant_id, method_id, true, "", "{}"};
  Outcome started = one(begin, tag);
  ASSERT_EQ(started.kind, Outcome::Kind::started);
  Outcome resumed = one(begin, tag);
  EXPECT_EQ(resumed.kind, Outcome::Kind::resume);
  EXPECT_EQ(resumed.payment_id, started.payment_id);

  Outcome finished = one(FinishCardPayment{started.payment_id, GatewayResult::approved, "simulated", "ref"});
  EXPECT_EQ(finished.reply.status, 201u);
  EXPECT_NE(finished.reply.body.find("\"status\":\"captured\""), std::string::npos);
  Outcome replay = one(begin, tag);
  EXPECT_EQ(replay.kind, Outcome::Kind::replayed);
  EXPECT_EQ(replay.reply.body, finished.reply.body);
  // A second finish changes nothing.
  Outcome late = one(FinishCardPayment{started.payment_id, GatewayResult::declined, "simulated", ""});
  EXPECT_NE(late.reply.body.find("\"status\":\"captured\""), std::string::npos);
}

TEST_P(ExecutorContract, WalletAuthorisationHoldsThenCaptureReleasesTheRest) {
  std::string customer = new_account();
  ASSERT_EQ(one(MakeDeposit{customer, 5000, "USD", "{}"}).reply.status, 201u);
  Outcome merchant = one(CreateMerchant{MerchantFields{"Shop", "USD", 100'000, 100, 0, std::nullopt, std::nullopt, true}});
  std::string merchant_id = merchant.reply.body.substr(7, merchant.reply.body.find('"', 7) - 7);
  Outcome authorized = one(WalletPayment{3000, "USD", merchant_id, customer, false, "", "{}"});
  ASSERT_EQ(authorized.reply.status, 201u);
  std::string payment_id = authorized.reply.body.substr(7, authorized.reply.body.find('"', 7) - 7);
  EXPECT_EQ(account(customer).held, 3000);
  EXPECT_EQ(available(account(customer)), 2000);
  // The hold counts against later payments.
  EXPECT_EQ(one(WalletPayment{2500, "USD", merchant_id, customer, true, "", "{}"}).reply.status, 402u);

  Outcome captured = one(CapturePayment{payment_id, 1000});
  ASSERT_EQ(captured.reply.status, 200u);
  EXPECT_EQ(account(customer).held, 0);
  EXPECT_EQ(account(customer).balance, 4000);
  EXPECT_EQ(one(CapturePayment{payment_id, std::nullopt}).reply.status, 409u);
  EXPECT_EQ(one(VoidPayment{payment_id}).reply.status, 409u);
  Outcome refund = one(RefundPayment{payment_id, 1001, ""});
  EXPECT_EQ(refund.reply.status, 409u);
  EXPECT_NE(refund.reply.body.find("amount_exceeds_refundable"), std::string::npos);
  EXPECT_EQ(one(RefundPayment{payment_id, std::nullopt, ""}).reply.status, 201u);
  EXPECT_EQ(account(customer).balance, 5000);
}

TEST_P(ExecutorContract, JournalRowsAndHoldsAreGuardedByTheDatabase) {
  std::string a = new_account();
  ASSERT_EQ(one(MakeDeposit{a, 100, "USD", "{}"}).reply.status, 201u);
  EXPECT_TRUE(backend().write_is_refused("UPDATE journal SET amount = 1"));
  EXPECT_TRUE(backend().write_is_refused("DELETE FROM journal"));
  EXPECT_TRUE(backend().write_is_refused("UPDATE balances SET held = -1"));
  EXPECT_EQ(account(a).balance, 100);
}

TEST_P(ExecutorContract, FxRateVersionsCountEachPairsUpdates) {
  // Two updates of one pair in one batch, one of another pair: each sees
  // the one before it.
  std::vector<Outcome> outcomes = batch({Submission{SetFxRate{"EUR", "USD", Rate{10842, 4}}, {}, "req_test"},
                                         Submission{SetFxRate{"EUR", "USD", Rate{109, 2}}, {}, "req_test"},
                                         Submission{SetFxRate{"USD", "EUR", Rate{92, 2}}, {}, "req_test"}});
  ASSERT_EQ(outcomes.size(), 3u);
  for (const Outcome& outcome : outcomes) EXPECT_EQ(outcome.reply.status, 200u) << outcome.reply.body;
  EXPECT_NE(outcomes[0].reply.body.find(R"("rate":"1.0842","version":1)"), std::string::npos) << outcomes[0].reply.body;
  EXPECT_NE(outcomes[1].reply.body.find(R"("rate":"1.09","version":2)"), std::string::npos) << outcomes[1].reply.body;
  EXPECT_NE(outcomes[2].reply.body.find(R"("rate":"0.92","version":1)"), std::string::npos) << outcomes[2].reply.body;
  Outcome third = one(SetFxRate{"EUR", "USD", Rate{1, 0}});
  EXPECT_NE(third.reply.body.find(R"("rate":"1","version":3)"), std::string::npos) << third.reply.body;
}

TEST_P(ExecutorContract, CrossCurrencyPaymentBalancesEachCurrencyThroughTheFxAccounts) {
  MerchantFields fields;
  fields.name = "Shop";
  fields.settlement_currency = "USD";
  fields.max_amount = 1'000'000;
  Outcome merchant = one(CreateMerchant{fields});
  ASSERT_EQ(merchant.reply.status, 201u);
  std::string merchant_id = merchant.reply.body.substr(7, merchant.reply.body.find('"', 7) - 7);
  std::string customer = new_account("JPY");
  ASSERT_EQ(one(MakeDeposit{customer, 10'000, "JPY", "{}"}).reply.status, 201u);

  WalletPayment payment{1'234, "JPY", merchant_id, customer, true, "", "{}"};
  Outcome refused = one(payment);
  EXPECT_EQ(refused.reply.status, 400u) << "no rate";
  EXPECT_NE(refused.reply.body.find(R"("param":"currency")"), std::string::npos) << refused.reply.body;
  payment.fx_rate = FxRate{"JPY", "USD", Rate{67, 4}, 3, 0};
  Outcome paid = one(payment);
  ASSERT_EQ(paid.reply.status, 201u) << paid.reply.body;
  EXPECT_NE(paid.reply.body.find(R"("fx":{"rate":"0.0067","version":3,"settlement_currency":"USD",)"
                                 R"("settlement_amount":827})"),
            std::string::npos)
      << paid.reply.body;
  EXPECT_EQ(account(customer).balance, 10'000 - 1'234);
  payment.fx_rate = FxRate{"USD", "JPY", Rate{149, 0}, 1, 0};
  EXPECT_EQ(one(payment).reply.status, 400u) << "a rate of the wrong direction is refused";
}

}  // namespace
}  // namespace payd::ledger
