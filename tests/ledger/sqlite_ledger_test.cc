// The SQLite ledger as a whole: the writer thread, reads beside it, the
// per-account index built in bulk, and the idempotency reaper.
#include "ledger/sqlite/sqlite_ledger.h"

#include "ledger/sqlite/database.h"
#include "ledger/sqlite/paced_sync.h"
#include "tests/support/temporary_directory.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace payd::ledger::sqlite {
namespace {

class SqliteLedgerTest : public ::testing::Test {
 protected:
  SqliteLedgerTest() : ids_(clock_, random_) {}
  ~SqliteLedgerTest() override {
    if (ledger_) ledger_->shutdown();
    ledger_.reset();
  }
  // Index slices as payd's defaults make them, unless `slice` is given.
  struct Slice {
    std::int64_t rows_per_entry;
    std::int64_t rows_min;
  };
  void open(std::int64_t unindexed_entries_max, bool index_when_idle = true, std::optional<Slice> slice = {}) {
    SqliteOptions options;
    options.path = directory_ / "ledger.db";
    options.unindexed_entries_max = unindexed_entries_max;
    options.index_when_idle = index_when_idle;
    if (slice) {
      options.index_rows_per_entry = slice->rows_per_entry;
      options.index_slice_rows_min = slice->rows_min;
    }
    ledger_ = std::make_unique<SqliteLedger>(options, ids_, clock_, registry_);
    ASSERT_TRUE(ledger_->open().ok());
  }
  Outcome submit(Command command, std::optional<IdempotencyTag> tag = std::nullopt) {
    std::mutex mutex;
    std::condition_variable signal;
    std::optional<Outcome> result;
    ledger_->submit(Submission{std::move(command), std::move(tag), "req_test"}, [&](Outcome outcome) {
      std::lock_guard lock(mutex);
      result = std::move(outcome);
      signal.notify_one();
    });
    std::unique_lock lock(mutex);
    signal.wait(lock, [&] { return result.has_value(); });
    return std::move(*result);
  }
  std::string id_of(const Outcome& outcome) {
    return outcome.reply.body.substr(7, outcome.reply.body.find('"', 7) - 7);
  }
  // Accounts a and b, 1000 deposited into a, then nine transfers of 10 from
  // a to b, each its own batch: 20 entries, 10 on a and 10 on b.
  std::pair<std::string, std::string> deposit_and_nine_transfers() {
    std::string a = id_of(submit(CreateAccount{"USD", AccountType::customer, 0, "{}"}));
    std::string b = id_of(submit(CreateAccount{"USD", AccountType::customer, 0, "{}"}));
    EXPECT_EQ(submit(MakeDeposit{a, 1000, "USD", "{}"}).reply.status, 201u);
    for (int i = 0; i < 9; ++i) EXPECT_EQ(submit(MakeTransfer{a, b, 10, "USD", "", "{}"}).reply.status, 201u);
    return {a, b};
  }
  // The entries of `account`, newest first, read three to a page.
  std::vector<Entry> entries_by_pages_of_three(const std::string& account) {
    std::vector<Entry> entries;
    Page page;
    page.limit = 3;
    for (int round = 0; round < 20; ++round) {
      Result<List<Entry>> list = ledger_->entries(account, page);
      EXPECT_TRUE(list.ok());
      if (!list.ok()) break;
      entries.insert(entries.end(), list->data.begin(), list->data.end());
      if (!list->has_more) break;
      page.starting_after = list->data.back().id;
    }
    return entries;
  }

  ManualClock clock_;
  SeededRandom random_{11};
  IdGenerator ids_;
  metrics::Registry registry_;
  payd::testing::TemporaryDirectory directory_{"payd-ledger"};
  std::unique_ptr<SqliteLedger> ledger_;
};

TEST_F(SqliteLedgerTest, EntriesPageAcrossIndexedAndRecentParts) {
  // The index is brought up to date every 5 entries only, so the pages read
  // below cross the boundary between indexed and recent entries.
  open(5, false);
  auto [a, b] = deposit_and_nine_transfers();
  std::vector<std::int64_t> sequences;
  for (const Entry& entry : entries_by_pages_of_three(a)) {
    sequences.push_back(entry.sequence);
    EXPECT_EQ(entry.balance_after, 1000 - 10 * (entry.sequence - 1));
  }
  std::vector<std::int64_t> expected = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  EXPECT_EQ(sequences, expected);
}

TEST_F(SqliteLedgerTest, EntriesPageWhileAnIndexRunIsHalfDone) {
  // A run starts at 5 unindexed entries and each batch (one submission
  // here, posting 2 entries) indexes a row of it for each entry it posted:
  // after the last transfer the run of entries 13..18 is two thirds done
  // and entries 19..20 are not in it.
  open(5, false, Slice{1, 1});
  auto [a, b] = deposit_and_nine_transfers();
  Connection reader(directory_ / "ledger.db", true);
  Statement run(reader, "SELECT through, (SELECT count(*) FROM entries_by_account), (SELECT value FROM ledger_state "
                        "WHERE name = 'entries_indexed_through') FROM index_run");
  ASSERT_TRUE(run.step());
  EXPECT_EQ(run.integer(0), 18);
  EXPECT_EQ(run.integer(1), 12 + 4);
  EXPECT_EQ(run.integer(2), 12);

  for (const std::string& account : {a, b}) {
    std::vector<std::int64_t> sequences;
    for (const Entry& entry : entries_by_pages_of_three(account)) sequences.push_back(entry.sequence);
    std::vector<std::int64_t> expected;
    for (std::int64_t sequence = account == a ? 10 : 9; sequence >= 1; --sequence) expected.push_back(sequence);
    EXPECT_EQ(sequences, expected) << account;
  }
}

TEST_F(SqliteLedgerTest, AnIndexRunHalfDoneAtShutdownGoesOnAfterReopening) {
  open(5, false, Slice{0, 2});
  auto [a, b] = deposit_and_nine_transfers();
  ledger_->shutdown();
  ledger_.reset();

  // Reopened, the run goes on from where it stopped: an entry indexed twice
  // would break entries_by_account's key and fail these transfers.
  open(5, false, Slice{0, 2});
  for (int i = 0; i < 6; ++i) ASSERT_EQ(submit(MakeTransfer{b, a, 5, "USD", "", "{}"}).reply.status, 201u);
  Connection reader(directory_ / "ledger.db", true);
  Statement missing(reader, "SELECT count(*) FROM entries e WHERE e.number <= (SELECT value FROM ledger_state WHERE "
                            "name = 'entries_indexed_through') AND NOT EXISTS (SELECT 1 FROM entries_by_account i "
                            "WHERE i.account = e.account AND i.sequence = e.sequence AND i.number = e.number)");
  ASSERT_TRUE(missing.step());
  EXPECT_EQ(missing.integer(0), 0);
  Result<List<Entry>> list = ledger_->entries(a, Page{});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->data.size(), 16u);
  EXPECT_EQ(ledger_->account(a)->balance, 1000 - 90 + 30);
}

// Runs over many accounts in slices of 3 rows, so slices end inside an
// account's rows and at its last row, with a reopen in the middle: every
// entry indexed exactly once, and each account's pages read back whole.
TEST_F(SqliteLedgerTest, SlicesAcrossManyAccountsIndexEveryEntryOnce) {
  open(7, false, Slice{0, 3});
  std::vector<std::string> accounts;
  for (int i = 0; i < 6; ++i) {
    accounts.push_back(id_of(submit(CreateAccount{"USD", AccountType::customer, 0, "{}"})));
    ASSERT_EQ(submit(MakeDeposit{accounts.back(), 1000, "USD", "{}"}).reply.status, 201u);
  }
  auto transfer_round = [&](int round) {
    for (int i = 0; i < 6; ++i) {
      const std::string& from = accounts[static_cast<std::size_t>(i)];
      const std::string& to = accounts[static_cast<std::size_t>((i + 1 + round) % 6)];
      if (from == to) continue;
      ASSERT_EQ(submit(MakeTransfer{from, to, 1 + i, "USD", "", "{}"}).reply.status, 201u);
    }
  };
  for (int round = 0; round < 4; ++round) transfer_round(round);
  ledger_->shutdown();
  ledger_.reset();
  open(7, false, Slice{0, 3});
  for (int round = 4; round < 9; ++round) transfer_round(round);

  Connection reader(directory_ / "ledger.db", true);
  Statement counts(reader,
                   "SELECT (SELECT count(*) FROM entries WHERE number <= (SELECT value FROM ledger_state WHERE name "
                   "= 'entries_indexed_through')), (SELECT count(*) FROM entries_by_account), (SELECT count(*) FROM "
                   "entries e WHERE e.number <= (SELECT value FROM ledger_state WHERE name = "
                   "'entries_indexed_through') AND NOT EXISTS (SELECT 1 FROM entries_by_account i WHERE i.account = "
                   "e.account AND i.sequence = e.sequence AND i.number = e.number))");
  ASSERT_TRUE(counts.step());
  EXPECT_GT(counts.integer(0), 40);  // most of the run indexed, not just a slice
  EXPECT_GE(counts.integer(1), counts.integer(0));  // a run under way may have added more
  EXPECT_EQ(counts.integer(2), 0);
  counts.reset();
  for (const std::string& account : accounts) {
    std::vector<Entry> read = entries_by_pages_of_three(account);
    Result<Account> stored = ledger_->account(account);
    ASSERT_TRUE(stored.ok());
    ASSERT_FALSE(read.empty());
    EXPECT_EQ(read.front().balance_after, stored->balance);
    for (std::size_t i = 1; i < read.size(); ++i) EXPECT_EQ(read[i - 1].sequence, read[i].sequence + 1);
    EXPECT_EQ(read.back().sequence, 1);
  }
}

TEST_F(SqliteLedgerTest, UnknownCursorIsInvalidRequest) {
  open(16'384);
  std::string a = id_of(submit(CreateAccount{"USD", AccountType::customer, 0, "{}"}));
  Page page;
  page.starting_after = "ent_000000000000000000000ZZZ";
  Result<List<Entry>> list = ledger_->entries(a, page);
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.problem().param, "starting_after");
}

TEST_F(SqliteLedgerTest, KeysArePurgedAfterTheRetentionAndAreThenNew) {
  open(16'384);
  std::string a = id_of(submit(CreateAccount{"USD", AccountType::customer, 0, "{}"}));
  IdempotencyTag tag{"old-key", "fingerprint"};
  Outcome first = submit(MakeDeposit{a, 100, "USD", "{}"}, tag);
  ASSERT_EQ(first.kind, Outcome::Kind::executed);
  EXPECT_EQ(submit(MakeDeposit{a, 100, "USD", "{}"}, tag).kind, Outcome::Kind::replayed);
  EXPECT_TRUE(ledger_->has_idempotency_key("old-key").value());

  Result<std::int64_t> none = ledger_->purge_idempotency(clock_.now_ms() - 72 * 3600 * 1000);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none.value(), 0);
  clock_.advance_ms(72 * 3600 * 1000 + 1);
  Result<std::int64_t> purged = ledger_->purge_idempotency(clock_.now_ms() - 72 * 3600 * 1000);
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(purged.value(), 1);
  EXPECT_FALSE(ledger_->has_idempotency_key("old-key").value());
  EXPECT_EQ(submit(MakeDeposit{a, 100, "USD", "{}"}, tag).kind, Outcome::Kind::executed);
  EXPECT_EQ(ledger_->account(a)->balance, 200);
}

// A database made before idempotency records got a table of their own
// (keys as the primary key of a WITHOUT ROWID table): after the upgrade its
// keys still replay, new ones are numbered after them, and the key index
// still refuses a second row for a key.
TEST_F(SqliteLedgerTest, KeysStoredBeforeTheUpgradeStillReplay) {
  open(16'384);
  std::string a = id_of(submit(CreateAccount{"USD", AccountType::customer, 0, "{}"}));
  IdempotencyTag tag{"key-before-upgrade", "fingerprint"};
  Outcome first = submit(MakeDeposit{a, 100, "USD", "{}"}, tag);
  ASSERT_EQ(first.kind, Outcome::Kind::executed);
  ledger_->shutdown();
  ledger_.reset();
  {
    Connection old(directory_ / "ledger.db", false);
    old.execute(
        "BEGIN; CREATE TABLE keys_before (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, state TEXT NOT NULL, "
        "status INTEGER NOT NULL, body TEXT NOT NULL, payment TEXT, created_at INTEGER NOT NULL) WITHOUT ROWID; "
        "INSERT INTO keys_before SELECT key, fingerprint, state, status, body, payment, created_at FROM "
        "idempotency_keys; DROP TABLE idempotency_keys; ALTER TABLE keys_before RENAME TO idempotency_keys; "
        "CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at); "
        "DELETE FROM schema_migrations WHERE version = 6; COMMIT;");
  }
  open(16'384);
  Outcome again = submit(MakeDeposit{a, 100, "USD", "{}"}, tag);
  EXPECT_EQ(again.kind, Outcome::Kind::replayed);
  EXPECT_EQ(again.reply.body, first.reply.body);
  EXPECT_TRUE(ledger_->has_idempotency_key("key-before-upgrade").value());
  EXPECT_EQ(submit(MakeDeposit{a, 100, "USD", "{}"}, IdempotencyTag{"key-after-upgrade", "fingerprint"}).kind,
            Outcome::Kind::executed);
  EXPECT_EQ(ledger_->account(a)->balance, 200);
  ledger_->shutdown();
  ledger_.reset();
  Connection check(directory_ / "ledger.db", false);
  // Numbered in the order they were made, the old record first.
  Statement numbers(check, "SELECT group_concat(key, ' ') FROM (SELECT key FROM idempotency_keys ORDER BY number)");
  ASSERT_TRUE(numbers.step());
  EXPECT_EQ(numbers.text(0), "key-before-upgrade key-after-upgrade");
  numbers.reset();
  EXPECT_THROW(check.execute("INSERT INTO idempotency_keys (key, fingerprint, state, status, body, created_at) "
                             "VALUES ('key-before-upgrade', 'f', 'completed', 201, '{}', 0)"),
               DatabaseError);
}

TEST_F(SqliteLedgerTest, AnIdleWriterIndexesWhatWasAppended) {
  open(16'384);
  std::string a = id_of(submit(CreateAccount{"USD", AccountType::customer, 0, "{}"}));
  for (int i = 0; i < 10; ++i) ASSERT_EQ(submit(MakeDeposit{a, 1, "USD", "{}"}).reply.status, 201u);
  Connection reader(directory_ / "ledger.db", true);
  auto indexed_and_appended = [&] {
    Statement count(reader, "SELECT (SELECT count(*) FROM entries_by_account), (SELECT count(*) FROM entries), "
                            "(SELECT value FROM ledger_state WHERE name = 'entries_indexed_through')");
    count.step();
    return std::tuple{count.integer(0), count.integer(1), count.integer(2)};
  };
  // Far below unindexed_entries_max: only the idle hook (20 ms without
  // submissions) indexes these. Up to 5 s on a busy machine.
  for (int waited_ms = 0; waited_ms < 5000 && std::get<0>(indexed_and_appended()) < 20; waited_ms += 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto [indexed, appended, through] = indexed_and_appended();
  EXPECT_EQ(appended, 20);
  EXPECT_EQ(indexed, 20);
  EXPECT_EQ(through, 20);
}

TEST_F(SqliteLedgerTest, BackgroundCheckpointsMoveTheWalIntoTheDatabase) {
  open(16'384);
  std::string a = id_of(submit(CreateAccount{"USD", AccountType::customer, 0, "{}"}));
  auto database_bytes = [&] { return std::filesystem::file_size(directory_ / "ledger.db"); };
  std::uintmax_t before = database_bytes();
  std::uint64_t paced_before = paced_syncs();
  for (int i = 0; i < 200; ++i) ASSERT_EQ(submit(MakeDeposit{a, 1, "USD", "{}"}).reply.status, 201u);
  // The checkpointer runs every 50 ms; give it up to 5 s on a busy machine.
  // A pass writes pages (the file grows) before it syncs, and syncs only
  // once it has copied the whole WAL, so wait for both.
  auto checkpointed = [&] { return database_bytes() > before && paced_syncs() > paced_before; };
  for (int waited_ms = 0; waited_ms < 5000 && !checkpointed(); waited_ms += 50) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GT(database_bytes(), before);
  // It synced the database file through the paced-sync VFS.
  EXPECT_GT(paced_syncs(), paced_before);
}

TEST_F(SqliteLedgerTest, TheWalStartsOverOnceTheCheckpointerHasCopiedIt) {
  SqliteOptions options;
  options.path = directory_ / "ledger.db";
  options.checkpoint_interval_ms = 5;
  options.wal_frames_restart_min = 64;
  ledger_ = std::make_unique<SqliteLedger>(options, ids_, clock_, registry_);
  ASSERT_TRUE(ledger_->open().ok());
  std::string a = id_of(submit(CreateAccount{"USD", AccountType::customer, 0, "{}"}));
  // Each deposit is a batch of its own that writes a few 4 KiB frames:
  // 1500 of them would leave a WAL of over 20 MiB if it were never started
  // over.
  for (int i = 0; i < 1500; ++i) ASSERT_EQ(submit(MakeDeposit{a, 1, "USD", "{}"}).reply.status, 201u);
  EXPECT_LT(std::filesystem::file_size(directory_ / "ledger.db-wal"), 4u << 20);
  EXPECT_EQ(ledger_->account(a)->balance, 1500);
}

}  // namespace
}  // namespace payd::ledger::sqlite
