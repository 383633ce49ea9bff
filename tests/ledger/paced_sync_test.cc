// The paced-sync VFS: a database opened through it works as through the
// default VFS, and only syncs of the main database file are paced.
#include "ledger/sqlite/paced_sync.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "ledger/sqlite/database.h"
#include "tests/support/temporary_directory.h"

namespace payd::ledger::sqlite {
namespace {

class PacedSyncTest : public ::testing::Test {
 protected:
  payd::testing::TemporaryDirectory directory_{"payd-paced"};
};

TEST_F(PacedSyncTest, CheckpointsAreSyncedThroughItAndCommitsAreNot) {
  std::string path = directory_ / "paced.db";
  {
    Connection setup(path, false);
    setup.execute("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t (v INTEGER)");
  }
  Connection paced(path, false, paced_sync_vfs());
  paced.execute("PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0");
  std::uint64_t before = paced_syncs();
  // A commit in WAL mode syncs the WAL, not the database file.
  paced.execute(
      "WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 2000) "
      "INSERT INTO t (v) SELECT v FROM n");
  EXPECT_EQ(paced_syncs(), before);
  // A pass that copies the whole WAL syncs the database file.
  Connection::CheckpointResult result = paced.checkpoint(false);
  EXPECT_GT(result.wal_frames, 0);
  EXPECT_EQ(result.checkpointed_frames, result.wal_frames);
  EXPECT_EQ(paced_syncs(), before + 1);
  // What the checkpoint copied is read back through the default VFS.
  Connection reader(path, true);
  Statement sum(reader, "SELECT count(*), sum(v) FROM t");
  ASSERT_TRUE(sum.step());
  EXPECT_EQ(sum.integer(0), 2000);
  EXPECT_EQ(sum.integer(1), 2001000);
}

TEST_F(PacedSyncTest, WriteBackCoversTheWholeFileAndReportsABadDescriptor) {
  std::string path = directory_ / "data";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  // Several ranges' worth, written in pieces across the file.
  std::vector<char> page(4096, 'x');
  for (std::int64_t offset = 0; offset < 3 * paced_range_bytes_min; offset += 4 * 4096) {
    ASSERT_EQ(::pwrite(fd, page.data(), page.size(), offset), static_cast<ssize_t>(page.size()));
  }
  EXPECT_TRUE(write_back_paced(fd));
  ::close(fd);
  errno = 0;
  EXPECT_FALSE(write_back_paced(fd));
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace payd::ledger::sqlite
