#include "protocol/envelope.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <regex>
#include <set>

#include "core/js_json.hpp"

using namespace hf::protocol;

TEST(Envelope, UuidV4Format) {
  std::array<std::uint8_t, 16> zero{};
  EXPECT_EQ(format_uuid_v4(zero), "00000000-0000-4000-8000-000000000000");
  std::array<std::uint8_t, 16> ff;
  ff.fill(0xFF);
  EXPECT_EQ(format_uuid_v4(ff), "ffffffff-ffff-4fff-bfff-ffffffffffff");
  std::regex re("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = random_uuid_v4();
    EXPECT_TRUE(std::regex_match(id, re)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Envelope, IsoTimestampWithMilliseconds) {
  using namespace std::chrono;
  EXPECT_EQ(format_iso_timestamp(system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso_timestamp(system_clock::time_point{milliseconds{1795780800123}}),
            "2026-11-27T12:00:00.123Z");
  EXPECT_EQ(format_iso_timestamp(system_clock::time_point{milliseconds{951782400999}}),
            "2000-02-29T00:00:00.999Z");
  // The per-second prefix is cached: every millisecond across a day boundary,
  // against the calendar arithmetic done afresh.
  for (long long t = 1798761599000; t < 1798761601000; t += 7) {
    system_clock::time_point at{milliseconds{t}};
    auto day = floor<days>(at);
    year_month_day ymd{day};
    auto ms = floor<milliseconds>(at) - day;
    hh_mm_ss<milliseconds> hms{ms};
    char want[40];
    std::snprintf(want, sizeof want, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int(ymd.year()),
                  unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                  int(hms.minutes().count()), int(hms.seconds().count()),
                  int(hms.subseconds().count()));
    ASSERT_EQ(format_iso_timestamp(at), want) << t;
  }
  EXPECT_EQ(format_iso_timestamp(system_clock::time_point{milliseconds{1798761600000}}),
            "2027-01-01T00:00:00.000Z");
}

TEST(Envelope, KeyOrderAndPayloadPresence) {
  auto p = *hf::core::parse_json(R"({"b":1.50,"a":"x"})");
  EXPECT_EQ(
      serialize_envelope("id", "chat", "u", "T", &p),
      R"({"envelopeId":"id","type":"chat","userId":"u","timestamp":"T","payload":{"b":1.5,"a":"x"}})");
  EXPECT_EQ(serialize_envelope("id", "chat", "u", "T", nullptr),
            R"({"envelopeId":"id","type":"chat","userId":"u","timestamp":"T"})");
  boost::json::value null_payload;
  EXPECT_EQ(serialize_envelope("id", "t\"", "u\n", "T", &null_payload),
            R"({"envelopeId":"id","type":"t\"","userId":"u\n","timestamp":"T","payload":null})");
}

TEST(Envelope, MakeEnvelopeFillsEverything) {
  auto e = make_envelope("chat", "u", std::nullopt, std::chrono::system_clock::now());
  EXPECT_EQ(e.id.size(), 36u);
  auto parsed = hf::core::parse_json(e.text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->at("envelopeId").as_string(), e.id);
  EXPECT_FALSE(parsed->as_object().contains("payload"));
}
