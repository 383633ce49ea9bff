#include "redis/cluster_slots.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/redis/replies.h"

namespace payd::redis {
namespace {

using test_replies::array;
using test_replies::bulk;
using test_replies::integer;

Reply node(std::string host, std::int64_t port, std::string id) {
  return array({bulk(std::move(host)), integer(port), bulk(std::move(id))});
}

TEST(ClusterSlots, Crc16IsXmodem) {
  EXPECT_EQ(crc16(""), 0);
  EXPECT_EQ(crc16("123456789"), 0x31C3);  // the check value of CRC-16/XMODEM
}

// Expected slots are those `CLUSTER KEYSLOT` answers on Redis 7.0.
TEST(ClusterSlots, SlotsAsRedisComputesThem) {
  EXPECT_EQ(hash_slot("foo"), 12182);
  EXPECT_EQ(hash_slot("bar"), 5061);
  EXPECT_EQ(hash_slot("123456789"), 12739);
  EXPECT_EQ(hash_slot(""), 0);
  EXPECT_EQ(hash_slot("payment:session:{cs_123}"), 5163);
}

TEST(ClusterSlots, HashTagsFollowTheSpecification) {
  EXPECT_EQ(hash_slot("{user1000}.following"), 3443);
  EXPECT_EQ(hash_slot("{user1000}.followers"), 3443);
  EXPECT_EQ(hash_tag("{user1000}.following"), "user1000");
  // An empty tag: the whole key is hashed.
  EXPECT_EQ(hash_tag("foo{}{bar}"), "foo{}{bar}");
  EXPECT_EQ(hash_slot("foo{}{bar}"), 8363);
  EXPECT_EQ(hash_slot("{}"), 15257);
  // From the first '{' to the next '}': the tag is "{bar".
  EXPECT_EQ(hash_tag("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(hash_slot("foo{{bar}}zap"), 4015);
  EXPECT_EQ(hash_slot("foo{{bar}}zap"), hash_slot("{bar"));
  // Only the first tag counts.
  EXPECT_EQ(hash_tag("foo{bar}{zap}"), "bar");
  EXPECT_EQ(hash_slot("foo{bar}{zap}"), hash_slot("bar"));
  // Unclosed or unopened braces: the whole key.
  EXPECT_EQ(hash_tag("{"), "{");
  EXPECT_EQ(hash_slot("{"), 4092);
  EXPECT_EQ(hash_slot("}"), 12090);
  EXPECT_EQ(hash_slot("a{b}"), hash_slot("b"));
}

TEST(ClusterSlots, ParsesClusterSlotsReply) {
  Reply reply = array({
      array({integer(0), integer(5460), node("127.0.0.1", 30001, "a"), node("127.0.0.1", 30004, "d")}),
      array({integer(5461), integer(10922), node("127.0.0.1", 30002, "b")}),
      array({integer(10923), integer(16383), node("", 30003, "c"), node("127.0.0.1", 30006, "f")}),
  });
  std::string error;
  std::optional<SlotMap> map = parse_cluster_slots(reply, "10.0.0.9", &error);
  ASSERT_TRUE(map.has_value()) << error;
  EXPECT_TRUE(map->complete());
  ASSERT_NE(map->primary_of(0), nullptr);
  EXPECT_EQ(address_text(*map->primary_of(0)), "127.0.0.1:30001");
  EXPECT_EQ(address_text(*map->primary_of(5460)), "127.0.0.1:30001");
  EXPECT_EQ(address_text(*map->primary_of(5461)), "127.0.0.1:30002");
  // An empty host is the host that answered.
  EXPECT_EQ(address_text(*map->primary_of(16383)), "10.0.0.9:30003");
  EXPECT_EQ(map->primaries().size(), 3u);
}

TEST(ClusterSlots, APartialMapSaysSo) {
  Reply reply = array({array({integer(0), integer(100), node("h", 1, "a")})});
  std::string error;
  std::optional<SlotMap> map = parse_cluster_slots(reply, "h", &error);
  ASSERT_TRUE(map.has_value()) << error;
  EXPECT_FALSE(map->complete());
  EXPECT_NE(map->primary_of(100), nullptr);
  EXPECT_EQ(map->primary_of(101), nullptr);
}

TEST(ClusterSlots, RefusesWhatIsNotAClusterSlotsReply) {
  std::string error;
  Reply failure;
  failure.type = Reply::Type::error;
  failure.text = "ERR This instance has cluster support disabled";
  EXPECT_FALSE(parse_cluster_slots(failure, "h", &error).has_value());
  EXPECT_NE(error.find("cluster support disabled"), std::string::npos);
  EXPECT_FALSE(parse_cluster_slots(array({array({integer(0), integer(16384), node("h", 1, "a")})}), "h", &error));
  EXPECT_FALSE(parse_cluster_slots(array({array({integer(9), integer(3), node("h", 1, "a")})}), "h", &error));
  EXPECT_FALSE(parse_cluster_slots(array({array({integer(0), integer(3), node("h", 0, "a")})}), "h", &error));
  EXPECT_FALSE(parse_cluster_slots(array({array({integer(0), integer(3)})}), "h", &error));
  EXPECT_FALSE(parse_cluster_slots(array({bulk("x")}), "h", &error));
  EXPECT_FALSE(parse_cluster_slots(bulk("x"), "h", &error));
}

TEST(ClusterSlots, MovedAssignsOneSlot) {
  SlotMap map;
  map.assign(0, slot_count - 1, Url::Host{"a", 1});
  map.assign(7, 7, Url::Host{"b", 2});
  EXPECT_EQ(address_text(*map.primary_of(7)), "b:2");
  EXPECT_EQ(address_text(*map.primary_of(8)), "a:1");
  EXPECT_EQ(map.primaries().size(), 2u);
  map.assign(0, slot_count - 1, Url::Host{"b", 2});
  ASSERT_EQ(map.primaries().size(), 1u);  // "a" serves nothing any more
  EXPECT_EQ(address_text(map.primaries()[0]), "b:2");
}

TEST(ClusterSlots, ParsesRedirects) {
  std::optional<Redirect> moved = parse_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->kind, Redirect::Kind::moved);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(address_text(moved->address), "127.0.0.1:6381");

  std::optional<Redirect> ask = parse_redirect("-ASK 12182 ::1:7000");
  ASSERT_TRUE(ask.has_value());
  EXPECT_EQ(ask->kind, Redirect::Kind::ask);
  EXPECT_EQ(ask->slot, 12182);
  EXPECT_EQ(ask->address.host, "::1");
  EXPECT_EQ(ask->address.port, 7000);

  std::optional<Redirect> unknown_host = parse_redirect("MOVED 1 :7001");
  ASSERT_TRUE(unknown_host.has_value());
  EXPECT_EQ(unknown_host->address.host, "");

  for (std::string_view bad : {"ERR wrong", "MOVED", "MOVED 1", "MOVED x h:1", "MOVED 16384 h:1", "MOVED 1 h",
                               "MOVED 1 h:0", "MOVED 1 h:65536", "ASK 1 h:12x", "TRYAGAIN later"}) {
    EXPECT_FALSE(parse_redirect(bad).has_value()) << bad;
  }
}

TEST(ClusterSlots, RoutesSingleKeyCommandsByTheirKey) {
  for (std::string name : {"GET", "get", "SET", "INCR", "EXPIRE", "PEXPIRE", "ZADD", "ZREMRANGEBYSCORE", "ZCARD",
                           "ZRANGE", "ZREM", "GETDEL"}) {
    Route route = route_command({name, "foo", "1", "2"});
    EXPECT_EQ(route.kind, Route::Kind::slot) << name;
    EXPECT_EQ(route.slot, 12182) << name;
  }
  EXPECT_EQ(route_command({"DEL", "foo"}).slot, 12182);
  EXPECT_TRUE(route_command({"SET", "k", "v"}).resend_safe);
  EXPECT_FALSE(route_command({"INCR", "k"}).resend_safe);
  EXPECT_FALSE(route_command({"GETDEL", "k"}).resend_safe);
}

TEST(ClusterSlots, MultiKeyCommandsMustShareASlot) {
  Route same = route_command({"DEL", "{user1000}.following", "{user1000}.followers"});
  EXPECT_EQ(same.kind, Route::Kind::slot);
  EXPECT_EQ(same.slot, 3443);
  Route cross = route_command({"DEL", "foo", "bar"});
  EXPECT_EQ(cross.kind, Route::Kind::cross_slot);
  EXPECT_EQ(route_error(cross, {"DEL", "foo", "bar"}), "CROSSSLOT Keys in request don't hash to the same slot");
}

TEST(ClusterSlots, ScriptsAreRoutedByTheKeysAfterNumkeys) {
  Route two = route_command({"EVAL", "return 1", "2", "{t}a", "{t}b", "foo"});
  EXPECT_EQ(two.kind, Route::Kind::slot);
  EXPECT_EQ(two.slot, hash_slot("t"));
  EXPECT_FALSE(two.resend_safe);
  // The argument after the keys is not a key: "foo" is elsewhere but does not count.
  EXPECT_EQ(route_command({"EVALSHA", "abc", "1", "foo", "bar"}).slot, 12182);
  EXPECT_EQ(route_command({"EVAL", "return 1", "2", "foo", "bar"}).kind, Route::Kind::cross_slot);
  EXPECT_EQ(route_command({"EVAL", "return 1", "0"}).kind, Route::Kind::any_node);
  EXPECT_EQ(route_command({"EVAL", "return 1", "0", "x"}).kind, Route::Kind::any_node);
  // A malformed numkeys goes to any node, which answers the error.
  EXPECT_EQ(route_command({"EVAL", "return 1", "3", "x"}).kind, Route::Kind::any_node);
  EXPECT_EQ(route_command({"EVAL", "return 1", "-1", "x"}).kind, Route::Kind::any_node);
  EXPECT_EQ(route_command({"EVAL", "return 1", "one", "x"}).kind, Route::Kind::any_node);
  EXPECT_EQ(route_command({"EVAL"}).kind, Route::Kind::any_node);
}

TEST(ClusterSlots, KeylessAndUnknownCommands) {
  EXPECT_EQ(route_command({"PUBLISH", "channel", "message"}).kind, Route::Kind::any_node);
  EXPECT_EQ(route_command({"PING"}).kind, Route::Kind::any_node);
  EXPECT_EQ(route_command({"GET"}).kind, Route::Kind::any_node);  // no key: Redis answers the arity error
  Route unknown = route_command({"HSET", "h", "f", "v"});
  EXPECT_EQ(unknown.kind, Route::Kind::unknown_command);
  EXPECT_NE(route_error(unknown, {"HSET", "h", "f", "v"}).find("HSET"), std::string::npos);
  EXPECT_EQ(route_command({}).kind, Route::Kind::unknown_command);
}

}  // namespace
}  // namespace payd::redis
