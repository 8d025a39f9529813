#include "auth/jwt.hpp"

#include <gtest/gtest.h>

#include "auth/base64url.hpp"

using namespace hf;
using namespace hf::auth;

namespace {

const std::string secret = "test-secret-test-secret-test-secret!";
constexpr std::int64_t now = 1'800'000'000;

std::string sign(std::string_view header_json, std::string_view payload_json,
                 std::string_view key = secret) {
  std::string input = base64url_encode(header_json) + "." + base64url_encode(payload_json);
  return input + "." + base64url_encode(hmac_sha256(key, input));
}
std::string hs256(std::string_view payload_json) {
  return sign(R"({"alg":"HS256","typ":"JWT"})", payload_json);
}
errc verify_error(std::string_view token) {
  auto r = jwt_verifier(secret).verify(token, now);
  EXPECT_FALSE(r.has_value()) << token;
  return r ? errc::ok : static_cast<errc>(r.error().value());
}

}  // namespace

// RFC 7515 appendix A.1: the HS256 example, verified byte for byte.
TEST(Jwt, Rfc7515AppendixA1) {
  const std::string key = *base64url_decode(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  const std::string token =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
      ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnV"
      "lfQ"
      ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  std::size_t last = token.rfind('.');
  EXPECT_EQ(base64url_encode(hmac_sha256(key, token.substr(0, last))), token.substr(last + 1));
  // The signature and typ/alg pass; the example has no userId, which we require.
  auto r = jwt_verifier(key).verify(token, 1300819379);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::token_no_user);
  // Its exp (1300819380) is checked: at that second it has expired.
  EXPECT_EQ(jwt_verifier(key).verify(token, 1300819380).error(), errc::token_expired);
  EXPECT_EQ(jwt_verifier("other").verify(token, 1300819379).error(), errc::token_bad_signature);
}

TEST(Jwt, AcceptsAValidTokenAndTrimsUserId) {
  auto r = jwt_verifier(secret).verify(hs256(R"({"userId":"  alice \u00a0","role":"x"})"), now);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->user_id, "alice");
  EXPECT_EQ(r->expires_at, INT64_MAX);
}

TEST(Jwt, MintedTokensVerify) {
  boost::json::object claims{{"userId", "bob"}, {"exp", now + 60}};
  auto r = jwt_verifier(secret).verify(mint_hs256(secret, claims), now);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->user_id, "bob");
  EXPECT_EQ(r->expires_at, now + 60);
}

TEST(Jwt, TypVariants) {
  for (auto typ : {"JWT", "jwt", "application/jwt", "APPLICATION/JWT"}) {
    std::string h = std::string(R"({"alg":"HS256","typ":")") + typ + "\"}";
    EXPECT_TRUE(jwt_verifier(secret).verify(sign(h, R"({"userId":"u"})"), now)) << typ;
  }
  EXPECT_EQ(verify_error(sign(R"({"alg":"HS256"})", R"({"userId":"u"})")), errc::token_bad_typ);
  EXPECT_EQ(verify_error(sign(R"({"alg":"HS256","typ":"JWS"})", R"({"userId":"u"})")),
            errc::token_bad_typ);
  EXPECT_EQ(verify_error(sign(R"({"alg":"HS256","typ":1})", R"({"userId":"u"})")),
            errc::token_bad_typ);
}

TEST(Jwt, RejectsOtherAlgorithms) {
  for (auto alg : {"none", "HS384", "HS512", "RS256", "hs256", "ES256"}) {
    std::string h = std::string(R"({"alg":")") + alg + R"(","typ":"JWT"})";
    EXPECT_EQ(verify_error(sign(h, R"({"userId":"u"})")), errc::token_unsupported_alg) << alg;
  }
  EXPECT_EQ(verify_error(sign(R"({"typ":"JWT"})", R"({"userId":"u"})")),
            errc::token_unsupported_alg);
  // alg none with an empty signature, the classic attack.
  std::string unsigned_token = base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
                               base64url_encode(R"({"userId":"u"})") + ".";
  EXPECT_EQ(verify_error(unsigned_token), errc::token_unsupported_alg);
}

TEST(Jwt, RejectsCrit) {
  EXPECT_EQ(
      verify_error(sign(R"({"alg":"HS256","typ":"JWT","crit":["exp"]})", R"({"userId":"u"})")),
      errc::token_crit);
  EXPECT_EQ(verify_error(sign(R"({"alg":"HS256","typ":"JWT","crit":[]})", R"({"userId":"u"})")),
            errc::token_crit);
}

TEST(Jwt, RejectsBadSignatures) {
  std::string good = hs256(R"({"userId":"u"})");
  std::string tampered_payload = good;
  std::size_t d1 = good.find('.');
  tampered_payload.replace(d1 + 1, good.find('.', d1 + 1) - d1 - 1,
                           base64url_encode(R"({"userId":"v"})"));
  EXPECT_EQ(verify_error(tampered_payload), errc::token_bad_signature);
  std::string flipped = good;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(verify_error(flipped), errc::token_bad_signature);
  EXPECT_EQ(verify_error(sign(R"({"alg":"HS256","typ":"JWT"})", R"({"userId":"u"})", "wrong key")),
            errc::token_bad_signature);
  EXPECT_EQ(verify_error(good.substr(0, good.rfind('.') + 1)), errc::token_bad_signature);
  // A signature of the right bytes but truncated.
  EXPECT_EQ(verify_error(good.substr(0, good.size() - 4)), errc::token_bad_signature);
}

TEST(Jwt, RejectsMalformedTokens) {
  std::string good = hs256(R"({"userId":"u"})");
  EXPECT_EQ(verify_error(""), errc::token_missing);
  EXPECT_EQ(verify_error("abc"), errc::token_malformed);
  EXPECT_EQ(verify_error("a.b"), errc::token_malformed);
  EXPECT_EQ(verify_error(good + ".x"), errc::token_malformed);
  EXPECT_EQ(verify_error("!!!." + good.substr(good.find('.') + 1)), errc::token_malformed);
  EXPECT_EQ(verify_error(good + "="), errc::token_malformed);  // padding is not base64url
  EXPECT_EQ(verify_error("Bearer"), errc::token_malformed);
  // Header or payload that is not a JSON object.
  EXPECT_EQ(verify_error(sign("[1]", R"({"userId":"u"})")), errc::token_malformed);
  EXPECT_EQ(verify_error(sign(R"({"alg":"HS256","typ":"JWT"})", R"(["u"])")),
            errc::token_malformed);
  EXPECT_EQ(verify_error(sign(R"({"alg":"HS256","typ":"JWT"})", "not json")),
            errc::token_malformed);
}

TEST(Jwt, TimeClaims) {
  auto at = [](std::string claims) { return hs256(claims); };
  EXPECT_TRUE(jwt_verifier(secret).verify(at(R"({"userId":"u","exp":1800000001})"), now));
  EXPECT_EQ(verify_error(at(R"({"userId":"u","exp":1800000000})")),
            errc::token_expired);  // exp == now
  EXPECT_EQ(verify_error(at(R"({"userId":"u","exp":1799999999.5})")), errc::token_expired);
  EXPECT_TRUE(jwt_verifier(secret).verify(at(R"({"userId":"u","exp":1800000000.5})"), now));
  EXPECT_TRUE(
      jwt_verifier(secret).verify(at(R"({"userId":"u","nbf":1800000000})"), now));  // nbf == now
  EXPECT_EQ(verify_error(at(R"({"userId":"u","nbf":1800000001})")), errc::token_not_yet_valid);
  EXPECT_TRUE(
      jwt_verifier(secret).verify(at(R"({"userId":"u","iat":9999999999})"), now));  // iat unchecked
  for (auto bad : {R"({"userId":"u","exp":"1900000000"})", R"({"userId":"u","nbf":null})",
                   R"({"userId":"u","iat":true})", R"({"userId":"u","exp":[1]})"})
    EXPECT_EQ(verify_error(at(bad)), errc::token_bad_claim) << bad;
}

TEST(Jwt, UserIdRules) {
  for (auto bad : {R"({})", R"({"userId":""})", R"({"userId":"  \t"})", R"({"userId":5})",
                   R"({"userId":null})", R"({"userId":["u"]})", R"({"userid":"u"})"})
    EXPECT_EQ(verify_error(hs256(bad)), errc::token_no_user) << bad;
}
