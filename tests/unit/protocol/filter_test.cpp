#include "protocol/filter.hpp"

#include <gtest/gtest.h>

#include <array>
#include <boost/json/serialize.hpp>
#include <random>

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

// reads_payload says exactly when matches() would look at the payload: a
// set whose answer for a type does not depend on it can be asked with none.
TEST(FilterSet, ReadsPayloadOnlyForFieldFiltersWithoutATypeOnlyOne) {
  filter_set s;
  s.add(norm(R"([{"type":"a"},{"type":"a","k":"v"},{"type":"b","k":"v"}])"), 1000);
  EXPECT_FALSE(s.reads_payload("a"));  // the type-only filter answers
  EXPECT_TRUE(s.reads_payload("b"));
  EXPECT_FALSE(s.reads_payload("c"));  // no filter of the type
  auto p = J(R"({"k":"v"})");
  for (std::string_view t : {"a", "b", "c"})
    if (!s.reads_payload(t)) EXPECT_EQ(s.matches(t, nullptr), s.matches(t, &p)) << t;
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

namespace {
// The reference: a filter set matches when any of its filters does.
bool naive(const std::vector<filter>& fs, std::string_view type, const boost::json::value* p) {
  for (const auto& f : fs)
    if (matches(f, type, p)) return true;
  return false;
}
}  // namespace

// A type with many filters is matched through the set's order (its first
// field's key and value) instead of a scan: the same answers, exact bytes.
TEST(FilterSet, ManyFiltersOfOneTypeMatchExactlyAsEachFilterWould) {
  filter_set s;
  for (int i = 0; i < 100; i += 2) {
    std::string list = R"([{"type":"t","room":"r)" + std::to_string(i) +
                       R"("},{"type":"t","a":"x","room":"r)" + std::to_string(i + 1) + R"("}])";
    ASSERT_EQ(s.add(norm(list), 10000).added, 2u);
  }
  auto p = [](std::string_view s) { return J(s); };
  auto hit = p(R"({"room":"r42","n":1})"), miss = p(R"({"room":"r42 "})"),
       needs_a = p(R"({"room":"r43"})"), with_a = p(R"({"room":"r43","a":"x"})"),
       num = p(R"({"room":42})"), arr = p(R"(["r42"])");
  EXPECT_TRUE(s.matches("t", &hit));
  EXPECT_FALSE(s.matches("t", &miss));
  EXPECT_FALSE(s.matches("t", &needs_a));
  EXPECT_TRUE(s.matches("t", &with_a));
  EXPECT_FALSE(s.matches("t", &num));
  EXPECT_FALSE(s.matches("t", &arr));
  EXPECT_FALSE(s.matches("t", nullptr));
  EXPECT_FALSE(s.matches("u", &hit));
  // A payload with more members than are worth looking up: scanned instead.
  std::string wide = "{";
  for (int i = 0; i < 500; ++i) wide += R"("m)" + std::to_string(i) + R"(":"v",)";
  auto w = p(wide + R"("room":"r99","a":"x"})");
  EXPECT_TRUE(s.matches("t", &w));
  // A type-only filter matches every payload, also among many.
  ASSERT_EQ(s.add(norm(R"([{"type":"t"}])"), 10000).added, 1u);
  EXPECT_TRUE(s.matches("t", &miss));
  EXPECT_TRUE(s.matches("t", nullptr));
}

// Property: on random filter sets (few and many filters per type, shared
// first keys, several fields) and random payloads, the set answers exactly
// as the naive reference (any filter of the type matches).
TEST(FilterSet, MatchesLikeTheNaiveReferenceOnRandomFiltersAndPayloads) {
  std::mt19937 rng(12345);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const char* keys[] = {"a", "b", "c", "room", ""};
  const char* values[] = {"1", "2", "x", "", "1 ", "é"};
  std::size_t checks = 0, hits = 0;
  for (int round = 0; round < 300; ++round) {
    filter_set s;
    std::vector<filter> all;
    int count = std::array{1, 3, 9, 40, 200}[round % 5];
    for (int i = 0; i < count; ++i) {
      boost::json::object o;
      o["type"] = std::array{"t", "u", "v"}[pick(round % 2 ? 3 : 1)];
      int fields = pick(4);
      if (fields == 0 && pick(4)) fields = 1;  // type-only filters: rarer
      for (int k = 0; k < fields; ++k) o[keys[pick(5)]] = values[pick(6)];
      auto kept = normalize_filters(boost::json::array{o});
      if (kept.empty()) continue;
      s.add(kept, 100000);
      if (std::find(all.begin(), all.end(), kept[0]) == all.end()) all.push_back(kept[0]);
    }
    ASSERT_EQ(s.size(), all.size());
    for (int q = 0; q < 200; ++q) {
      boost::json::value payload;
      switch (pick(8)) {
        case 0:
          payload = nullptr;
          break;
        case 1:
          payload = boost::json::array{"1"};
          break;
        case 2:
          payload = "x";
          break;
        default: {
          boost::json::object o;
          int members = pick(7) == 0 ? 60 : pick(5);
          for (int m = 0; m < members; ++m) {
            std::string key = m < 5 && pick(3) ? keys[pick(5)] : "m" + std::to_string(m);
            if (pick(6) == 0)
              o[key] = pick(2);
            else
              o[key] = values[pick(6)];
          }
          payload = std::move(o);
        }
      }
      const boost::json::value* p = pick(10) == 0 ? nullptr : &payload;
      for (const char* type : {"t", "u", "v", "w"}) {
        bool want = naive(all, type, p);
        ASSERT_EQ(s.matches(type, p), want) << "round " << round << " type " << type << " payload "
                                            << (p ? boost::json::serialize(*p) : "none");
        ++checks;
        hits += want;
      }
    }
  }
  EXPECT_GT(hits, checks / 20);  // both answers are exercised
  EXPECT_LT(hits, checks - checks / 20);
}
