#include "core/text.hpp"

#include <gtest/gtest.h>

using namespace hf::core;

TEST(JsTrim, AsciiWhitespace) {
  EXPECT_EQ(js_trim(" \t\r\n\v\fabc \t\r\n"), "abc");
  EXPECT_EQ(js_trim("a b"), "a b");
  EXPECT_EQ(js_trim(""), "");
  EXPECT_EQ(js_trim("   "), "");
}

TEST(JsTrim, UnicodeWhitespaceAsJavaScript) {
  // U+00A0, U+3000, U+FEFF, U+2028 and U+200A are trimmed by String#trim.
  EXPECT_EQ(js_trim("\xC2\xA0"
                    "x"
                    "\xE3\x80\x80"),
            "x");
  EXPECT_EQ(js_trim("\xEF\xBB\xBF"
                    "x"
                    "\xE2\x80\xA8"),
            "x");
  EXPECT_EQ(js_trim("\xE2\x80\x8A"
                    "x"),
            "x");
  // U+200B (zero width space) is not white space in JavaScript.
  EXPECT_EQ(js_trim("\xE2\x80\x8B"
                    "x"),
            "\xE2\x80\x8B"
            "x");
  EXPECT_TRUE(js_blank("\xC2\xA0 \xE3\x80\x80"));
}

TEST(JsTrim, InvalidUtf8IsLeftAlone) {
  EXPECT_EQ(js_trim(" \xFF "), "\xFF");
  EXPECT_EQ(js_trim("\x80"), "\x80");
}

TEST(Ascii, CaseInsensitiveHelpers) {
  EXPECT_TRUE(iequals("PiNg", "ping"));
  EXPECT_FALSE(iequals("pin", "ping"));
  EXPECT_TRUE(istarts_with("BeArEr x", "bearer "));
  EXPECT_TRUE(icontains("text/plain; APPLICATION/JSON", "application/json"));
  EXPECT_FALSE(icontains("application/jso", "application/json"));
}

TEST(Utf8, ValidationAndWhatwgDecoding) {
  EXPECT_TRUE(valid_utf8("h\xC3\xA9llo \xF0\x9F\x98\x80"));
  EXPECT_FALSE(valid_utf8("\xC0\x80"));          // overlong
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  bool changed = false;
  EXPECT_EQ(whatwg_utf8_decode("ok", changed), "ok");
  EXPECT_FALSE(changed);
  EXPECT_EQ(whatwg_utf8_decode("\xEF\xBB\xBF{}", changed), "{}");
  EXPECT_TRUE(changed);
  // Maximal subparts: F0 9F 98 is one truncated sequence -> one U+FFFD.
  EXPECT_EQ(whatwg_utf8_decode("a\xF0\x9F\x98z", changed), "a\xEF\xBF\xBDz");
  EXPECT_EQ(whatwg_utf8_decode("\xFF\xFE", changed), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(Text, PrintableEscapesWhatCouldForgeOrColourALogLine) {
  using hf::core::printable;
  EXPECT_EQ(printable("user_123"), "user_123");
  EXPECT_EQ(printable("a\r\nlevel=error fake"), "a\\x0d\\x0alevel=error fake");
  EXPECT_EQ(printable("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(printable("back\\slash"), "back\\\\slash");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe6\x97\xa5"), "caf\xc3\xa9 \xe6\x97\xa5");  // UTF-8 kept
  EXPECT_EQ(printable("\xc2\x9b"), "\\xc2\\x9b");                                // a C1 control
  EXPECT_EQ(printable("\xe2\x80\xa8"), "\\xe2\\x80\\xa8");                       // line separator
  EXPECT_EQ(printable("\xff"), "\\xff");
  EXPECT_EQ(printable(std::string("\0x", 2)), "\\x00x");
}
