#include "broker/cluster_wire.hpp"

#include <gtest/gtest.h>

using namespace hf::broker::wire;

TEST(ClusterWire, ChannelsAreBuiltAndReadByOneFunctionEach) {
  EXPECT_EQ(user_channel("user_1"), "hf:u:user_1");
  EXPECT_EQ(user_of_channel("hf:u:user_1"), "user_1");
  EXPECT_EQ(user_of_channel(user_channel("a:b c")), "a:b c");  // user ids are free text
  EXPECT_EQ(user_of_channel("hf:r:node"), std::nullopt);
  EXPECT_EQ(user_of_channel("hf:u"), std::nullopt);
  EXPECT_EQ(user_of_channel("hf:u:"), "");
  EXPECT_EQ(reply_channel("node-a"), "hf:r:node-a");
}

TEST(ClusterWire, NodeIds) {
  EXPECT_TRUE(valid_node_id("a"));
  EXPECT_TRUE(valid_node_id("node-1.eu_west:2"));
  EXPECT_TRUE(valid_node_id(std::string(64, 'x')));
  EXPECT_FALSE(valid_node_id(std::string(65, 'x')));
  EXPECT_FALSE(valid_node_id(""));
  EXPECT_FALSE(valid_node_id("a b"));
  EXPECT_FALSE(valid_node_id("a\nb"));
  EXPECT_FALSE(valid_node_id("caf\xc3\xa9"));
}

TEST(ClusterWire, PublishRoundTripsAndKeepsTheEnvelopeVerbatim) {
  publish_message m{"node-a", 42, 5000,
                    R"({"envelopeId":"x","type":"t","userId":"u","payload":"line\nbreak \" {}"})"};
  std::string bytes = encode(m);
  EXPECT_EQ(bytes.substr(0, bytes.find('\n')), "P1 node-a 42 5000");
  EXPECT_EQ(decode_publish(bytes), m);
  m.envelope.clear();
  m.request = UINT64_MAX;
  m.wait_ms = 0;
  EXPECT_EQ(decode_publish(encode(m)), m);
}

TEST(ClusterWire, MalformedPublishesDoNotDecode) {
  for (std::string_view bad :
       {"", "P1", "P1 ", "P1 a 1 2", "P2 a 1 2\n{}", "A1 a 1 2\n{}", "P1  1 2\n{}", "P1 a x 2\n{}",
        "P1 a 1 -2\n{}", "P1 a 01 2\n{}", "P1 a 1 2 3\n{}", "P1 a 99999999999999999999 2\n{}",
        "P1 a\tb 1 2\n{}", "p1 a 1 2\n{}", "P1 a 1 3600001\n{}", "P1 a 1 10000000000000\n{}"})
    EXPECT_EQ(decode_publish(bad), std::nullopt) << bad;
}

TEST(ClusterWire, AnswerRoundTripsResultsOfAnyShape) {
  std::string deep(63, '[');
  deep += std::string(63, ']');
  node_answer a{7, 3, {"1", R"({"read":true,"s":"a:b\n5:x"})", deep}};
  std::string bytes = encode(a);
  EXPECT_EQ(bytes.substr(0, bytes.find('\n')), "A1 7 3 3");
  EXPECT_EQ(decode_answer(bytes), a);
  node_answer none{8, 0, {}};
  EXPECT_EQ(encode(none), "A1 8 0 0\n");
  EXPECT_EQ(decode_answer("A1 8 0 0\n"), none);
  node_answer counts_only{9, 5, {"null"}};
  EXPECT_EQ(decode_answer(encode(counts_only)), counts_only);
}

TEST(ClusterWire, MalformedAnswersDoNotDecode) {
  for (std::string_view bad : {"", "A1 1 1 1\n", "A1 1 1 1\n2:1", "A1 1 1 1\n1:12",
                               "A1 1 0 1\n1:1",  // more results than sockets
                               "A1 1 2 2\n1:1",  // fewer results than announced
                               "A1 1 1 1\n0:",   // an empty result is not JSON
                               "A1 1 1 1\n01:1", "A1 1 1 1\nx:1", "A1 1 1\n", "A2 1 1 0\n",
                               "P1 1 1 0\n", "A1 1 18446744073709551615 99999999\n1:1"})
    EXPECT_EQ(decode_answer(bad), std::nullopt) << bad;
}
