// Section 15's Idempotency-Key, as pure functions, and the in-process store.
#include "protocol/idempotency.hpp"

#include <gtest/gtest.h>

#include "broker/idempotency_keys.hpp"

using namespace hf;
using namespace std::chrono_literals;

TEST(Idempotency, KeysAre1To255PrintableAscii) {
  EXPECT_TRUE(protocol::valid_idempotency_key("order-42"));
  EXPECT_TRUE(protocol::valid_idempotency_key("a b~"));
  EXPECT_TRUE(protocol::valid_idempotency_key(std::string(255, 'k')));
  EXPECT_FALSE(protocol::valid_idempotency_key(""));
  EXPECT_FALSE(protocol::valid_idempotency_key(std::string(256, 'k')));
  EXPECT_FALSE(protocol::valid_idempotency_key("tab\t"));
  EXPECT_FALSE(protocol::valid_idempotency_key("caf\xC3\xA9"));
}

TEST(Idempotency, FingerprintIgnoresMemberOrderAndWhiteSpaceOnly) {
  auto a = protocol::body_fingerprint(R"({"userId":"u","payload":{"x":1,"y":[1,2]},"type":"t"})");
  auto b = protocol::body_fingerprint(
      " {\"type\" : \"t\",\n\"payload\":{\"y\":[1, 2],\"x\":1.0},\"userId\":\"u\"}");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->size(), 64u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a,
            protocol::body_fingerprint(R"({"userId":"u","payload":{"x":2,"y":[1,2]},"type":"t"})"));
  EXPECT_NE(a,
            protocol::body_fingerprint(R"({"userId":"u","payload":{"x":1,"y":[2,1]},"type":"t"})"));
  EXPECT_FALSE(protocol::body_fingerprint("{"));
}

TEST(Idempotency, RecordsRoundTrip) {
  std::string fp(64, 'a');
  protocol::idempotency_record flight{fp, false, 0, {}, std::nullopt};
  EXPECT_EQ(protocol::encode(flight), "F" + fp);
  EXPECT_EQ(protocol::decode_idempotency_record(protocol::encode(flight)), flight);
  protocol::idempotency_record done{fp, true, 200, "{\"clientCount\":1,\n\"results\":[1]}",
                                    protocol::degradation::partial};
  EXPECT_EQ(protocol::decode_idempotency_record(protocol::encode(done)), done);
  done.degraded.reset();
  EXPECT_EQ(protocol::decode_idempotency_record(protocol::encode(done)), done);
  for (std::string bad : {std::string("X") + fp, "F" + fp + "x", "D" + fp + " 99 -\n{}",
                          "D" + fp + " 200 7\n{}", "D" + fp + " 200 -", std::string("Fshort")})
    EXPECT_FALSE(protocol::decode_idempotency_record(bad)) << bad;
}

TEST(Idempotency, MemoryStoreClaimsOnceAndReplaysTheAnswer) {
  broker::idempotency_memory m(10min);
  auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  std::string fp(64, 'a'), other(64, 'b');
  using o = broker::key_claim::outcome;
  EXPECT_EQ(m.claim("k", fp, 10s, t0).what, o::claimed);
  EXPECT_EQ(m.claim("k", fp, 10s, t0).what, o::in_flight);
  EXPECT_EQ(m.claim("k", other, 10s, t0).what, o::other_body);
  m.keep("k", {fp, true, 200, "{}", std::nullopt}, t0 + 1s);
  auto again = m.claim("k", fp, 10s, t0 + 2s);
  EXPECT_EQ(again.what, o::answered);
  EXPECT_EQ(again.record.body, "{}");
  EXPECT_EQ(m.claim("k", other, 10s, t0 + 2s).what, o::other_body);
  // The answer expires after the TTL; an in-flight claim after its hold.
  EXPECT_EQ(m.claim("k", fp, 10s, t0 + 11min).what, o::claimed);
  EXPECT_EQ(m.claim("k", fp, 10s, t0 + 11min + 11s).what, o::claimed);
  EXPECT_EQ(m.size(), 1u);
}
