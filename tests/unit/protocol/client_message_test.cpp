#include "protocol/client_message.hpp"

#include <gtest/gtest.h>

using namespace hf::protocol;

TEST(ClientMessage, PingIsTrimmedAndCaseInsensitive) {
  for (auto t : {"ping", "PING", " Ping ", "\tpInG\n"})
    EXPECT_TRUE(std::holds_alternative<ping_message>(parse_client_message(t))) << t;
  for (auto t : {"pingg", "\"ping\"", "p ing", ""})
    EXPECT_FALSE(std::holds_alternative<ping_message>(parse_client_message(t))) << t;
}

TEST(ClientMessage, SubscribeAndUnsubscribe) {
  auto m = parse_client_message(R"({"type":"subscribe","filters":[{"type":"a"}]})");
  ASSERT_TRUE(std::holds_alternative<subscribe_message>(m));
  EXPECT_EQ(std::get<subscribe_message>(m).filters.size(), 1u);
  m = parse_client_message(R"({"type":"unsubscribe","filters":[{"type":"a"}]})");
  ASSERT_TRUE(std::holds_alternative<unsubscribe_message>(m));
  m = parse_client_message(R"({"type":"subscribe","filters":{"type":"a"}})");
  EXPECT_TRUE(std::holds_alternative<ignored_message>(m));
}

TEST(ClientMessage, AckResultIsStringifiedNullWhenAbsent) {
  auto m = parse_client_message(R"({"type":"ack","envelopeId":"e1","result":{"b":1.0,"1":[2E0]}})");
  ASSERT_TRUE(std::holds_alternative<ack_message>(m));
  EXPECT_EQ(std::get<ack_message>(m).envelope_id(), "e1");
  EXPECT_EQ(std::get<ack_message>(m).result_json, R"({"1":[2],"b":1})");
  m = parse_client_message(R"({"type":"ack","envelopeId":"e1"})");
  EXPECT_EQ(std::get<ack_message>(m).result_json, "null");
  m = parse_client_message(R"({"type":"ack","envelopeId":"e1","result":null})");
  EXPECT_EQ(std::get<ack_message>(m).result_json, "null");
  EXPECT_TRUE(std::holds_alternative<ignored_message>(
      parse_client_message(R"({"type":"ack","envelopeId":7})")));
  // Ids are kept inline up to 64 bytes; a longer one can match no envelope.
  std::string id64(64, 'x');
  m = parse_client_message(R"({"type":"ack","envelopeId":")" + id64 + R"("})");
  EXPECT_EQ(std::get<ack_message>(m).envelope_id(), id64);
  EXPECT_TRUE(std::holds_alternative<ignored_message>(
      parse_client_message(R"({"type":"ack","envelopeId":")" + id64 + R"(y"})")));
}

TEST(ClientMessage, EverythingElseIsIgnored) {
  for (auto t :
       {"not json", "[1,2]", "null", "42", R"("subscribe")", R"({"type":"SUBSCRIBE","filters":[]})",
        R"({"type":"publish"})", R"({"filters":[]})", "{", R"({"type":["ack"]})"})
    EXPECT_TRUE(std::holds_alternative<ignored_message>(parse_client_message(t))) << t;
}

TEST(ClientMessage, Recover) {
  using namespace hf::protocol;
  auto pm = parse_client_message(R"({"type":"recover"})");
  auto* plain = std::get_if<recover_message>(&pm);
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->from);
  auto m = parse_client_message(R"({"type":"recover","epoch":"E1","offset":42,"extra":true})");
  auto* r = std::get_if<recover_message>(&m);
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->from);
  EXPECT_EQ(r->from->epoch, "E1");
  EXPECT_EQ(r->from->offset, 42u);
  for (const char* bad : {R"({"type":"recover","epoch":"E"})", R"({"type":"recover","offset":1})",
                          R"({"type":"recover","epoch":null,"offset":1})",
                          R"({"type":"recover","epoch":"E","offset":"1"})",
                          R"({"type":"recover","epoch":"E","offset":-1})",
                          R"({"type":"recover","epoch":"E","offset":1e300})"})
    EXPECT_TRUE(std::holds_alternative<ignored_message>(parse_client_message(bad))) << bad;
  EXPECT_EQ(serialize_recovered("E\"1", 7, true),
            R"({"type":"recovered","epoch":"E\"1","offset":7,"recovered":true})");
  EXPECT_EQ(with_offset(R"({"envelopeId":"x"})", 12), R"({"envelopeId":"x","offset":12})");
}

TEST(ClientMessage, AckFastPathAgreesWithTheGeneralParser) {
  const std::string id = "0b7d5a7e-6a52-4f0e-9a43-4c1b9f0f5c11";
  for (std::string result :
       {"1", "-42", "null", "true", "false", "\"read\"", "\"ünïcode ✓\"", "123456789012345"}) {
    std::string text = R"({"type":"ack","envelopeId":")" + id + R"(","result":)" + result + "}";
    auto fast = scan_ack(text);
    ASSERT_TRUE(fast) << text;
    EXPECT_EQ(fast->envelope_id(), id);
    EXPECT_EQ(fast->result_json, result);
    auto general = std::get<ack_message>(parse_client_message_general(text));
    EXPECT_EQ(general.result_json, fast->result_json);
  }
  EXPECT_EQ(scan_ack(R"({"type":"ack","envelopeId":"e1"})")->result_json, "null");
  // Everything else goes the general way, with the general answer.
  for (std::string text :
       {R"({"type":"ack","envelopeId":"e1","result":1.0})",  // JSON.stringify prints 1
        R"({"type":"ack","envelopeId":"e1","result":-0})",
        R"({"type":"ack","envelopeId":"e1","result":01})",
        R"({"type":"ack","envelopeId":"e1","result":1234567890123456})",
        R"({"type":"ack","envelopeId":"e1","result":"a\"b"})",
        R"({"type":"ack","envelopeId":"e\u0031"})",
        R"({"type":"ack","envelopeId":"e1","result":{"a":1}})",
        R"({"type":"ack","envelopeId":"e1","result":1,"x":2})",
        R"({"type":"ack","envelopeId":"e1","result":1} )", R"( {"type":"ack","envelopeId":"e1"})"})
    EXPECT_FALSE(scan_ack(text)) << text;
  auto m = parse_client_message(R"({"type":"ack","envelopeId":"e\u0031","result":1.0})");
  EXPECT_EQ(std::get<ack_message>(m).envelope_id(), "e1");
  EXPECT_EQ(std::get<ack_message>(m).result_json, "1");
}
