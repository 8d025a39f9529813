// docs/protocol.md section 14: the events' bodies, the signature, and the
// retry schedule.
#include "protocol/webhook.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

using namespace hf::protocol;
using namespace std::chrono_literals;

TEST(Webhook, UnackedCarriesTheEnvelopeVerbatimAndTheReceipts) {
  std::string env = R"({"envelopeId":"e1","type":"t","userId":"u","payload":{"a":[1,2]}})";
  std::vector<receipt> devices = {{"phone", receipt_state::pending, {}, 0},
                                  {std::nullopt, receipt_state::gone, {}, 0}};
  EXPECT_EQ(serialize_unacked("id-1", env, 2, devices),
            R"({"id":"id-1","event":"unacked","envelope":)" + env +
                R"(,"clientCount":2,"devices":[{"device":"phone","state":"pending"},)"
                R"({"device":null,"state":"gone"}]})");
  EXPECT_EQ(serialize_unacked("id-2", env, 0, {}), R"({"id":"id-2","event":"unacked","envelope":)" +
                                                       env + R"(,"clientCount":0,"devices":[]})");
}

TEST(Webhook, LateAckNamesTheTargetAndEscapesStrings) {
  late_ack a{"e1", "u\"1\n", "phone", R"({"ok":true})", 7412};
  std::string body = serialize_late_ack("id-3", a);
  EXPECT_EQ(
      body,
      R"({"id":"id-3","event":"late_ack","envelopeId":"e1","userId":"u\"1\n","device":"phone",)"
      R"("result":{"ok":true},"ackMs":7412})");
  auto parsed = boost::json::parse(body).as_object();
  EXPECT_EQ(parsed.at("userId").as_string(), "u\"1\n");
  a.device.reset();
  a.result_json = "null";
  EXPECT_EQ(serialize_late_ack("id-4", a),
            R"({"id":"id-4","event":"late_ack","envelopeId":"e1","userId":"u\"1\n","device":null,)"
            R"("result":null,"ackMs":7412})");
}

// The value is the one `openssl dgst -sha256 -hmac` gives:
//   printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'whsec'
TEST(Webhook, SignatureIsHmacSha256OfTimeDotBody) {
  EXPECT_EQ(webhook_signature("whsec", 1700000000, R"({"a":1})"),
            "t=1700000000,v1=8ad37ba156048ae0e0a5533c75cdf26fee88b07f93cb57ee4c80adb053012032");
  EXPECT_NE(webhook_signature("whsec", 1700000001, R"({"a":1})"),
            webhook_signature("whsec", 1700000000, R"({"a":1})"));
  EXPECT_NE(webhook_signature("other", 1700000000, R"({"a":1})"),
            webhook_signature("whsec", 1700000000, R"({"a":1})"));
}

TEST(Webhook, RetriesDoubleFromOneSecondUpToAMinuteForTenMinutes) {
  EXPECT_EQ(webhook_retry_delay(1), 1s);
  EXPECT_EQ(webhook_retry_delay(2), 2s);
  EXPECT_EQ(webhook_retry_delay(3), 4s);
  EXPECT_EQ(webhook_retry_delay(6), 32s);
  EXPECT_EQ(webhook_retry_delay(7), 60s);
  EXPECT_EQ(webhook_retry_delay(1000), 60s);
  EXPECT_EQ(webhook_retry_delay(0), 1s);
  // Against a receiver that fails at once: attempts until the window ends,
  // at least five minutes of them (section 14).
  std::chrono::milliseconds at{0};
  unsigned attempts = 1;
  while (at + webhook_retry_delay(attempts) <= webhook_give_up_after) {
    at += webhook_retry_delay(attempts);
    ++attempts;
  }
  EXPECT_GE(at, 5min);
  EXPECT_EQ(attempts, 15u);
}
