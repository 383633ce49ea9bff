#include "core/ids.h"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace payd {
namespace {

constexpr IdType all_types[] = {IdType::account, IdType::merchant,       IdType::transfer, IdType::deposit,
                                IdType::payment, IdType::refund,         IdType::payment_method,
                                IdType::session, IdType::entry,          IdType::request};

TEST(Ids, PrefixesOfApiMd) {
  EXPECT_EQ(id_prefix(IdType::account), "acct_");
  EXPECT_EQ(id_prefix(IdType::merchant), "mer_");
  EXPECT_EQ(id_prefix(IdType::transfer), "tr_");
  EXPECT_EQ(id_prefix(IdType::deposit), "dep_");
  EXPECT_EQ(id_prefix(IdType::payment), "pay_");
  EXPECT_EQ(id_prefix(IdType::refund), "re_");
  EXPECT_EQ(id_prefix(IdType::payment_method), "pm_");
  EXPECT_EQ(id_prefix(IdType::session), "cs_");
  EXPECT_EQ(id_prefix(IdType::entry), "ent_");
  EXPECT_EQ(id_prefix(IdType::request), "req_");
}

TEST(Ids, EveryTypeGetsItsPrefixAndIsRecognised) {
  ManualClock clock;
  SeededRandom random(7);
  IdGenerator ids(clock, random);
  for (IdType type : all_types) {
    std::string id = ids.next(type);
    EXPECT_EQ(id.substr(0, id_prefix(type).size()), id_prefix(type));
    EXPECT_EQ(id.size(), id_prefix(type).size() + id_body_length);
    EXPECT_TRUE(is_id_of(type, id)) << id;
    for (IdType other : all_types) {
      if (other == type) continue;
      EXPECT_FALSE(is_id_of(other, id)) << id << " must not pass as " << id_prefix(other);
    }
  }
}

TEST(Ids, StrictlyIncreasingWithinOneMillisecond) {
  ManualClock clock;
  SeededRandom random(42);
  IdGenerator ids(clock, random);
  std::string previous = ids.next(IdType::transfer);
  for (int i = 0; i < 10'000; ++i) {
    std::string id = ids.next(IdType::transfer);
    ASSERT_LT(previous, id) << "at " << i;
    previous = id;
  }
}

TEST(Ids, SortByCreationTimeAcrossMilliseconds) {
  ManualClock clock;
  SeededRandom random(1);
  IdGenerator ids(clock, random);
  std::vector<std::string> made;
  for (int ms = 0; ms < 200; ++ms) {
    for (int i = 0; i < 5; ++i) made.push_back(ids.next(IdType::payment));
    clock.advance_ms(1 + ms % 3);
  }
  for (std::size_t i = 1; i < made.size(); ++i) ASSERT_LT(made[i - 1], made[i]) << "at " << i;
  clock.advance_ms(86'400'000LL * 365);
  EXPECT_LT(made.back(), ids.next(IdType::payment));
}

TEST(Ids, ALaterMillisecondSortsAfterAnyCounterValue) {
  // Many ids in one millisecond push the counter up; the next millisecond's
  // first id (with a fresh random counter) must still sort after them.
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    ManualClock clock;
    SeededRandom random(seed);
    IdGenerator ids(clock, random);
    std::string last;
    for (int i = 0; i < 100; ++i) last = ids.next(IdType::entry);
    clock.advance_ms(1);
    EXPECT_LT(last, ids.next(IdType::entry)) << "seed " << seed;
  }
}

TEST(Ids, TwoGeneratorsInTheSameMillisecondDoNotCollide) {
  ManualClock clock;
  SeededRandom random_a(11);
  SeededRandom random_b(12);
  IdGenerator a(clock, random_a);
  IdGenerator b(clock, random_b);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(seen.insert(a.next(IdType::account)).second);
    EXPECT_TRUE(seen.insert(b.next(IdType::account)).second);
  }
}

TEST(Ids, IsIdOfRejectsMalformedBodies) {
  ManualClock clock;
  SeededRandom random(3);
  IdGenerator ids(clock, random);
  const std::string good = ids.next(IdType::account);
  ASSERT_TRUE(is_id_of(IdType::account, good));
  const std::string body = good.substr(5);

  EXPECT_FALSE(is_id_of(IdType::account, ""));
  EXPECT_FALSE(is_id_of(IdType::account, "acct_"));
  EXPECT_FALSE(is_id_of(IdType::account, good.substr(0, good.size() - 1)));
  EXPECT_FALSE(is_id_of(IdType::account, good + "0"));
  EXPECT_FALSE(is_id_of(IdType::account, "ACCT_" + body));
  EXPECT_FALSE(is_id_of(IdType::account, "acct-" + body));
  EXPECT_FALSE(is_id_of(IdType::account, " " + good));
  // Crockford base32 has no I, L, O, U and is upper case here.
  for (char bad : {'I', 'L', 'O', 'U', 'a', 'z', '-', '_', ' ', '*'}) {
    std::string changed = good;
    changed[10] = bad;
    EXPECT_FALSE(is_id_of(IdType::account, changed)) << changed;
  }
  EXPECT_TRUE(is_id_of(IdType::account, "acct_" + std::string(id_body_length, '0')));
  EXPECT_TRUE(is_id_of(IdType::account, "acct_" + std::string(id_body_length, 'Z')));
}

}  // namespace
}  // namespace payd
