// The page cache: commits after B-tree splits do not make pcache1 scan the
// cache, and every drop that can find pages is still made, so connections
// read what is on the disk.
#include "ledger/sqlite/page_cache.h"

#include <gtest/gtest.h>

#include <string>

#include "ledger/sqlite/database.h"
#include "tests/support/temporary_directory.h"

namespace payd::ledger::sqlite {
namespace {

class PageCacheTest : public ::testing::Test {
 protected:
  static std::int64_t integer(Connection& connection, const std::string& sql) {
    Statement select(connection, sql);
    EXPECT_TRUE(select.step());
    return select.integer(0);
  }
  static std::string integrity(Connection& connection) {
    Statement check(connection, "PRAGMA integrity_check");
    EXPECT_TRUE(check.step());
    return check.text(0);
  }

  payd::testing::TemporaryDirectory directory_{"payd-pcache"};
  std::string path_ = directory_ / "cache.db";
};

TEST_F(PageCacheTest, CommitsAfterSplitsDropNothingAndTheDataIsWhole) {
  Connection writer(path_, false);
  ASSERT_TRUE(install_page_cache());
  writer.execute(
      "PRAGMA journal_mode=WAL; PRAGMA cache_size=-32768; "
      "CREATE TABLE t (id INTEGER PRIMARY KEY, k BLOB NOT NULL, pad TEXT NOT NULL); "
      "CREATE UNIQUE INDEX t_by_k ON t (k)");
  // Random keys split index pages in the middle, and the splits leave new
  // pages out of order (renumbered through the lock byte's page).
  constexpr int commits = 300;
  PageCacheDrops before = page_cache_drops();
  // One statement, as the ledger's writer runs them: a statement over a
  // temporary table would bring caches of its own, new each time.
  Statement insert(writer, "INSERT INTO t (k, pad) VALUES (randomblob(16), printf('%.100c', 'x'))");
  for (int i = 0; i < commits; ++i) {
    writer.execute("BEGIN");
    for (int row = 0; row < 20; ++row) insert.run();
    writer.execute("COMMIT");
  }
  PageCacheDrops after = page_cache_drops();
  EXPECT_GE(after.asked - before.asked, static_cast<std::uint64_t>(commits));
  EXPECT_LE(after.passed_on - before.passed_on, 2u);
  EXPECT_EQ(integrity(writer), "ok");
  EXPECT_EQ(integer(writer, "SELECT count(*) FROM t"), commits * 20);
  EXPECT_EQ(integer(writer, "SELECT count(DISTINCT k) FROM t"), commits * 20);
}

TEST_F(PageCacheTest, AConnectionSeesAnotherConnectionsChanges) {
  Connection first(path_, false);
  first.execute(
      "PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL); "
      "CREATE TABLE other (v INTEGER); "
      "WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 5000) "
      "INSERT INTO t (v) SELECT v FROM n");
  // The first connection's cache holds every page of t, then its own
  // commit drops nothing (no page past the end) and starts over the record
  // of what entered the cache.
  EXPECT_EQ(integer(first, "SELECT sum(v) FROM t"), 5000 * 5001 / 2);
  first.execute("INSERT INTO other (v) VALUES (1)");
  // Another connection changes pages below the end and adds pages past it:
  // at its next read the first connection must drop its copies of both.
  Connection second(path_, false);
  PageCacheDrops before = page_cache_drops();
  second.execute(
      "BEGIN; UPDATE t SET v = v * 2; "
      "WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 5000) "
      "INSERT INTO t (v) SELECT 1 FROM n; COMMIT");
  EXPECT_EQ(integer(first, "SELECT sum(v) FROM t"), 5000 * 5001 + 5000);
  EXPECT_EQ(integer(first, "SELECT count(*) FROM t"), 10000);
  EXPECT_GT(page_cache_drops().passed_on, before.passed_on);
}

TEST_F(PageCacheTest, ARolledBackGrowthLeavesNoPagesBehind) {
  Connection writer(path_, false);
  writer.execute(
      "PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, k BLOB NOT NULL, v INTEGER NOT NULL); "
      "CREATE INDEX t_by_k ON t (k); "
      "WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 1000) "
      "INSERT INTO t (k, v) SELECT randomblob(16), 1 FROM n");
  std::int64_t pages = integer(writer, "PRAGMA page_count");
  // Grow the file by many pages, then roll back: the new pages must go.
  PageCacheDrops before = page_cache_drops();
  writer.execute(
      "BEGIN; WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 20000) "
      "INSERT INTO t (k, v) SELECT randomblob(16), 7 FROM n");
  EXPECT_GT(integer(writer, "PRAGMA page_count"), pages + 100);
  writer.execute("ROLLBACK");
  EXPECT_GT(page_cache_drops().passed_on, before.passed_on);
  EXPECT_EQ(integer(writer, "PRAGMA page_count"), pages);
  // Grow it again over the same page numbers with other rows.
  writer.execute(
      "BEGIN; WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 20000) "
      "INSERT INTO t (k, v) SELECT randomblob(16), 3 FROM n; COMMIT");
  EXPECT_EQ(integrity(writer), "ok");
  Connection reader(path_, true);
  EXPECT_EQ(integer(reader, "SELECT sum(v) FROM t"), 1000 + 20000 * 3);
  EXPECT_EQ(integer(reader, "SELECT count(*) FROM t INDEXED BY t_by_k WHERE k IS NOT NULL"), 21000);
  EXPECT_EQ(integrity(reader), "ok");
}

}  // namespace
}  // namespace payd::ledger::sqlite
