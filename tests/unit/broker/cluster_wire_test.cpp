#include "broker/cluster_wire.hpp"

#include <gtest/gtest.h>

using namespace hf::broker::wire;

TEST(ClusterWire, ChannelsAreBuiltAndReadByOneFunctionEach) {
  EXPECT_EQ(user_channel("user_1"), "hf:u:user_1");
  EXPECT_EQ(user_of_channel("hf:u:user_1"), "user_1");
  EXPECT_EQ(user_of_channel(user_channel("a:b c")), "a:b c");  // user ids are free text
  EXPECT_EQ(user_of_channel("hf:r:node:1"), std::nullopt);
  EXPECT_EQ(user_of_channel("hf:u"), std::nullopt);
  EXPECT_EQ(user_of_channel("hf:u:"), "");
  // Each process has its own reply channel, even with the same NODE_ID.
  EXPECT_EQ(reply_channel("node-a", "0123abcd"), "hf:r:node-a:0123abcd");
  EXPECT_NE(reply_channel("a", "1"), reply_channel("a", "2"));
}

TEST(ClusterWire, Tokens) {
  EXPECT_TRUE(valid_token("a"));
  EXPECT_TRUE(valid_token("node-1.eu_west:2"));
  EXPECT_TRUE(valid_token("4b0c7e0e-1c1e-4a8e-9d3c-2f0e8c1d2b3a"));
  EXPECT_TRUE(valid_token(std::string(64, 'x')));
  EXPECT_FALSE(valid_token(std::string(65, 'x')));
  EXPECT_FALSE(valid_token(""));
  EXPECT_FALSE(valid_token("a b"));
  EXPECT_FALSE(valid_token("a\nb"));
  EXPECT_FALSE(valid_token("caf\xc3\xa9"));
}

TEST(ClusterWire, PublishRoundTripsAndKeepsTheEnvelopeVerbatim) {
  publish_message m{"node-a",
                    "9f8e",
                    42,
                    5000,
                    "ep-1",
                    7,
                    R"({"envelopeId":"x","type":"t","userId":"u","payload":"line\nbreak \" {}"})"};
  std::string bytes = encode(m);
  EXPECT_EQ(bytes.substr(0, bytes.find('\n')), "P1 node-a 9f8e 42 5000 ep-1 7");
  EXPECT_EQ(bytes.substr(0, publish_prefix(m).size()), publish_prefix(m));  // Redis completes it
  EXPECT_EQ(decode_publish(bytes), m);
  m.envelope.clear();
  m.request = UINT64_MAX;
  m.wait_ms = 0;
  EXPECT_EQ(decode_publish(encode(m)), m);
  m.wait_ms = max_wait_ms;
  m.offset = UINT64_MAX;
  EXPECT_EQ(decode_publish(encode(m)), m);
}

TEST(ClusterWire, MalformedPublishesDoNotDecode) {
  for (std::string_view bad : {"",
                               "P1",
                               "P1 ",
                               "P1 a i 1 2 e 1",
                               "P2 a i 1 2 e 1\n{}",
                               "A1 a i 1 2 e 1\n{}",
                               "P1  i 1 2 e 1\n{}",
                               "P1 a  1 2 e 1\n{}",
                               "P1 a i x 2 e 1\n{}",
                               "P1 a i 1 -2 e 1\n{}",
                               "P1 a i 01 2 e 1\n{}",
                               "P1 a i 1 2 e 1 3\n{}",
                               "P1 a i 99999999999999999999 2 e 1\n{}",
                               "P1 a\tb i 1 2 e 1\n{}",
                               "p1 a i 1 2 e 1\n{}",
                               "P1 a i 1 3600001 e 1\n{}",
                               "P1 a i 1 10000000000000 e 1\n{}",
                               "P1 a 1 2\n{}",
                               "P1 a i 1 2\n{}",
                               "P1 a i 1 2 e 0\n{}",
                               "P1 a i 1 2  1\n{}",
                               "P1 a i 1 2 e x\n{}"})
    EXPECT_EQ(decode_publish(bad), std::nullopt) << bad;
}

TEST(ClusterWire, AnswerNamesItsPublishAndRoundTripsResultsOfAnyShape) {
  std::string deep(63, '[');
  deep += std::string(63, ']');
  node_answer a{"9f8e", 7, "env-1", 4, 1, {"1", R"({"read":true,"s":"a:b\n5:x"})", deep}};
  std::string bytes = encode(a);
  EXPECT_EQ(bytes.substr(0, bytes.find('\n')), "A1 9f8e 7 env-1 4 1 3");
  EXPECT_EQ(decode_answer(bytes), a);
  node_answer none{"i", 8, "e", 0, 0, {}};
  EXPECT_EQ(encode(none), "A1 i 8 e 0 0 0\n");
  EXPECT_EQ(decode_answer("A1 i 8 e 0 0 0\n"), none);
  node_answer counts_only{"i", 9, "e", 5, 4, {"null"}};
  EXPECT_EQ(decode_answer(encode(counts_only)), counts_only);
}

TEST(ClusterWire, MalformedAnswersDoNotDecode) {
  for (std::string_view bad :
       {"", "A1 i 1 e 1 0 1\n", "A1 i 1 e 1 0 1\n2:1", "A1 i 1 e 1 0 1\n1:12",
        "A1 i 1 e 0 0 1\n1:1",  // more results than sockets
        "A1 i 1 e 2 0 2\n1:1",  // fewer results than announced
        "A1 i 1 e 2 2 1\n1:1",  // results + dropped above the sockets
        "A1 i 1 e 1 0 1\n0:",   // an empty result is not JSON
        "A1 i 1 e 1 0 1\n01:1", "A1 i 1 e 1 0 1\nx:1", "A1 i 1 e 1 0\n", "A2 i 1 e 1 0 0\n",
        "A1 1 e 1 0 0\n", "A1 i 1  1 0 0\n", "P1 i 1 e 1 0 0\n",
        "A1 i 1 e 18446744073709551615 0 99999999\n1:1"})
    EXPECT_EQ(decode_answer(bad), std::nullopt) << bad;
}

TEST(ClusterWire, StreamKeysShareTheUsersSlotAndEntryIdsAreOffsets) {
  EXPECT_EQ(meta_key("u1"), "hf:{u1}:m");
  EXPECT_EQ(stream_key("u1"), "hf:{u1}:s");
  EXPECT_EQ(offset_of_entry("0-42"), 42u);
  EXPECT_EQ(offset_of_entry("0-18446744073709551615"), UINT64_MAX);
  for (const char* bad : {"0-0", "1-42", "0-", "0-x", "0-042", "42", ""})
    EXPECT_EQ(offset_of_entry(bad), std::nullopt) << bad;
}
