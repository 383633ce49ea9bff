#include "bench/paybench/machine_cpu.h"

#include <gtest/gtest.h>

#include <string>

namespace payd::bench {
namespace {

// As Linux prints it: the aggregate line, one line a core, then the rest.
const std::string proc_stat =
    "cpu  2652724 43 1454197 4936720 256499 0 277492 20746 0 0\n"
    "cpu0 1326000 20 727000 2468000 128000 0 138000 10000 0 0\n"
    "cpu1 1326724 23 727197 2468720 128499 0 139492 10746 0 0\n"
    "intr 123456 0 0\n"
    "ctxt 987654\n";

TEST(MachineCpu, SumsTheBusyFieldsAndCountsTheCores) {
  std::optional<CpuTimes> times = parse_cpu_times(proc_stat);
  ASSERT_TRUE(times.has_value());
  EXPECT_EQ(times->busy, 2652724 + 43 + 1454197 + 0 + 277492);
  EXPECT_EQ(times->idle, 4936720 + 256499);
  EXPECT_EQ(times->steal, 20746);
  EXPECT_EQ(times->cores, 2);
}

TEST(MachineCpu, RefusesWhatIsNotAFullCpuLine) {
  EXPECT_FALSE(parse_cpu_times("intr 1 2 3\n").has_value());
  // Seven fields: no steal.
  EXPECT_FALSE(parse_cpu_times("cpu  1 2 3 4 5 6 7\ncpu0 1 2 3 4 5 6 7\n").has_value());
  // No per-core line.
  EXPECT_FALSE(parse_cpu_times("cpu  1 2 3 4 5 6 7 8 0 0\n").has_value());
  EXPECT_FALSE(parse_cpu_times("cpu  1 2 x 4 5 6 7 8 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n").has_value());
}

TEST(MachineCpu, SharesBetweenTwoReadings) {
  CpuTimes earlier{1000, 3000, 10, 2};
  CpuTimes later{1600, 3390, 20, 2};  // 600 busy, 390 idle, 10 steal ticks
  std::optional<CpuShare> share = share_between(earlier, later);
  ASSERT_TRUE(share.has_value());
  EXPECT_DOUBLE_EQ(share->busy, 0.6);
  EXPECT_DOUBLE_EQ(share->steal, 0.01);
  EXPECT_EQ(share->cores, 2);
  // No time passed, or the counts went backwards (another boot).
  EXPECT_FALSE(share_between(earlier, earlier).has_value());
  EXPECT_FALSE(share_between(later, earlier).has_value());
}

}  // namespace
}  // namespace payd::bench
