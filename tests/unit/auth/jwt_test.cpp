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
  std::size_t d2 = good.rfind('.');
  std::string sig = *base64url_decode(good.substr(d2 + 1));
  EXPECT_EQ(verify_error(good.substr(0, d2 + 1) + base64url_encode(sig.substr(0, 29))),
            errc::token_bad_signature);
  // Cut as text, its last character usually leaves bits set: not base64url.
  EXPECT_NE(verify_error(good.substr(0, good.size() - 4)), errc::ok);
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

// RFC 4648 section 3.5: the unused low bits of the last character must be
// zero; otherwise several texts decode to the same bytes (a token could be
// altered without touching its signature check).
TEST(Base64url, RejectsNonCanonicalTrailingBits) {
  EXPECT_EQ(base64url_decode("QQ"), std::optional<std::string>("A"));
  EXPECT_EQ(base64url_decode("QUI"), std::optional<std::string>("AB"));
  EXPECT_EQ(base64url_decode("QUJD"), std::optional<std::string>("ABC"));
  for (auto bad : {"QR", "QT", "Q_", "QUJ", "QUL", "QU_"})
    EXPECT_FALSE(base64url_decode(bad)) << bad;
  // Every encoding round-trips, so everything we produce is canonical.
  std::string bytes;
  for (int i = 0; i < 64; ++i) {
    bytes.push_back(static_cast<char>(i * 37 + 11));
    EXPECT_EQ(base64url_decode(base64url_encode(bytes)), std::optional<std::string>(bytes)) << i;
  }
}

TEST(Jwt, NonCanonicalSignatureIsMalformed) {
  std::string good = hs256(R"({"userId":"u"})");
  ASSERT_TRUE(jwt_verifier(secret).verify(good, now));
  // 32 bytes of HMAC are 43 characters: the last one carries 2 unused bits.
  // Setting them gives the same bytes, but is not the token that was signed.
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string altered = good;
  std::size_t v = alphabet.find(altered.back());
  ASSERT_EQ(v % 4, 0u);
  altered.back() = alphabet[v | 3];
  EXPECT_EQ(verify_error(altered), errc::token_malformed);
  // Header and payload alike.
  std::string header = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");  // 27 bytes: 36 chars
  std::string payload = base64url_encode(R"({"userId":"u"})");              // 14 bytes: 19 chars
  ASSERT_EQ(payload.size() % 4, 3u);
  std::size_t p = alphabet.find(payload.back());
  ASSERT_EQ(p % 4, 0u);
  payload.back() = alphabet[p | 1];
  std::string input = header + "." + payload;
  EXPECT_EQ(verify_error(input + "." + base64url_encode(hmac_sha256(secret, input))),
            errc::token_malformed);
}

namespace {

verifier_options with_iss_aud(std::string iss, std::string aud) {
  verifier_options o{secret, "publisher-secret-publisher-secret", "userId"};
  o.issuer = std::move(iss);
  o.audience = std::move(aud);
  return o;
}

}  // namespace

// JWT_ISSUER / JWT_AUDIENCE (docs/protocol.md section 9): opt-in; when set,
// every end-user token must name them; publisher tokens are exempt.
TEST(Jwt, IssuerAndAudienceWhenConfigured) {
  auto check = [](const verifier_options& o, std::string_view payload) {
    auto r = jwt_verifier(o).verify(hs256(payload), now);
    return r ? errc::ok : static_cast<errc>(r.error().value());
  };
  // Unset: anything goes, as before.
  auto none = with_iss_aud("", "");
  EXPECT_EQ(check(none, R"({"userId":"u"})"), errc::ok);
  EXPECT_EQ(check(none, R"({"userId":"u","iss":5,"aud":{}})"), errc::ok);

  auto iss = with_iss_aud("https://idp.example/", "");
  EXPECT_EQ(check(iss, R"({"userId":"u","iss":"https://idp.example/"})"), errc::ok);
  EXPECT_EQ(check(iss, R"({"userId":"u","iss":"https://idp.example/","aud":"x"})"), errc::ok);
  for (auto bad :
       {R"({"userId":"u"})", R"({"userId":"u","iss":"https://idp.example"})",
        R"({"userId":"u","iss":"HTTPS://IDP.EXAMPLE/"})",
        R"({"userId":"u","iss":["https://idp.example/"]})", R"({"userId":"u","iss":null})"})
    EXPECT_EQ(check(iss, bad), errc::token_bad_claim) << bad;

  auto aud = with_iss_aud("", "realtime");
  EXPECT_EQ(check(aud, R"({"userId":"u","aud":"realtime"})"), errc::ok);
  EXPECT_EQ(check(aud, R"({"userId":"u","aud":["other","realtime"]})"), errc::ok);
  for (auto bad : {R"({"userId":"u"})", R"({"userId":"u","aud":"Realtime"})",
                   R"({"userId":"u","aud":["other"]})", R"({"userId":"u","aud":[]})",
                   R"({"userId":"u","aud":[["realtime"]]})", R"({"userId":"u","aud":[5]})",
                   R"({"userId":"u","aud":["realtime",5]})", R"({"userId":"u","aud":null})"})
    EXPECT_EQ(check(aud, bad), errc::token_bad_claim) << bad;

  auto both = with_iss_aud("me", "you");
  EXPECT_EQ(check(both, R"({"userId":"u","iss":"me","aud":"you"})"), errc::ok);
  EXPECT_EQ(check(both, R"({"userId":"u","iss":"me"})"), errc::token_bad_claim);
  EXPECT_EQ(check(both, R"({"userId":"u","aud":"you"})"), errc::token_bad_claim);
  // Time claims are still checked first: an expired token is expired.
  EXPECT_EQ(check(both, R"({"userId":"u","exp":1})"), errc::token_expired);

  // Publisher tokens (PUBLISH_SECRET) are the server's own: no iss/aud needed.
  std::string input =
      base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode("{}");
  auto pub = jwt_verifier(both).verify(
      input + "." + base64url_encode(hmac_sha256("publisher-secret-publisher-secret", input)), now);
  ASSERT_TRUE(pub) << pub.error().message();
  EXPECT_TRUE(pub->publisher);
}

// RFC 4231 test cases 1, 2 and 6 (a key longer than SHA-256's block), taken
// in turn A, B, A, C, B: each thread keeps contexts keyed for its last two
// keys, and a key that comes back (or one evicted) must give its own MAC.
TEST(Jwt, HmacSha256MatchesRfc4231WhateverKeysCameBefore) {
  struct vector {
    std::string key, data, mac;
  };
  static constexpr char hexdigits[] = "0123456789abcdef";
  auto hex = [](const std::string& s) {
    std::string out;
    for (unsigned char c : s) out += {hexdigits[c >> 4], hexdigits[c & 15]};
    return out;
  };
  const vector a{std::string(20, '\x0b'), "Hi There",
                 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"};
  const vector b{"Jefe", "what do ya want for nothing?",
                 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"};
  const vector c{std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
                 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"};
  for (const vector* v : {&a, &b, &a, &c, &b, &c, &a}) {
    EXPECT_EQ(hex(hmac_sha256(v->key, v->data)), v->mac);
    auto bytes = hmac_sha256_bytes(v->key, v->data);
    ASSERT_TRUE(bytes.has_value());
    EXPECT_EQ(hex(std::string(bytes->begin(), bytes->end())), v->mac);
  }
}

// Claims larger than the verifier's stack buffer spill to the heap and
// still read right.
TEST(Jwt, ALargeTokenVerifiesWithItsClaims) {
  std::string filler(4000, 'x');
  auto r = jwt_verifier(secret).verify(
      hs256(R"({"userId":"u-large","device":"phone","pad":")" + filler + "\"}"), now);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->user_id, "u-large");
  ASSERT_TRUE(r->device);
  EXPECT_EQ(*r->device, "phone");
}

TEST(Jwt, DecodingIntoAReusedBufferReplacesWhatWasThere) {
  std::string buffer = "a longer text that was decoded before";
  ASSERT_TRUE(base64url_decode_into("QUJD", buffer));
  EXPECT_EQ(buffer, "ABC");
  EXPECT_FALSE(base64url_decode_into("QR", buffer));  // not canonical
  ASSERT_TRUE(base64url_decode_into("", buffer));
  EXPECT_EQ(buffer, "");
}
