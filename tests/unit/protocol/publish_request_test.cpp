#include "protocol/publish_request.hpp"

#include <gtest/gtest.h>

#include "core/js_json.hpp"
#include "protocol/publish_scan.hpp"

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
  for (auto parse : {parse_publish_request, parse_publish_request_dom}) {
    auto a = parse("application/json", R"({"userId":"u"})");
    EXPECT_FALSE(a->has_payload());
    auto b = parse("application/json", R"({"userId":"u","payload":null})");
    ASSERT_TRUE(b->has_payload());
    if (b->payload)
      EXPECT_TRUE(b->payload->is_null());
    else
      EXPECT_EQ(*b->payload_json, "null");
  }
}

// The one-pass scan (protocol/publish_scan.hpp) takes the usual bodies and
// leaves every other one to the DOM, with the same outcome.
TEST(PublishRequest, OnePassScanTakesTheUsualShapeOnly) {
  auto fast = [](std::string_view body) { return scan_publish(body); };
  auto r = fast(
      R"({"userId":" u1 ","type":" chat ","payload":{"text":"hi\n","n":-5,"a":[true,null,{}]},"ackTimeoutMs":250})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->user_id, "u1");
  EXPECT_EQ(r->type, "chat");
  EXPECT_EQ(*r->payload_json, R"({"text":"hi\n","n":-5,"a":[true,null,{}]})");
  EXPECT_EQ(r->ack_timeout_ms, 250);
  r = fast(" {\n \"userId\" : \"u\" , \"type\":\"  \" } ");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, "message");
  EXPECT_FALSE(r->has_payload());
  // Declined: not canonical, another member, escapes in userId/type, repeats,
  // blank or missing userId, a non-integer or negative ackTimeoutMs.
  for (std::string_view body : {R"({"userId":"u","payload":{"a": 1}})",
                                R"({"userId":"u","payload":1.5})",
                                R"({"userId":"u","payload":1e2})",
                                R"({"userId":"u","payload":-0})",
                                R"({"userId":"u","payload":0123})",
                                R"({"userId":"u","payload":1234567890123456})",
                                R"({"userId":"u","payload":"\u0041"})",
                                R"({"userId":"u","payload":"a\/b"})",
                                R"({"userId":"u","payload":{"1":1}})",
                                R"({"userId":"u","payload":{"a":1,"a":2}})",
                                R"({"userId":"u","receipts":true})",
                                R"({"userId":"u\u0020"})",
                                R"({"userId":"u","type":5})",
                                R"({"userId":"u","userId":"v"})",
                                R"({"userId":"  "})",
                                R"({"type":"t"})",
                                R"({"userId":"u","ackTimeoutMs":-1})",
                                R"({"userId":"u","ackTimeoutMs":1.0})",
                                R"({"userId":"u"} x)",
                                R"({"userId":"u",})",
                                R"([{"userId":"u"}])",
                                R"({"userIds":["u"]})",
                                R"({"userId":"u","payload":[1,]})",
                                R"({"userId":"u","payload":tru})",
                                R"({"userId":"u","payload":"a)"}) {
    EXPECT_FALSE(fast(body)) << body;
  }
  // Declined bodies still get the DOM's answer through parse_publish_request.
  auto slow = parse_publish_request("application/json", R"({"userId":"u","payload":{"a": 1.50}})");
  ASSERT_TRUE(slow);
  EXPECT_TRUE(slow->payload);
  EXPECT_FALSE(slow->payload_json);
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

// Section 15: `userIds` instead of `userId`.
namespace {
std::string user_ids_body(std::size_t n, std::string_view extra = "") {
  std::string body = R"({"userIds":[)";
  for (std::size_t i = 0; i < n; ++i) body += (i ? ",\"u" : "\"u") + std::to_string(i) + "\"";
  return body + "]" + std::string(extra) + "}";
}
}  // namespace

TEST(PublishRequest, UserIdsTrimmedWithoutDuplicatesFirstOccurrenceKept) {
  auto r = parse_publish_request(
      "application/json",
      R"({"userIds":[" b","a","b ","c","\u00a0a\n"],"type":"chat","payload":{"n":1}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->user_ids, (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ(r->user_id, "");
  EXPECT_EQ(r->type, "chat");
  EXPECT_EQ(core::to_js_json(*r->payload), R"({"n":1})");
  // Only the first of `u` and ` u`.
  r = parse_publish_request("application/json", R"({"userIds":["u"," u","u "]})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->user_ids, std::vector<std::string>{"u"});
  // A single userId leaves user_ids empty.
  EXPECT_TRUE(parse_publish_request("application/json", R"({"userId":"u"})")->user_ids.empty());
}

TEST(PublishRequest, UserIdsBadShapesAre400WithTheirOwnMessage) {
  for (auto body : {
           R"({"userIds":"a"})",         // not an array
           R"({"userIds":{"a":1}})",     // an object
           R"({"userIds":null})",        // null
           R"({"userIds":5})",           // a number
           R"({"userIds":true})",        // a boolean
           R"({"userIds":[]})",          // empty
           R"({"userIds":["a",5]})",     // a number inside
           R"({"userIds":["a",null]})",  // null inside
           R"({"userIds":[["a"]]})",     // an array inside
           R"({"userIds":["a",""]})",    // empty
           R"({"userIds":["a","  "]})",  // blank
           R"({"userIds":["\u00a0\n"]})",
       })
    EXPECT_EQ(error_of("application/json", body), errc::invalid_user_ids) << body;
  EXPECT_EQ(make_error_code(errc::invalid_user_ids).message(),
            "userIds must be an array of 1-1000 non-blank strings");
}

TEST(PublishRequest, UserIdsNextToUserIdIs400WhateverTheirValues) {
  for (auto body : {
           R"({"userIds":["a"],"userId":"b"})",
           R"({"userId":"b","userIds":["a"]})",
           R"({"userIds":["a"],"userId":null})",
           R"({"userIds":["a"],"userId":""})",
           R"({"userId":"b","userIds":null})",
           R"({"userId":null,"userIds":"x"})",
       })
    EXPECT_EQ(error_of("application/json", body), errc::invalid_user_ids) << body;
  // Neither member: userId is required, as before.
  EXPECT_EQ(error_of("application/json", R"({"type":"m"})"), errc::user_id_required);
  EXPECT_EQ(error_of("application/json", R"({"userID":["a"]})"), errc::user_id_required);
}

TEST(PublishRequest, UserIdsAtMost1000AsSent) {
  auto r = parse_publish_request("application/json", user_ids_body(max_user_ids));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->user_ids.size(), 1000u);
  EXPECT_EQ(r->user_ids.front(), "u0");
  EXPECT_EQ(r->user_ids.back(), "u999");
  EXPECT_EQ(error_of("application/json", user_ids_body(max_user_ids + 1)), errc::invalid_user_ids);
  // The bound counts the array as sent: 1001 entries are too many even when
  // one is a duplicate.
  std::string dup = user_ids_body(max_user_ids);
  dup.insert(dup.find(']'), R"(,"u0")");
  EXPECT_EQ(error_of("application/json", dup), errc::invalid_user_ids);
}

TEST(PublishRequest, UserIdsSitWhereUserIdIsInTheOrderOfChecks) {
  EXPECT_EQ(error_of("text/plain", R"({"userIds":5})"), errc::unsupported_media_type);
  EXPECT_EQ(error_of("application/json", R"({"userIds":[)"), errc::invalid_json_body);
  // Before ackTimeoutMs and section 12's members...
  EXPECT_EQ(error_of("application/json", R"({"userIds":[],"ackTimeoutMs":-1,"receipts":1})"),
            errc::invalid_user_ids);
  // ...which are checked for many users as for one.
  EXPECT_EQ(error_of("application/json", R"({"userIds":["a"],"ackTimeoutMs":-1})"),
            errc::invalid_ack_timeout);
  EXPECT_EQ(error_of("application/json", R"({"userIds":["a"],"until":0})"), errc::invalid_until);
  auto r = parse_publish_request(
      "application/json",
      R"({"userIds":["a","b"],"ackTimeoutMs":250,"receipts":true,"until":"first","cancel":true})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ack_timeout_ms, 250);
  EXPECT_EQ(r->options, (publish_options{1, true, true}));
}
