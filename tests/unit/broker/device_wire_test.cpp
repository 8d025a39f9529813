// Sections 11-13 between nodes (broker/device_wire.hpp) and section 12's
// publish and answer messages (broker/cluster_wire.hpp: P2, A2, C1).
#include "broker/device_wire.hpp"

#include <gtest/gtest.h>

#include "broker/cluster_wire.hpp"

using namespace hf;
using namespace hf::broker::wire;

TEST(DeviceWire, DeviceOpenedQueryAndAnswerRoundTrip) {
  device_opened d{"inc1", 1733550000123, "phone-1"};
  EXPECT_EQ(encode(d), "R1 inc1 1733550000123 phone-1");
  EXPECT_EQ(decode_device_opened(encode(d)), d);
  roster_query q{"node-a", "inc.2", 17};
  EXPECT_EQ(encode(q), "Q1 node-a inc.2 17");
  EXPECT_EQ(decode_roster_query(encode(q)), q);
  roster_answer a{"inc.2", 17, {{"x", 5}, {std::nullopt, 6}}};
  EXPECT_EQ(encode(a), "D1 inc.2 17 2\n5 dx\n6 -\n");
  EXPECT_EQ(decode_roster_answer(encode(a)), a);
  roster_answer none{"i", 1, {}};
  EXPECT_EQ(decode_roster_answer(encode(none)), none);
}

TEST(DeviceWire, MalformedMessagesDoNotDecode) {
  for (auto bad : {"R1 inc 5", "R1 inc -5 phone", "R1 inc 9582242582582242588 phone",
                   "R1 inc 05 phone", "R1 inc 5 ph one", "R2 i 5 p", "R1  5 p"})
    EXPECT_FALSE(decode_device_opened(bad)) << bad;
  for (auto bad : {"Q1 n i", "Q1 n i x", "Q1 n i 1 2", "Q1 n i 01"})
    EXPECT_FALSE(decode_roster_query(bad)) << bad;
  for (auto bad : {"D1 i 1 2\n5 dx\n", "D1 i 1 1\n5 x\n", "D1 i 1 1\n5 dx\nextra",
                   "D1 i 1 99999999\n5 -\n", "D1 i 1 1\n5 d\n"})
    EXPECT_FALSE(decode_roster_answer(bad)) << bad;
}

TEST(DeviceWire, APublishWithOptionsIsP2AndWithoutIsP1) {
  publish_message m{"n", "i", 3, 5000, "ep", 9, R"({"envelopeId":"e"})"};
  EXPECT_TRUE(encode(m).starts_with("P1 n i 3 5000 ep 9\n"));
  m.options = {2, true, false};
  m.elapsed_ms = 4;
  EXPECT_EQ(encode(m).substr(0, encode(m).find('\n')), "P2 n i 3 5000 1 0 2 4 ep 9");
  EXPECT_EQ(decode_publish(encode(m)), m);
  EXPECT_FALSE(decode_publish("P2 n i 3 5000 4 0 2 4 ep 9\n{}"));  // flags: receipts 1, webhook 2
  m.options.webhook = true;                                        // section 14: the second flag
  EXPECT_EQ(encode(m).substr(0, encode(m).find('\n')), "P2 n i 3 5000 3 0 2 4 ep 9");
  EXPECT_EQ(decode_publish(encode(m)), m);
  m.options = {0, false, false, true};
  EXPECT_EQ(encode(m).substr(0, encode(m).find('\n')), "P2 n i 3 5000 2 0 0 4 ep 9");
  EXPECT_EQ(decode_publish(encode(m)), m);
  EXPECT_FALSE(decode_publish("P2 n i 3 5000 0 0 0 4 ep 9\n{}"));  // no options: that is P1
  EXPECT_FALSE(decode_publish("P2 n i 3 5000 1 0 4294967296 4 ep 9\n{}"));
}

TEST(DeviceWire, ReceiptAnswersRoundTripInEveryPhase) {
  node_answer a;
  a.incarnation = "i";
  a.request = 4;
  a.envelope_id = "e";
  a.count = 3;
  a.receipts = true;
  a.step = node_answer::phase::final;
  a.entries = {{"phone", protocol::receipt_state::acked, R"({"a":"b c\n"})", 12},
               {std::nullopt, protocol::receipt_state::pending, std::nullopt, 0},
               {"-", protocol::receipt_state::gone, std::nullopt, 0}};
  EXPECT_EQ(decode_answer(encode(a)), a);
  a.step = node_answer::phase::ack;
  a.count = 0;
  a.entries.resize(1);
  EXPECT_EQ(decode_answer(encode(a)), a);
  for (auto bad :
       {"A2 i 4 e 1 0 4 1\np0 - -", "A2 i 4 e 0 0 0 1\np0 - -", "A2 i 4 e 1 0 0 1\nx0 - -",
        "A2 i 4 e 1 0 0 1\np0 - 1:x", "A2 i 4 e 1 0 0 1\na0 dph one -", "A2 i 4 e 1 0 0 2\np0 - -"})
    EXPECT_FALSE(decode_answer(bad)) << bad;
  EXPECT_EQ(encode_end("env-1"), "C1 env-1");
  EXPECT_EQ(decode_end("C1 env-1"), std::optional<std::string_view>("env-1"));
  EXPECT_FALSE(decode_end("C1 "));
  EXPECT_FALSE(decode_end("C1 a b"));
}
