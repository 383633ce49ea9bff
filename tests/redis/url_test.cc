#include <gtest/gtest.h>

#include "redis/client.h"

namespace payd::redis {
namespace {

TEST(RedisUrl, SingleNode) {
  Result<Url> url = parse_url("redis://127.0.0.1");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->mode, Url::Mode::single);
  EXPECT_FALSE(url->tls);
  ASSERT_EQ(url->hosts.size(), 1u);
  EXPECT_EQ(url->hosts[0].host, "127.0.0.1");
  EXPECT_EQ(url->hosts[0].port, 6379);
  EXPECT_EQ(url->db, 0);
  EXPECT_TRUE(url->password.empty());

  url = parse_url("rediss://alice:s%40cret%2F@cache.internal:6380/3");
  ASSERT_TRUE(url.ok());
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->user, "alice");
  EXPECT_EQ(url->password, "s@cret/");
  EXPECT_EQ(url->hosts[0].host, "cache.internal");
  EXPECT_EQ(url->hosts[0].port, 6380);
  EXPECT_EQ(url->db, 3);

  url = parse_url("redis://:pw@[::1]:7000/");
  ASSERT_TRUE(url.ok());
  EXPECT_TRUE(url->user.empty());
  EXPECT_EQ(url->password, "pw");
  EXPECT_EQ(url->hosts[0].host, "::1");
  EXPECT_EQ(url->hosts[0].port, 7000);
}

TEST(RedisUrl, ClusterAndSentinel) {
  Result<Url> url = parse_url("redis-cluster://:pw@10.0.0.1:7000,10.0.0.2:7001,node3");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->mode, Url::Mode::cluster);
  ASSERT_EQ(url->hosts.size(), 3u);
  EXPECT_EQ(url->hosts[1].host, "10.0.0.2");
  EXPECT_EQ(url->hosts[1].port, 7001);
  EXPECT_EQ(url->hosts[2].port, 6379);

  url = parse_url("redis-sentinel://s1:26379,s2:26380,s3/mymaster");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->mode, Url::Mode::sentinel);
  ASSERT_EQ(url->hosts.size(), 3u);
  EXPECT_EQ(url->hosts[2].port, 26379);
  EXPECT_EQ(url->master_name, "mymaster");
}

TEST(RedisUrl, MalformedUrlsAreInvalidRequests) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"127.0.0.1:6379", "scheme"},
      {"http://127.0.0.1", "unknown scheme"},
      {"redis://", "host is missing"},
      {"redis://:pw@", "host is missing"},
      {"redis://:pw@:6379", "host is missing"},
      {"redis://host:0", "port"},
      {"redis://host:65536", "port"},
      {"redis://host:12ab", "port"},
      {"redis://host:", "port"},
      {"redis://host/abc", "database"},
      {"redis://host/-1", "database"},
      {"redis://a,b", "one host"},
      {"redis://ho st", "host"},
      {"redis://[::1", "IPv6"},
      {"redis://host?timeout=1", "query"},
      {"redis-cluster://a:7000,b:7001/1", "database 0"},
      {"redis-sentinel://s1:26379", "master name"},
      {"redis-sentinel://s1:26379/", "master name"},
      {"redis-sentinel://s1:26379/m/2", "no database"},
      {"redis-cluster://a:7000,,b:7001", "host is missing"},
      {"redis://user@host", "credentials"},
      {"redis://user:%zz@host", "percent"},
  };
  for (const auto& [text, fault] : cases) {
    SCOPED_TRACE(text);
    Result<Url> url = parse_url(text);
    ASSERT_FALSE(url.ok());
    EXPECT_EQ(url.problem().code, "invalid_request");
    EXPECT_NE(url.problem().detail.find(fault), std::string::npos) << url.problem().detail;
  }
}

TEST(RedisUrl, ErrorsNeverEchoThePassword) {
  for (const std::string text : {"redis://u:hunter2/x@host:bad", "redis://u:hunter2@host:bad",
                                 "redis://u:hunter2%zz@host", "redis://u:hunter2@host?x=hunter2", "redis://u:hunter2@",
                                 "redis-sentinel://u:hunter2@s1", "redis://u:hunter2/@h,h"}) {
    SCOPED_TRACE(text);
    Result<Url> url = parse_url(text);
    ASSERT_FALSE(url.ok());
    EXPECT_EQ(url.problem().detail.find("hunter2"), std::string::npos) << url.problem().detail;
  }
}

}  // namespace
}  // namespace payd::redis
