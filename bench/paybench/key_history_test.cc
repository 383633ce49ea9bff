// The duplicate bookkeeping and the one-effect rule that the check applies:
// a wrong rule would pass a double charge or fail a correct payd.
#include "bench/paybench/key_history.h"

#include <gtest/gtest.h>

#include <set>

namespace payd::bench {
namespace {

KeyAnswer answer(unsigned status, bool replayed, std::uint64_t body_hash, std::string code = {}) {
  return KeyAnswer{status, replayed, body_hash, status < 300 ? "tr_1" : "", std::move(code)};
}

KeyRecord record_with(std::vector<KeyAnswer> answers) {
  KeyRecord record;
  record.sequence = 1;
  record.sends = static_cast<int>(answers.size());
  record.answers = std::move(answers);
  return record;
}

TEST(KeyMaker, OrderedKeysSortInTheOrderTheyAreMade) {
  KeyMaker keys("abc", KeyStyle::ordered);
  auto [first_sequence, first_key] = keys.next();
  EXPECT_EQ(first_sequence, 1u);
  EXPECT_EQ(first_key, "pb-abc-000000000001");
  std::string previous = first_key;
  for (std::uint64_t n = 2; n <= 2000; ++n) {
    auto [sequence, key] = keys.next();
    EXPECT_EQ(sequence, n);
    EXPECT_LT(previous, key) << n;
    previous = key;
  }
}

TEST(KeyMaker, Uuid4KeysAreDistinctVersion4UuidsInNoOrder) {
  KeyMaker keys("abc");
  std::set<std::string> made;
  std::size_t ascending = 0;
  std::string previous;
  constexpr std::uint64_t count = 100'000;
  for (std::uint64_t n = 1; n <= count; ++n) {
    auto [sequence, key] = keys.next();
    ASSERT_EQ(sequence, n);
    ASSERT_EQ(key.size(), 36u) << key;
    ASSERT_EQ(key[8], '-');
    ASSERT_EQ(key[13], '-');
    ASSERT_EQ(key[14], '4') << key;  // version
    ASSERT_EQ(key[18], '-');
    ASSERT_NE(std::string("89ab").find(key[19]), std::string::npos) << key;  // variant
    ASSERT_EQ(key[23], '-');
    ASSERT_EQ(key.find_first_not_of("0123456789abcdef-"), std::string::npos) << key;
    ascending += key > previous ? 1 : 0;
    previous = key;
    made.insert(key);
  }
  EXPECT_EQ(made.size(), count);
  // Random order: about half the keys sort after the one before.
  EXPECT_GT(ascending, count * 45 / 100);
  EXPECT_LT(ascending, count * 55 / 100);
  // Another run makes other keys.
  KeyMaker other("abd");
  EXPECT_EQ(made.count(other.next().second), 0u);
}

TEST(KeyStyle, ParsesItsNames) {
  EXPECT_EQ(parse_key_style("uuid4"), KeyStyle::uuid4);
  EXPECT_EQ(parse_key_style("ordered"), KeyStyle::ordered);
  EXPECT_FALSE(parse_key_style("uuid7").has_value());
  EXPECT_EQ(to_string(KeyStyle::ordered), "ordered");
}

TEST(AtMostOneEffect, OneExecutionAndItsReplaysPass) {
  EXPECT_TRUE(at_most_one_effect(record_with({answer(201, false, 7), answer(201, true, 7), answer(201, true, 7)})));
}

TEST(AtMostOneEffect, InUseAndUnavailableAreNoEffect) {
  EXPECT_TRUE(at_most_one_effect(
      record_with({answer(409, false, 3, "idempotency_key_in_use"), answer(201, false, 7), answer(503, false, 4)})));
}

TEST(AtMostOneEffect, TwoExecutionsFail) {
  EXPECT_FALSE(at_most_one_effect(record_with({answer(201, false, 7), answer(201, false, 7)})));
}

TEST(AtMostOneEffect, AReplayThatDiffersFails) {
  EXPECT_FALSE(at_most_one_effect(record_with({answer(201, false, 7), answer(201, true, 8)})));
  EXPECT_FALSE(at_most_one_effect(record_with({answer(402, false, 7, "insufficient_funds"), answer(201, true, 7)})));
}

TEST(AtMostOneEffect, ReusedWithTheSameBodyFails) {
  EXPECT_FALSE(
      at_most_one_effect(record_with({answer(201, false, 7), answer(422, false, 9, "idempotency_key_reused")})));
}

TEST(AtMostOneEffect, StoredRefusalsCountAsDecisions) {
  EXPECT_TRUE(records_decision(answer(409, false, 1, "invalid_state")));
  EXPECT_FALSE(records_decision(answer(409, false, 1, "idempotency_key_in_use")));
  EXPECT_FALSE(at_most_one_effect(
      record_with({answer(409, false, 1, "invalid_state"), answer(409, false, 1, "invalid_state")})));
}

TEST(KeyHistory, DuplicatesComeFromRecentKeysAndKeepTheirAnswers) {
  SeededRandom random(5);
  KeyHistory history;
  EXPECT_EQ(history.pick_duplicate(random), nullptr);
  for (std::uint64_t sequence = 1; sequence <= 10; ++sequence) {
    history.remember(sequence, RequestKind::transfer, HttpRequest{"POST", "/v1/transfers", "{}", "k"});
  }
  const KeyRecord* picked = history.pick_duplicate(random);
  ASSERT_NE(picked, nullptr);
  std::uint64_t sequence = picked->sequence;
  EXPECT_GE(sequence, 1u);
  EXPECT_LE(sequence, 10u);
  history.record_answer(sequence, answer(201, false, 7));
  history.record_answer(sequence, answer(201, true, 7));
  // Push the duplicated key out of the ring: its answers stay.
  for (std::uint64_t next = 11; next <= 11 + KeyHistory::recent_max; ++next) {
    history.remember(next, RequestKind::transfer, HttpRequest{"POST", "/v1/transfers", "{}", "k"});
  }
  history.record_answer(sequence, answer(409, false, 3, "idempotency_key_in_use"));
  std::vector<const KeyRecord*> duplicated = history.duplicated();
  ASSERT_EQ(duplicated.size(), 1u);
  EXPECT_EQ(duplicated.front()->sequence, sequence);
  EXPECT_EQ(duplicated.front()->sends, 2);
  EXPECT_EQ(duplicated.front()->answers.size(), 3u);
}

TEST(KeyHistory, AnswersOfKeysSentOnceAreForgottenWithThem) {
  KeyHistory history;
  history.remember(1, RequestKind::transfer, HttpRequest{});
  for (std::uint64_t next = 2; next <= 1 + KeyHistory::recent_max; ++next)
    history.remember(next, RequestKind::transfer, HttpRequest{});
  history.record_answer(1, answer(201, false, 7));
  EXPECT_TRUE(history.duplicated().empty());
}

TEST(KeyHistory, KeepingEveryKeyKeepsRetriedKeysLongAfterTheRing) {
  KeyHistory history(true);
  for (std::uint64_t next = 1; next <= 3 * KeyHistory::recent_max; ++next)
    history.remember(next, RequestKind::transfer, HttpRequest{});
  history.record_answer(1, answer(0, false, 0));
  history.record_resend(1);
  history.record_answer(1, answer(201, true, 7));
  EXPECT_EQ(history.every_key().size(), 3 * KeyHistory::recent_max);
  std::vector<const KeyRecord*> duplicated = history.duplicated();
  ASSERT_EQ(duplicated.size(), 1u);
  EXPECT_EQ(duplicated.front()->sends, 2);
  EXPECT_EQ(duplicated.front()->answers.size(), 2u);
  EXPECT_TRUE(has_decision(*duplicated.front()));
  EXPECT_TRUE(at_most_one_effect(*duplicated.front()));
}

}  // namespace
}  // namespace payd::bench
