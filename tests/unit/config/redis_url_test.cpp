#include "config/redis_url.hpp"

#include <gtest/gtest.h>

using namespace hf::config;

TEST(RedisUrl, HostPortDbUserAndPassword) {
  redis_endpoint e;
  ASSERT_TRUE(parse_redis_url("redis://10.0.0.5:6380/3", e));
  EXPECT_EQ(e.host, "10.0.0.5");
  EXPECT_EQ(e.port, 6380);
  EXPECT_EQ(e.db, 3);
  EXPECT_EQ(e.password, "");
  ASSERT_TRUE(parse_redis_url("redis://:s3cret@cache", e));
  EXPECT_EQ(e.host, "cache");
  EXPECT_EQ(e.port, 6379);
  EXPECT_EQ(e.user, "");
  EXPECT_EQ(e.password, "s3cret");
  ASSERT_TRUE(parse_redis_url("redis://s3cret@cache/", e));  // the short form
  EXPECT_EQ(e.password, "s3cret");
  EXPECT_EQ(e.db, 0);
  ASSERT_TRUE(parse_redis_url("redis://app:p%40ss%3Aw%2Fd@cache:7000", e));  // ACL user
  EXPECT_EQ(e.user, "app");
  EXPECT_EQ(e.password, "p@ss:w/d");
  EXPECT_EQ(e.port, 7000);
}

TEST(RedisUrl, RefusesWhatCannotBeHonoured) {
  redis_endpoint e;
  for (const char* bad :
       {"", "redis://", "rediss://h:6379", "http://h", "redis://h:0", "redis://h:65536",
        "redis://h:x", "redis://h:6379x", "redis://h/x", "redis://h/70000", "redis://u:@h",
        "redis://:p%4@h", "redis://:p%zz@h", "redis://:p@"})
    EXPECT_FALSE(parse_redis_url(bad, e)) << bad;
}

TEST(RedisUrl, RedactsThePassword) {
  EXPECT_EQ(redact_redis_url("redis://h:1"), "redis://h:1");
  EXPECT_EQ(redact_redis_url("redis://:pw@h:1/2"), "redis://:***@h:1/2");
  EXPECT_EQ(redact_redis_url("redis://app:pw@h"), "redis://app:***@h");
  EXPECT_EQ(redact_redis_url("redis://pw@h"), "redis://***@h");
}

TEST(RedisUrl, ClusterNodes) {
  std::vector<redis_endpoint> n;
  ASSERT_TRUE(parse_cluster_nodes("127.0.0.1:7000, 127.0.0.1:7001,redis-2:7002", n));
  ASSERT_EQ(n.size(), 3u);
  EXPECT_EQ(n[1].host, "127.0.0.1");
  EXPECT_EQ(n[1].port, 7001);
  EXPECT_EQ(n[2].host, "redis-2");
  EXPECT_TRUE(n[0].password.empty());
  // The first entry with credentials gives them to every node.
  ASSERT_TRUE(parse_cluster_nodes("h1:7000,redis://app:pw@h2:7001", n));
  EXPECT_EQ(n[0].user, "app");
  EXPECT_EQ(n[0].password, "pw");
  EXPECT_EQ(n[1].password, "pw");
  EXPECT_EQ(redact_cluster_nodes("h1:7000,redis://app:pw@h2:7001"),
            "h1:7000,redis://app:***@h2:7001");
  for (auto bad : {"", "x", "h:0", "h:7000,", ",h:7000", "h:7000/1", "redis://h:7000/2",
                   "h:7000,,h:7001", "rediss://h:7000"})
    EXPECT_FALSE(parse_cluster_nodes(bad, n)) << bad;
}
