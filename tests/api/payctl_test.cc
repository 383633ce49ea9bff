// payctl verify must notice a ledger that breaks its invariants, not only
// pass a healthy one: these tests damage a stopped payd's ledger on purpose.
#include "tests/api/api_test.h"

#include <sqlite3.h>

namespace payd::api_test {
namespace {

// Runs SQL on a stopped payd's ledger, bypassing payd.
void tamper(const std::string& data_dir, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((data_dir + "/ledger.db").c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  int code = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  EXPECT_EQ(code, SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

class Payctl : public ::testing::Test {
 protected:
  void SetUp() override {
    payd_ = start_payd({});
    Api api(payd_->port());
    from_ = api.funded_account(1'000);
    to_ = api.create_account();
    api.transfer(from_, to_, 400);
    ASSERT_EQ(payd_->terminate(), 0);
    ASSERT_EQ(payd_->verify().exit_code, 0) << payd_->verify().output;
  }
  std::unique_ptr<PaydProcess> payd_;
  std::string from_;
  std::string to_;
};

TEST_F(Payctl, HealthyLedgerPasses) {
  auto result = payd_->verify();
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.output.find("consistent"), std::string::npos) << result.output;
}

TEST_F(Payctl, BalanceThatDisagreesWithItsEntriesFails) {
  tamper(payd_->data_dir(), "UPDATE balances SET balance = balance + 1 WHERE account = '" + to_ + "'");
  auto result = payd_->verify();
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("VIOLATION balance equals the sum of entries: " + to_), std::string::npos)
      << result.output;
}

TEST_F(Payctl, UnbalancedTransferFails) {
  tamper(payd_->data_dir(),
         "INSERT INTO entries (account, sequence, transfer, amount, currency, balance_after, created_at) "
         "SELECT account, sequence + 1, transfer, 5, currency, balance_after + 5, created_at FROM entries "
         "WHERE account = '" + to_ + "'; UPDATE balances SET balance = balance + 5, version = version + 1 "
         "WHERE account = '" + to_ + "'");
  auto result = payd_->verify();
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("VIOLATION every journal transfer balances to zero"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("VIOLATION balances sum to zero per currency"), std::string::npos) << result.output;
}

TEST_F(Payctl, HeldAmountWithoutAnAuthorisationFails) {
  tamper(payd_->data_dir(), "UPDATE balances SET held = 10 WHERE account = '" + from_ + "'");
  auto result = payd_->verify();
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("VIOLATION held equals open authorisation holds: " + from_), std::string::npos)
      << result.output;
}

TEST_F(Payctl, EntriesCannotBeRewrittenToHideTheDamage) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((payd_->data_dir() + "/ledger.db").c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE entries SET amount = amount * 2", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM entries", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_EQ(payd_->verify().exit_code, 0);
}

}  // namespace
}  // namespace payd::api_test
