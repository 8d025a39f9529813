// Sections 11-13 as pure functions: device names, the publish options, the
// answer's receipts, the cancel frame, the roster and its route.
#include "protocol/receipts.hpp"

#include <gtest/gtest.h>

#include "auth/token_source.hpp"
#include "core/text.hpp"
#include "protocol/publish_request.hpp"
#include "protocol/routing.hpp"

using namespace hf;
using namespace hf::protocol;

TEST(Receipts, DeviceNamesAre1To64PrintableAscii) {
  EXPECT_TRUE(valid_device("phone-1"));
  EXPECT_TRUE(valid_device("!~"));
  EXPECT_TRUE(valid_device(std::string(64, 'x')));
  EXPECT_FALSE(valid_device(""));
  EXPECT_FALSE(valid_device(std::string(65, 'x')));
  EXPECT_FALSE(valid_device("a b"));
  EXPECT_FALSE(valid_device("caf\xC3\xA9"));
  EXPECT_FALSE(valid_device("tab\t"));
}

TEST(Receipts, PublishOptionsParseExactlyAndInOrder) {
  auto parse = [](std::string_view body) {
    return parse_publish_request("application/json", body);
  };
  auto ok = parse(R"({"userId":"u","receipts":true,"until":"first","cancel":true})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->options, (publish_options{1, true, true}));
  EXPECT_EQ(parse(R"({"userId":"u","until":"all"})")->options.until, 0u);
  EXPECT_EQ(parse(R"({"userId":"u","until":3})")->options.until, 3u);
  EXPECT_EQ(parse(R"({"userId":"u","until":3.0})")->options.until, 3u);
  EXPECT_EQ(parse(R"({"userId":"u","until":1e12})")->options.until, 0u);  // more than any count
  EXPECT_FALSE(parse(R"({"userId":"u"})")->options.any());
  for (auto bad : {R"("ALL")", R"("First")", "0", "-1", "1.5", "null", "true", "[]", R"("2")"})
    EXPECT_EQ(parse(std::string(R"({"userId":"u","until":)") + bad + "}").error(),
              errc::invalid_until)
        << bad;
  EXPECT_EQ(parse(R"({"userId":"u","receipts":1})").error(), errc::invalid_receipts);
  EXPECT_EQ(parse(R"({"userId":"u","receipts":null})").error(), errc::invalid_receipts);
  EXPECT_EQ(parse(R"({"userId":"u","cancel":"true"})").error(), errc::invalid_cancel);
  // userId first, then ackTimeoutMs, then these.
  EXPECT_EQ(parse(R"({"receipts":1})").error(), errc::user_id_required);
  EXPECT_EQ(parse(R"({"userId":"u","ackTimeoutMs":-1,"receipts":1})").error(),
            errc::invalid_ack_timeout);
  EXPECT_EQ(make_error_code(errc::invalid_until).message(),
            R"(until must be "all", "first" or a positive integer)");
}

TEST(Receipts, TheAnswerListsDevicesAfterResults) {
  std::vector<receipt> r{{"watch", receipt_state::acked, "\"ok\"", 12},
                         {std::nullopt, receipt_state::acked, std::nullopt, 20},
                         {"phone", receipt_state::pending, std::nullopt, 0},
                         {"tv", receipt_state::gone, std::nullopt, 0}};
  EXPECT_EQ(serialize_publish_answer(4, {"\"ok\""}, 1, &r),
            R"({"clientCount":4,"results":["ok"],"devices":[)"
            R"({"device":"watch","state":"acked","result":"ok","ackMs":12},)"
            R"({"device":null,"state":"acked","ackMs":20},)"
            R"({"device":"phone","state":"pending"},{"device":"tv","state":"gone"}],)"
            R"("resultsDropped":1})");
  EXPECT_EQ(serialize_publish_answer(0, {}, 0, nullptr), R"({"clientCount":0,"results":[]})");
}

TEST(Receipts, OrderPutsAckedByTimeThenPendingThenGone) {
  std::vector<receipt> r{{"g", receipt_state::gone, {}, 0},
                         {"p", receipt_state::pending, {}, 0},
                         {"late", receipt_state::acked, "1", 90},
                         {"early", receipt_state::acked, "2", 10},
                         {"tie", receipt_state::acked, "3", 10}};
  order_receipts(r);
  std::vector<std::string> names;
  for (const auto& x : r) names.push_back(*x.device);
  EXPECT_EQ(names, (std::vector<std::string>{"early", "tie", "late", "p", "g"}));
}

TEST(Receipts, CancelFrameAndRosterOrder) {
  EXPECT_EQ(serialize_cancel("e-1"), R"({"type":"cancel","envelopeId":"e-1"})");
  EXPECT_EQ(serialize_roster("u\"1", {{"b", 1000}, {"a", 1000}, {std::nullopt, 1000}, {"z", 5}}),
            R"({"userId":"u\"1","devices":[{"device":"z","since":"1970-01-01T00:00:00.005Z"},)"
            R"({"device":null,"since":"1970-01-01T00:00:01.000Z"},)"
            R"({"device":"a","since":"1970-01-01T00:00:01.000Z"},)"
            R"({"device":"b","since":"1970-01-01T00:00:01.000Z"}]})");
  EXPECT_EQ(serialize_roster("u", {}), R"({"userId":"u","devices":[]})");
}

TEST(Receipts, TheRosterRouteTakesOneDecodedSegment) {
  EXPECT_EQ(roster_user("/users/u1/devices"), std::optional<std::string>("u1"));
  EXPECT_EQ(roster_user("/users/a%2Fb%20c+d/devices?x=1"), std::optional<std::string>("a/b c+d"));
  EXPECT_EQ(roster_user("http://h:1/users/u/devices"), std::optional<std::string>("u"));
  EXPECT_FALSE(roster_user("/users//devices"));
  EXPECT_FALSE(roster_user("/users/a/b/devices"));
  EXPECT_FALSE(roster_user("/users/u/devices/"));
  EXPECT_FALSE(roster_user("/user/u/devices"));
  EXPECT_EQ(classify("GET", "/users/u/devices", std::nullopt), route::roster);
  EXPECT_EQ(classify("OPTIONS", "/users/u/devices", std::nullopt), route::roster_preflight);
  EXPECT_EQ(classify("POST", "/users/u/devices", std::nullopt), route::not_found);
  EXPECT_EQ(classify("HEAD", "/users/u/devices", std::nullopt), route::not_found);
}

TEST(Receipts, QueryParametersAreFoundExactlyAndDecoded) {
  EXPECT_EQ(auth::query_param("/?token=t&device=ph%20one", "device"),
            std::optional<std::string>("ph one"));
  EXPECT_EQ(auth::query_param("/?device=a+b", "device"), std::optional<std::string>("a b"));
  EXPECT_EQ(auth::query_param("/?device=", "device"), std::optional<std::string>(""));
  EXPECT_EQ(auth::query_param("/?device", "device"), std::optional<std::string>(""));
  EXPECT_FALSE(auth::query_param("/?Device=x", "device"));  // names are case-sensitive
  EXPECT_FALSE(auth::query_param("/path", "device"));
  EXPECT_EQ(auth::query_param("/?d%65vice=x#device=y", "device"), std::optional<std::string>("x"));
  EXPECT_EQ(core::percent_decode("%zz%4", false), "%zz%4");
}
