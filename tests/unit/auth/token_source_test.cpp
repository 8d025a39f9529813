#include "auth/token_source.hpp"

#include <gtest/gtest.h>

namespace {
// The token as a string: the view extract_token returns may refer to its
// storage argument, which lives as long as this call.
std::string extract_token(std::optional<std::string_view> authorization, std::string_view target) {
  std::string storage;
  return std::string(hf::auth::extract_token(authorization, target, storage));
}
}  // namespace

TEST(TokenSource, AuthorizationHeader) {
  EXPECT_EQ(extract_token("Bearer abc", "/"), "abc");
  EXPECT_EQ(extract_token("  bEaReR   abc  ", "/"), "abc");
  EXPECT_EQ(extract_token("abc", "/"), "abc");  // no scheme: the whole value is the token
  EXPECT_EQ(extract_token("Bearer", "/?token=q"), "Bearer");    // present: query not tried
  EXPECT_EQ(extract_token("Bearer\tabc", "/"), "Bearer\tabc");  // exactly one space after bearer
  EXPECT_EQ(extract_token("Basic xyz", "/?token=q"), "Basic xyz");
}

TEST(TokenSource, QueryOnlyWhenHeaderAbsentOrBlank) {
  EXPECT_EQ(extract_token(std::nullopt, "/?token=q"), "q");
  EXPECT_EQ(extract_token("   ", "/?token=q"), "q");
  EXPECT_EQ(extract_token("", "/x?a=1&token=%20q%2E+&token=second"), "q.");
  EXPECT_EQ(extract_token(std::nullopt, "/?tokens=q"), "");
  EXPECT_EQ(extract_token(std::nullopt, "/"), "");
  EXPECT_EQ(extract_token(std::nullopt, "/?token"), "");
  EXPECT_EQ(extract_token(std::nullopt, "/?token=a%zzb"), "a%zzb");
  EXPECT_EQ(extract_token(std::nullopt, "/?t%6Fken=enc"), "enc");
}
