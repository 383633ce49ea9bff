#include "bench/paybench/payd_threads.h"

#include <gtest/gtest.h>

namespace payd::bench {
namespace {

TEST(PaydThreads, ParsesTheTicksOfAThreadsStatLine) {
  // The kernel's format; utime 204 and stime 31 are fields 14 and 15.
  auto thread = parse_thread_stat(
      "12114 (ledger-writer) S 12112 12112 15840 0 -1 4194368 1000 0 2 0 204 31 0 0 20 0 5 0 5622499 3133440 416 "
      "18446744073709551615 94521093591040\n");
  ASSERT_TRUE(thread.has_value());
  EXPECT_EQ(thread->name, "ledger-writer");
  EXPECT_EQ(thread->ticks, 235);
}

TEST(PaydThreads, ANameEndsAtTheLastParenthesis) {
  auto thread = parse_thread_stat("7 (a (b) c) R 1 1 1 0 -1 0 0 0 0 0 10 5 0 0 20 0 1 0 1 1 1");
  ASSERT_TRUE(thread.has_value());
  EXPECT_EQ(thread->name, "a (b) c");
  EXPECT_EQ(thread->ticks, 15);
}

TEST(PaydThreads, RefusesTextWithoutTheTicks) {
  EXPECT_FALSE(parse_thread_stat("").has_value());
  EXPECT_FALSE(parse_thread_stat("12 payd S 1 1 1 0 -1 0 0 0 0 0 10 5").has_value());     // no parentheses
  EXPECT_FALSE(parse_thread_stat("12 (payd) S 1 1 1 0 -1 0 0 0 0 0 10").has_value());     // stops at field 14
  EXPECT_FALSE(parse_thread_stat("12 (payd) S 1 1 1 0 -1 0 0 0 0 0 10 x5 0").has_value());  // not a number
  EXPECT_FALSE(parse_thread_stat("12 (payd) S 1 1 1 0 -1 0 0 0 0 0 -10 5 0").has_value());  // negative
}

TEST(PaydThreads, SumsTheTicksByNamePerRequest) {
  std::map<int, ThreadTicks> earlier{{1, {"payd", 100}}, {2, {"ledger-writer", 50}}, {3, {"redis-client", 7}},
                                     {4, {"redis-client", 3}}, {9, {"gone", 40}}};
  std::map<int, ThreadTicks> later{{1, {"payd", 130}},        {2, {"ledger-writer", 90}}, {3, {"redis-client", 9}},
                                   {4, {"redis-client", 6}},  {5, {"ledger-ckpt", 5}}};
  // 100 ticks a second: a tick is 10,000 µs; 1,000 requests.
  auto cpu = cpu_per_request(earlier, later, 1000, 100);
  ASSERT_TRUE(cpu.has_value());
  // payd 30 ticks, ledger-writer 40, redis-client 2 + 3, ledger-ckpt 5 (new
  // during the load, from zero); the thread that ended is left out.
  EXPECT_DOUBLE_EQ(cpu->us_per_request, 80 * 10.0);
  ASSERT_EQ(cpu->threads.size(), 4u);
  EXPECT_EQ(cpu->threads[0].name, "ledger-writer");
  EXPECT_DOUBLE_EQ(cpu->threads[0].us_per_request, 400.0);
  EXPECT_EQ(cpu->threads[1].name, "payd");
  EXPECT_DOUBLE_EQ(cpu->threads[1].us_per_request, 300.0);
  EXPECT_DOUBLE_EQ(cpu->threads[2].us_per_request, 50.0);
  EXPECT_DOUBLE_EQ(cpu->threads[3].us_per_request, 50.0);
}

TEST(PaydThreads, NoFiguresWithoutRequestsOrTicks) {
  std::map<int, ThreadTicks> threads{{1, {"payd", 100}}};
  EXPECT_FALSE(cpu_per_request(threads, threads, 0, 100).has_value());
  EXPECT_FALSE(cpu_per_request(threads, threads, 10, 0).has_value());
}

}  // namespace
}  // namespace payd::bench
