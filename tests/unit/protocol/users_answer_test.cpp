// Section 15: the answer of a publish to many users.
#include "protocol/users_answer.hpp"

#include <gtest/gtest.h>

#include "core/js_json.hpp"

using namespace hf;
using namespace hf::protocol;

namespace {
user_answer user(std::string_view id, std::string_view env, std::size_t count,
                 std::vector<std::string> results, std::size_t dropped = 0,
                 std::vector<receipt> devices = {}) {
  return {id, env, count, std::move(results), dropped, std::move(devices)};
}
}  // namespace

TEST(UsersAnswer, MembersInTheContractsOrderUsersInTheGivenOrder) {
  std::vector<user_answer> users;
  users.push_back(user("zed", "e1", 2, {R"("z1")", R"({"a":1})"}));
  users.push_back(user("amy", "e2", 0, {}));
  users.push_back(user("bob", "e3", 1, {"null"}));
  EXPECT_EQ(serialize_users_answer(users, false),
            R"({"clientCount":3,"results":["z1",{"a":1},null],"users":{)"
            R"("zed":{"clientCount":2,"results":["z1",{"a":1}],"envelopeId":"e1"},)"
            R"("amy":{"clientCount":0,"results":[],"envelopeId":"e2"},)"
            R"("bob":{"clientCount":1,"results":[null],"envelopeId":"e3"}}})");
}

TEST(UsersAnswer, ReceiptsGoInEachUsersEntryOnly) {
  std::vector<user_answer> users;
  users.push_back(user("a", "e1", 2, {R"("ok")"}, 0,
                       {{"phone", receipt_state::acked, R"("ok")", 12},
                        {std::nullopt, receipt_state::pending, std::nullopt, 0}}));
  users.push_back(user("b", "e2", 0, {}));
  auto text = serialize_users_answer(users, true);
  EXPECT_EQ(text, R"({"clientCount":2,"results":["ok"],"users":{)"
                  R"("a":{"clientCount":2,"results":["ok"],"devices":[)"
                  R"({"device":"phone","state":"acked","result":"ok","ackMs":12},)"
                  R"({"device":null,"state":"pending"}],"envelopeId":"e1"},)"
                  R"("b":{"clientCount":0,"results":[],"devices":[],"envelopeId":"e2"}}})");
  auto parsed = core::parse_json(text);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->as_object().contains("devices"));
}

TEST(UsersAnswer, DroppedResultsPerUserAndTheirSumLast) {
  std::vector<user_answer> users;
  users.push_back(user("a", "e1", 3, {"1"}, 2));
  users.push_back(user("b", "e2", 1, {"2"}));
  users.push_back(user("c", "e3", 1, {}, 1));
  EXPECT_EQ(serialize_users_answer(users, false),
            R"({"clientCount":5,"results":[1,2],"users":{)"
            R"("a":{"clientCount":3,"results":[1],"resultsDropped":2,"envelopeId":"e1"},)"
            R"("b":{"clientCount":1,"results":[2],"envelopeId":"e2"},)"
            R"("c":{"clientCount":1,"results":[],"resultsDropped":1,"envelopeId":"e3"}},)"
            R"("resultsDropped":3})");
}

TEST(UsersAnswer, UserIdsAreEscapedAsJsonKeys) {
  std::vector<user_answer> users;
  users.push_back(user("a\"b\\c\n", "e1", 0, {}));
  users.push_back(user("caf\xC3\xA9", "e2", 0, {}));
  auto parsed = core::parse_json(serialize_users_answer(users, false));
  ASSERT_TRUE(parsed);
  const auto& u = parsed->as_object().at("users").as_object();
  EXPECT_TRUE(u.contains("a\"b\\c\n"));
  EXPECT_TRUE(u.contains("caf\xC3\xA9"));
}
