#include "core/js_json.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace hf::core;

namespace {
std::string roundtrip(std::string_view text) {
  auto v = parse_json(text);
  EXPECT_TRUE(v.has_value()) << text;
  return v ? to_js_json(*v) : "";
}
std::string num(double d) {
  std::string s;
  append_js_number(s, d);
  return s;
}
}  // namespace

TEST(JsJson, NumbersPrintLikeJavaScript) {
  EXPECT_EQ(num(0), "0");
  EXPECT_EQ(num(-0.0), "0");
  EXPECT_EQ(num(1000), "1000");
  EXPECT_EQ(num(1.5), "1.5");
  EXPECT_EQ(num(-2.25), "-2.25");
  EXPECT_EQ(num(0.1), "0.1");
  EXPECT_EQ(num(1e21), "1e+21");
  EXPECT_EQ(num(1e20), "100000000000000000000");
  EXPECT_EQ(num(123456789012345680000.0), "123456789012345680000");
  EXPECT_EQ(num(1e-7), "1e-7");
  EXPECT_EQ(num(0.000001), "0.000001");
  EXPECT_EQ(num(1.2345e-10), "1.2345e-10");
  EXPECT_EQ(num(5e-324), "5e-324");
  EXPECT_EQ(num(1.7976931348623157e308), "1.7976931348623157e+308");
}

TEST(JsJson, ParsedNumbersAreNormalisedAsJsonParseThenStringify) {
  EXPECT_EQ(roundtrip("1.0"), "1");
  EXPECT_EQ(roundtrip("1E3"), "1000");
  EXPECT_EQ(roundtrip("-0"), "0");
  EXPECT_EQ(roundtrip("9007199254740993"), "9007199254740992");  // beyond 2^53 rounds
  EXPECT_EQ(roundtrip("12345678901234567890"), "12345678901234567000");
  EXPECT_EQ(roundtrip("-9223372036854775808"), "-9223372036854776000");
  EXPECT_EQ(roundtrip("[1e400,-1e400]"), "[null,null]");  // Infinity stringifies as null
  // Correct rounding, as JSON.parse (found by fuzzing: Boost's fast path was off by one ulp).
  EXPECT_EQ(roundtrip("1111111111111111111111"), "1.1111111111111111e+21");
  EXPECT_EQ(roundtrip("123456789012345678901"), "123456789012345680000");
  EXPECT_EQ(roundtrip("0.30000000000000004441"), "0.30000000000000004");
  EXPECT_EQ(roundtrip("1e-400"), "0");
}

TEST(JsJson, StringsEscapeOnlyWhatStringifyEscapes) {
  EXPECT_EQ(roundtrip(R"("a\"b\\c\/d")"), R"("a\"b\\c/d")");
  EXPECT_EQ(roundtrip(R"("\u0001\b\f\n\r\t\u001f")"), R"("\u0001\b\f\n\r\t\u001f")");
  EXPECT_EQ(roundtrip(R"("\u00e9\u2028")"), "\"\xC3\xA9\xE2\x80\xA8\"");
  EXPECT_EQ(roundtrip("\"\x7F\""), "\"\x7F\"");
}

TEST(JsJson, ObjectKeyOrderFollowsEcmaScript) {
  EXPECT_EQ(roundtrip(R"({"b":1,"a":2})"), R"({"b":1,"a":2})");
  EXPECT_EQ(roundtrip(R"({"b":1,"2":2,"1":3,"01":4,"a":5})"),
            R"({"1":3,"2":2,"b":1,"01":4,"a":5})");
  EXPECT_EQ(roundtrip(R"({"4294967295":1,"4294967294":2})"), R"({"4294967294":2,"4294967295":1})");
}

TEST(JsJson, WhitespaceIsDroppedAndStructurePreserved) {
  EXPECT_EQ(roundtrip(" { \"a\" : [ 1 , true , null , { } , [ ] ] } "),
            R"({"a":[1,true,null,{},[]]})");
}

TEST(JsJson, RejectsWhatJsonParseRejectsAndBoundsDepth) {
  EXPECT_FALSE(parse_json("{'a':1}"));
  EXPECT_FALSE(parse_json("[1,]"));
  EXPECT_FALSE(parse_json("// c\n1"));
  EXPECT_FALSE(parse_json(""));
  EXPECT_FALSE(parse_json("1 2"));
  EXPECT_FALSE(parse_json("NaN"));
  std::string ok(max_json_depth, '['), deep(100000, '[');
  ok += std::string(max_json_depth, ']');
  EXPECT_TRUE(parse_json(ok));
  EXPECT_FALSE(parse_json(deep));  // no stack overflow, just an error
}
