#include "protocol/filter.hpp"

#include <gtest/gtest.h>

#include "core/js_json.hpp"

using namespace hf::protocol;

namespace {
boost::json::value J(std::string_view s) { return *hf::core::parse_json(s); }
std::vector<filter> norm(std::string_view s) { return normalize_filters(J(s)); }
}  // namespace

TEST(Filters, KeepsObjectsWithStringTypeAndStringMembers) {
  auto f = norm(R"([{"type":" chat ","questId":" q1 "},{"type":"x","n":1},{"type":"  "},
                    {"questId":"q"},"str",5,null,[],{"type":5},{"type":"t","a":null}])");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].type, "chat");  // type trimmed
  ASSERT_EQ(f[0].fields.size(), 1u);
  EXPECT_EQ(f[0].fields[0].first, "questId");
  EXPECT_EQ(f[0].fields[0].second, " q1 ");  // other members as given
}

TEST(Filters, NotAnArrayKeepsNothing) {
  EXPECT_TRUE(norm(R"({"type":"x"})").empty());
  EXPECT_TRUE(norm(R"("x")").empty());
}

TEST(Filters, OnlyFirstFiftyEntriesCountingDroppedOnes) {
  std::string list = "[";
  for (int i = 0; i < 49; ++i) list += "5,";
  list += R"({"type":"fiftieth"},{"type":"fifty-first"}])";
  auto f = norm(list);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].type, "fiftieth");
}

TEST(Filters, DuplicatesInsideOneMessageCollapseKeyOrderIgnored) {
  auto f =
      norm(R"([{"type":"a","x":"1","y":"2"},{"y":"2","type":"a ","x":"1"},{"type":"a","x":"1"}])");
  EXPECT_EQ(f.size(), 2u);
}

TEST(Filters, Matching) {
  auto f = norm(R"([{"type":"chat","q":"1"}])")[0];
  auto p = J(R"({"q":"1","other":2})");
  EXPECT_TRUE(matches(f, "chat", &p));
  EXPECT_FALSE(matches(f, "Chat", &p));
  auto num = J(R"({"q":1})");
  EXPECT_FALSE(matches(f, "chat", &num));  // 1 is not "1"
  auto upper = J(R"({"Q":"1"})");
  EXPECT_FALSE(matches(f, "chat", &upper));
  auto arr = J(R"(["1"])");
  EXPECT_FALSE(matches(f, "chat", &arr));
  EXPECT_FALSE(matches(f, "chat", nullptr));
  auto spaced = J(R"({"q":"1 "})");
  EXPECT_FALSE(matches(f, "chat", &spaced));

  auto type_only = norm(R"([{"type":"chat"}])")[0];
  EXPECT_TRUE(matches(type_only, "chat", nullptr));  // no payload at all
  auto null_payload = J("null");
  EXPECT_TRUE(matches(type_only, "chat", &null_payload));
  EXPECT_TRUE(matches(type_only, "chat", &num));
}

TEST(FilterSet, AddDedupesRemoveExactEqual) {
  filter_set s;
  EXPECT_EQ(s.add(norm(R"([{"type":"a"},{"type":"b","k":"v"}])"), 1000).added, 2u);
  EXPECT_EQ(s.add(norm(R"([{"type":"a"},{"type":"c"}])"), 1000).added, 1u);
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.remove(norm(R"([{"type":"b"}])")), 0u);                  // not equal: k missing
  EXPECT_EQ(s.remove(norm(R"([{"type":"b","k":"v","z":"1"}])")), 0u);  // extra key
  EXPECT_EQ(s.remove(norm(R"([{"k":"v","type":" b"}])")), 1u);
  EXPECT_EQ(s.remove({}), 0u);
  EXPECT_EQ(s.size(), 2u);
  EXPECT_TRUE(s.matches("a", nullptr));
  EXPECT_FALSE(s.matches("b", nullptr));
}

TEST(FilterSet, LimitBoundsTheSet) {
  filter_set s;
  auto r = s.add(norm(R"([{"type":"a"},{"type":"b"},{"type":"c"}])"), 2);
  EXPECT_EQ(r.added, 2u);
  EXPECT_EQ(r.refused, 1u);
  r = s.add(norm(R"([{"type":"d"},{"type":"a"}])"), 2);
  EXPECT_EQ(r.added, 0u);
  EXPECT_EQ(r.refused, 1u);  // "a" is already there: not refused
  EXPECT_EQ(s.size(), 2u);
}

TEST(FilterSet, ManyFiltersOfManyTypesMatchByType) {
  filter_set s;
  for (int t = 0; t < 200; ++t) {
    std::string list = "[";
    for (int i = 0; i < 50; ++i)
      list += (i ? "," : "") + std::string(R"({"type":"t)") + std::to_string(t) + R"(","room":")" +
              std::to_string(i) + "\"}";
    list += "]";
    EXPECT_EQ(s.add(norm(list), 10000).added, 50u);
  }
  EXPECT_EQ(s.size(), 10000u);
  auto room = [](int i) { return J(R"({"room":")" + std::to_string(i) + R"("})"); };
  auto p49 = room(49), p50 = room(50);
  EXPECT_TRUE(s.matches("t199", &p49));  // the last filter of the last subscribe
  EXPECT_FALSE(s.matches("t199", &p50));
  EXPECT_FALSE(s.matches("t2000", &p49));
  EXPECT_EQ(s.remove(norm(R"([{"type":"t199","room":"49"}])")), 1u);
  EXPECT_FALSE(s.matches("t199", &p49));
}
