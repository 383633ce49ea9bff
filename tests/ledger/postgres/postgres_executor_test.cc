// The ledger's command rules (the same scenarios as executor_test.cc)
// against a harness-started PostgreSQL: the unchanged Executor on a
// PostgresWriteStore, one batch per transaction as the writer runs it.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "ledger/executor.h"
#include "ledger/postgres/connection.h"
#include "ledger/postgres/rows.h"
#include "ledger/postgres/schema.h"
#include "ledger/postgres/write_store.h"
#include "tests/ledger/postgres/shared_server.h"

namespace payd::ledger::postgres {
namespace {

class PostgresExecutorTest : public ::testing::Test {
 protected:
  PostgresExecutorTest() : ids_(clock_, random_) {
    connection_ = std::make_unique<Connection>(fresh_database_url(), 5);
    apply_migrations(*connection_);
    store_ = std::make_unique<PostgresWriteStore>(*connection_, ids_, clock_);
    executor_ = std::make_unique<Executor>(*store_, ids_, clock_);
  }

  // Runs submissions in one transaction, as the writer does for a batch.
  std::vector<Outcome> batch(std::vector<Submission> submissions) {
    connection_->execute("BEGIN");
    std::vector<const Submission*> pointers;
    for (const auto& submission : submissions) pointers.push_back(&submission);
    store_->begin_batch(pointers);
    std::vector<Outcome> outcomes;
    for (const auto& submission : submissions) outcomes.push_back(executor_->execute(submission));
    store_->flush();
    connection_->execute("COMMIT");
    store_->end_batch();
    return outcomes;
  }
  Outcome one(Command command, std::optional<IdempotencyTag> tag = std::nullopt) {
    return batch({Submission{std::move(command), std::move(tag), "req_test"}}).front();
  }
  std::string new_account(const std::string& currency = "USD", Minor overdraft = 0) {
    Outcome outcome = one(CreateAccount{currency, AccountType::customer, overdraft, "{}"});
    EXPECT_EQ(outcome.reply.status, 201u);
    return outcome.reply.body.substr(7, outcome.reply.body.find('"', 7) - 7);
  }
  Account account(const std::string& id) {
    Rows rows = connection_->query(std::string("SELECT ") + locked_account_columns +
                                       " FROM balances b JOIN account_records r ON r.id = b.account WHERE r.id = $1",
                                   Parameters().add(id));
    EXPECT_EQ(rows.size(), 1);
    return rows.size() == 1 ? read_account(rows, 0) : Account{};
  }
  static Submission transfer(const std::string& from, const std::string& to, Minor amount, std::string key = {}) {
    std::optional<IdempotencyTag> tag;
    if (!key.empty()) tag = IdempotencyTag{key, "fingerprint-" + key};
    return Submission{MakeTransfer{from, to, amount, "USD", "", "{}"}, tag, "req_test"};
  }

  ManualClock clock_;
  SeededRandom random_{7};
  IdGenerator ids_;
  std::unique_ptr<Connection> connection_;
  std::unique_ptr<PostgresWriteStore> store_;
  std::unique_ptr<Executor> executor_;
};

TEST_F(PostgresExecutorTest, RefusedTransferDoesNotFailItsBatchNeighbours) {
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

TEST_F(PostgresExecutorTest, HotAccountInOneBatchKeepsSequencesAndBalances) {
  std::string a = new_account();
  std::string b = new_account();
  ASSERT_EQ(one(MakeDeposit{a, 1000, "USD", "{}"}).reply.status, 201u);
  std::vector<Submission> submissions;
  for (int i = 0; i < 50; ++i) submissions.push_back(transfer(a, b, 10, "hot-" + std::to_string(i)));
  for (const Outcome& outcome : batch(submissions)) EXPECT_EQ(outcome.reply.status, 201u);
  EXPECT_EQ(account(a).balance, 500);
  EXPECT_EQ(account(a).version, 51);
  Rows last = connection_->query(
      "SELECT balance_after, sequence FROM entries WHERE account = $1 ORDER BY sequence DESC LIMIT 1",
      Parameters().add(b));
  ASSERT_EQ(last.size(), 1);
  EXPECT_EQ(last.integer(0, 0), 500);
  EXPECT_EQ(last.integer(0, 1), 50);
}

TEST_F(PostgresExecutorTest, CompletedKeyReplaysTheStoredBodyAndExecutesNothing) {
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

TEST_F(PostgresExecutorTest, KeyWithAnotherFingerprintIs422AndNotStored) {
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

TEST_F(PostgresExecutorTest, RefusalsAreStoredButInvalidRequestsAreNot) {
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

TEST_F(PostgresExecutorTest, OverflowingDepositIsRefusedAndWritesNothing) {
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

TEST_F(PostgresExecutorTest, EntriesCannotBeUpdatedOrDeleted) {
  std::string a = new_account();
  ASSERT_EQ(one(MakeDeposit{a, 100, "USD", "{}"}).reply.status, 201u);
  EXPECT_THROW(connection_->execute("UPDATE entries SET amount = 1"), DatabaseError);
  EXPECT_THROW(connection_->execute("DELETE FROM entries"), DatabaseError);
  EXPECT_EQ(account(a).balance, 100);
}

TEST_F(PostgresExecutorTest, CardPaymentKeyIsStartedThenCompletedByFinish) {
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

TEST_F(PostgresExecutorTest, WalletAuthorisationHoldsThenCaptureReleasesTheRest) {
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

TEST_F(PostgresExecutorTest, JournalRowsCannotBeUpdatedDeletedOrTruncated) {
  std::string a = new_account();
  ASSERT_EQ(one(MakeDeposit{a, 100, "USD", "{}"}).reply.status, 201u);
  EXPECT_THROW(connection_->execute("UPDATE journal SET amount = 1"), DatabaseError);
  EXPECT_THROW(connection_->execute("DELETE FROM journal"), DatabaseError);
  EXPECT_THROW(connection_->execute("TRUNCATE entries"), DatabaseError);
  EXPECT_THROW(connection_->execute("UPDATE balances SET held = -1"), DatabaseError);
}

}  // namespace
}  // namespace payd::ledger::postgres
