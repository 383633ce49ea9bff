// The executor contract (executor_contract.h) on the SQLite store, in a
// temporary folder.

#include "core/clock.h"
#include "core/ids.h"
#include "ledger/executor.h"
#include "ledger/sqlite/database.h"
#include "ledger/sqlite/schema.h"
#include "ledger/sqlite/write_store.h"
#include "tests/ledger/executor_contract.h"
#include "tests/support/temporary_directory.h"

namespace payd::ledger {
namespace {

class SqliteBackend final : public ExecutorBackend {
 public:
  SqliteBackend() : ids_(clock_, random_) {
    connection_ = std::make_unique<sqlite::Connection>(directory_ / "ledger.db", false);
    sqlite::prepare_database(*connection_);
    store_ = std::make_unique<sqlite::SqliteWriteStore>(*connection_, ids_, clock_);
    executor_ = std::make_unique<Executor>(*store_, ids_, clock_);
  }
  ~SqliteBackend() override {
    executor_.reset();
    store_.reset();
    connection_.reset();
  }

  std::vector<Outcome> batch(std::vector<Submission> submissions) override {
    connection_->execute("BEGIN IMMEDIATE");
    std::vector<Outcome> outcomes;
    for (const auto& submission : submissions) outcomes.push_back(executor_->execute(submission));
    store_->flush();
    connection_->execute("COMMIT");
    return outcomes;
  }
  Account account(const std::string& id) override {
    store_->discard_cached_state();  // read what was committed
    Account* found = store_->find_account(id);
    EXPECT_NE(found, nullptr);
    return found ? *found : Account{};
  }
  Entry last_entry(const std::string& account) override {
    sqlite::Statement last(*connection_,
                           "SELECT balance_after, sequence FROM entries WHERE account = ? ORDER BY sequence DESC LIMIT 1");
    last.bind(1, account);
    Entry entry;
    if (last.step()) {
      entry.balance_after = last.integer(0);
      entry.sequence = last.integer(1);
    }
    return entry;
  }
  bool write_is_refused(const std::string& sql) override {
    try {
      connection_->execute(sql);
      return false;
    } catch (const sqlite::DatabaseError&) {
      return true;
    }
  }

 private:
  ManualClock clock_;
  SeededRandom random_{7};
  IdGenerator ids_;
  payd::testing::TemporaryDirectory directory_{"payd-executor"};
  std::unique_ptr<sqlite::Connection> connection_;
  std::unique_ptr<sqlite::SqliteWriteStore> store_;
  std::unique_ptr<Executor> executor_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, ExecutorContract,
                         ::testing::Values([] { return std::unique_ptr<ExecutorBackend>(new SqliteBackend()); }));

}  // namespace
}  // namespace payd::ledger
