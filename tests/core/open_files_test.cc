#include "core/open_files.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace payd {
namespace {

TEST(OpenFilesTest, TheSoftLimitIsRaisedToTheHardLimit) {
  rlimit original{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &original), 0);
  if (original.rlim_max < 512) GTEST_SKIP() << "the hard limit leaves nothing to raise";
  rlimit lowered{256, original.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);

  EXPECT_EQ(raise_open_files_limit(), original.rlim_max);
  rlimit now{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(now.rlim_cur, original.rlim_max);
  EXPECT_EQ(now.rlim_max, original.rlim_max);
  // Raised already: nothing changes.
  EXPECT_EQ(raise_open_files_limit(), original.rlim_max);

  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &original), 0);
}

}  // namespace
}  // namespace payd
