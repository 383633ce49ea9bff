// The executor contract (tests/ledger/executor_contract.h) on the
// PostgreSQL store, against a harness-started PostgreSQL: the unchanged
// Executor on a PostgresWriteStore, one batch per transaction as the writer
// runs it.
#include <gtest/gtest.h>

#include <memory>

#include "core/clock.h"
#include "core/ids.h"
#include "ledger/executor.h"
#include "ledger/postgres/connection.h"
#include "ledger/postgres/rows.h"
#include "ledger/postgres/schema.h"
#include "ledger/postgres/write_store.h"
#include "tests/ledger/executor_contract.h"
#include "tests/ledger/postgres/shared_server.h"

namespace payd::ledger::postgres {
namespace {

class PostgresBackend final : public ExecutorBackend {
 public:
  PostgresBackend() : ids_(clock_, random_) {
    connection_ = std::make_unique<Connection>(fresh_database_url(), 5);
    apply_migrations(*connection_);
    store_ = std::make_unique<PostgresWriteStore>(*connection_, ids_, clock_);
    executor_ = std::make_unique<Executor>(*store_, ids_, clock_);
  }

  std::vector<Outcome> batch(std::vector<Submission> submissions) override {
    std::vector<const Submission*> pointers;
    for (const auto& submission : submissions) pointers.push_back(&submission);
    store_->begin_batch(pointers);
    std::vector<Outcome> outcomes;
    for (const auto& submission : submissions) outcomes.push_back(executor_->execute(submission));
    store_->flush_and_commit();
    store_->end_batch();
    return outcomes;
  }
  Account account(const std::string& id) override {
    Rows rows = connection_->query(std::string("SELECT ") + locked_account_columns +
                                       " FROM balances b JOIN account_records r ON r.id = b.account WHERE r.id = $1",
                                   Parameters().add(id));
    EXPECT_EQ(rows.size(), 1);
    return rows.size() == 1 ? read_account(rows, 0) : Account{};
  }
  Entry last_entry(const std::string& account) override {
    Rows last = connection_->query(
        "SELECT balance_after, sequence FROM entries WHERE account = $1 ORDER BY sequence DESC LIMIT 1",
        Parameters().add(account));
    Entry entry;
    if (last.size() == 1) {
      entry.balance_after = last.integer(0, 0);
      entry.sequence = last.integer(0, 1);
    }
    return entry;
  }
  bool write_is_refused(const std::string& sql) override {
    try {
      connection_->execute(sql);
      return false;
    } catch (const DatabaseError&) {
      return true;
    }
  }

 private:
  ManualClock clock_;
  SeededRandom random_{7};
  IdGenerator ids_;
  std::unique_ptr<Connection> connection_;
  std::unique_ptr<PostgresWriteStore> store_;
  std::unique_ptr<Executor> executor_;
};

std::unique_ptr<ExecutorBackend> make_backend() { return std::make_unique<PostgresBackend>(); }

INSTANTIATE_TEST_SUITE_P(Postgres, ExecutorContract, ::testing::Values(make_backend));

TEST(PostgresExecutor, EntriesCannotBeTruncated) {
  std::unique_ptr<ExecutorBackend> backend = make_backend();
  EXPECT_TRUE(backend->write_is_refused("TRUNCATE entries"));
}

// A batch's writes and its COMMIT go in one pipeline; a statement that
// changes other rows than it must aborts the transaction on the server, so
// the COMMIT after it never runs.
TEST(PostgresExecutor, ARowCountCheckFailingInThePipelineCommitsNothing) {
  Connection connection(fresh_database_url(), 5);
  apply_migrations(connection);
  ManualClock clock;
  SeededRandom random{3};
  IdGenerator ids(clock, random);
  PostgresWriteStore store(connection, ids, clock);  // prepares the writer's statements
  connection.execute(
      "INSERT INTO account_records (id, currency, type, overdraft_limit, metadata, created_at) VALUES "
      "('acct_a', 'USD', 'customer', 0, '{}', 0); INSERT INTO balances (account, balance, held, version) "
      "VALUES ('acct_a', 5, 0, 0)");

  // Two balances to write, one of which does not exist: one row changes.
  Parameters balances;
  balances.add(text_array({"acct_a", "acct_missing"})).add(integer_array({7, 7}));
  balances.add(integer_array({0, 0})).add(integer_array({1, 1}));
  try {
    connection.run_pipeline({{"begin", Parameters()}, {"update_balances", balances}, {"commit", Parameters()}});
    ADD_FAILURE() << "the pipeline committed";
  } catch (const DatabaseError& error) {
    EXPECT_EQ(error.kind(), DatabaseError::Kind::conflict) << error.what();
  }
  connection.execute("ROLLBACK");
  Rows balance = connection.query("SELECT balance, version FROM balances WHERE account = $1", Parameters().add("acct_a"));
  ASSERT_EQ(balance.size(), 1);
  EXPECT_EQ(balance.integer(0, 0), 5);
  EXPECT_EQ(balance.integer(0, 1), 0);

  // The same statement with only existing accounts commits.
  Parameters one;
  one.add(text_array({"acct_a"})).add(integer_array({7})).add(integer_array({0})).add(integer_array({1}));
  connection.run_pipeline({{"begin", Parameters()}, {"update_balances", one}, {"commit", Parameters()}});
  Rows committed = connection.query("SELECT balance FROM balances WHERE account = $1", Parameters().add("acct_a"));
  EXPECT_EQ(committed.integer(0, 0), 7);
}

}  // namespace
}  // namespace payd::ledger::postgres
