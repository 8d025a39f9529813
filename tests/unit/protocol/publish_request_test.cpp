#include "protocol/publish_request.hpp"

#include <gtest/gtest.h>

#include "core/js_json.hpp"

using namespace hf;
using namespace hf::protocol;

namespace {
errc error_of(std::optional<std::string_view> ct, std::string_view body) {
  auto r = parse_publish_request(ct, body);
  EXPECT_FALSE(r) << body;
  return r ? errc::ok : static_cast<errc>(r.error().value());
}
}  // namespace

TEST(PublishRequest, ChecksInOrder) {
  EXPECT_EQ(error_of(std::nullopt, "not json"), errc::unsupported_media_type);
  EXPECT_EQ(error_of("text/plain", R"({"userId":"u"})"), errc::unsupported_media_type);
  EXPECT_EQ(error_of("application/json", "not json"), errc::invalid_json_body);
  EXPECT_EQ(error_of("application/json", ""), errc::invalid_json_body);
  EXPECT_EQ(error_of("application/json", "{}"), errc::user_id_required);
}

TEST(PublishRequest, ContentTypeContainsApplicationJsonAnyCase) {
  for (auto ct : {"application/json", "Application/JSON; charset=utf-8", "x, application/json",
                  "application/json-seq"})
    EXPECT_TRUE(parse_publish_request(ct, R"({"userId":"u"})")) << ct;
}

TEST(PublishRequest, UserIdRules) {
  for (auto body : {"null", "[]", "[{\"userId\":\"u\"}]", "5", "\"u\"", "true", R"({"userId":""})",
                    R"({"userId":"  "})", R"({"userId":5})", R"({"userId":null})"})
    EXPECT_EQ(error_of("application/json", body), errc::user_id_required) << body;
  auto r = parse_publish_request("application/json", R"({"userId":" u1 "})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->user_id, "u1");
}

TEST(PublishRequest, TypeDefaultsToMessage) {
  auto type_of = [](std::string_view body) {
    return parse_publish_request("application/json", body)->type;
  };
  EXPECT_EQ(type_of(R"({"userId":"u"})"), "message");
  EXPECT_EQ(type_of(R"({"userId":"u","type":" chat "})"), "chat");
  EXPECT_EQ(type_of(R"({"userId":"u","type":"  "})"), "message");
  EXPECT_EQ(type_of(R"({"userId":"u","type":5})"), "message");
}

TEST(PublishRequest, PayloadAbsentVersusNull) {
  auto a = parse_publish_request("application/json", R"({"userId":"u"})");
  EXPECT_FALSE(a->payload.has_value());
  auto b = parse_publish_request("application/json", R"({"userId":"u","payload":null})");
  ASSERT_TRUE(b->payload.has_value());
  EXPECT_TRUE(b->payload->is_null());
}

TEST(PublishRequest, BodyDecodedAsFetchDoes) {
  auto r = parse_publish_request("application/json",
                                 "\xEF\xBB\xBF{\"userId\":\"u\",\"payload\":\"a\xFFz\"}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->payload->get_string(), "a\xEF\xBF\xBDz");
}

TEST(PublishRequest, AckTimeoutExtension) {
  auto r = parse_publish_request("application/json", R"({"userId":"u","ackTimeoutMs":0})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ack_timeout_ms, 0);
  EXPECT_EQ(error_of("application/json", R"({"userId":"u","ackTimeoutMs":-1})"),
            errc::invalid_ack_timeout);
  EXPECT_EQ(error_of("application/json", R"({"userId":"u","ackTimeoutMs":"5"})"),
            errc::invalid_ack_timeout);
  EXPECT_FALSE(parse_publish_request("application/json", R"({"userId":"u"})")->ack_timeout_ms);
}

TEST(PublishAnswer, Serialisation) {
  EXPECT_EQ(serialize_publish_answer(0, {}), R"({"clientCount":0,"results":[]})");
  EXPECT_EQ(serialize_publish_answer(2, {"null", R"({"a":1})"}),
            R"({"clientCount":2,"results":[null,{"a":1}]})");
  EXPECT_EQ(serialize_error("Unauthorized"), R"({"error":"Unauthorized"})");
}
