// RS256 / ES256: the RFC 7515 appendix A.2 and A.3 vectors, JWKS and PEM
// parsing, and the verifier's rules for public keys (kid, alg fitting the
// key, typ at+jwt, USER_CLAIM), with keys made by OpenSSL in the test.
#include "auth/public_keys.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/base64url.hpp"
#include "auth/jwt.hpp"
#include "auth/token_cache.hpp"
#include "net/jwks_fetcher.hpp"

using namespace hf;
using namespace hf::auth;

namespace {

// RFC 7515 A.2 (RS256) and A.3 (ES256): the public keys, the signing input
// they share, and the two signatures.
const std::string rfc_rsa_n =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d"
    "4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexM"
    "dbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK"
    "-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
const std::string rfc_payload =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlf"
    "Q";
const std::string rfc_rs256_sig =
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5ju"
    "jGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07"
    "Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipU"
    "TI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
const std::string rfc_ec_x = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const std::string rfc_ec_y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
const std::string rfc_es256_sig =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

std::string jwks(const std::string& keys) { return R"({"keys":[)" + keys + "]}"; }
std::string rsa_jwk(const std::string& kid, const std::string& n, const std::string& extra = "") {
  return R"({"kty":"RSA","kid":")" + kid + R"(","n":")" + n + R"(","e":"AQAB")" + extra + "}";
}
std::string ec_jwk(const std::string& kid, const std::string& x, const std::string& y) {
  return R"({"kty":"EC","crv":"P-256","kid":")" + kid + R"(","x":")" + x + R"(","y":")" + y +
         R"("})";
}

// A key pair made here, its JWK, and a signer for test tokens.
struct test_key {
  std::shared_ptr<EVP_PKEY> pair;
  bool ec;
  std::string jwk(const std::string& kid) const {
    auto b64_param = [&](const char* name, std::size_t pad_to) {
      BIGNUM* bn = nullptr;
      EVP_PKEY_get_bn_param(pair.get(), name, &bn);
      std::string bytes(std::max<std::size_t>(pad_to, BN_num_bytes(bn)), '\0');
      BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(bytes.data()), int(bytes.size()));
      BN_free(bn);
      return base64url_encode(bytes);
    };
    if (!ec) return rsa_jwk(kid, b64_param(OSSL_PKEY_PARAM_RSA_N, 0));
    return ec_jwk(kid, b64_param(OSSL_PKEY_PARAM_EC_PUB_X, 32),
                  b64_param(OSSL_PKEY_PARAM_EC_PUB_Y, 32));
  }
  std::string pem() const {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, pair.get());
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
  }
  std::string sign(const std::string& header, const std::string& payload) const {
    std::string input = base64url_encode(header) + "." + base64url_encode(payload);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pair.get());
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                   input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    if (ec) {  // DER -> r || s, as JWS carries it
      const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
      ECDSA_SIG* s = d2i_ECDSA_SIG(nullptr, &p, long(sig.size()));
      std::string raw(64, '\0');
      BN_bn2binpad(ECDSA_SIG_get0_r(s), reinterpret_cast<unsigned char*>(raw.data()), 32);
      BN_bn2binpad(ECDSA_SIG_get0_s(s), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
      ECDSA_SIG_free(s);
      sig = raw;
    }
    return input + "." + base64url_encode(sig);
  }
};
test_key rsa_pair() {
  return {{EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}), EVP_PKEY_free}, false};
}
test_key ec_pair() {
  return {{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free}, true};
}

constexpr std::int64_t now = 1'800'000'000;
const std::string claims = R"({"sub":"user-7","userId":"u1","exp":1900000000})";

}  // namespace

TEST(PublicKeys, Rfc7515AppendixVectorsVerify) {
  auto keys = parse_jwks(jwks(rsa_jwk("rsa", rfc_rsa_n) + "," + ec_jwk("ec", rfc_ec_x, rfc_ec_y)));
  ASSERT_FALSE(keys.error);
  ASSERT_EQ(keys.keys.size(), 2u);
  EXPECT_EQ(keys.keys[0].type, key_type::rsa);
  EXPECT_EQ(keys.keys[1].type, key_type::ec_p256);
  EXPECT_EQ(keys.keys[1].kid, "ec");
  std::string rs_input = "eyJhbGciOiJSUzI1NiJ9." + rfc_payload;
  std::string es_input = "eyJhbGciOiJFUzI1NiJ9." + rfc_payload;
  EXPECT_TRUE(verify_signature(keys.keys[0], rs_input, *base64url_decode(rfc_rs256_sig)));
  EXPECT_TRUE(verify_signature(keys.keys[1], es_input, *base64url_decode(rfc_es256_sig)));
  // One changed byte anywhere, or a signature for the other key, fails.
  EXPECT_FALSE(verify_signature(keys.keys[0], rs_input + "x", *base64url_decode(rfc_rs256_sig)));
  EXPECT_FALSE(verify_signature(keys.keys[1], es_input, *base64url_decode(rfc_rs256_sig)));
  EXPECT_FALSE(verify_signature(keys.keys[0], es_input, *base64url_decode(rfc_es256_sig)));
}

TEST(PublicKeys, JwksEntriesThatCannotBeUsedAreSkipped) {
  auto keys = parse_jwks(jwks(
      rsa_jwk("ok", rfc_rsa_n) + "," + rsa_jwk("enc", rfc_rsa_n, R"(,"use":"enc")") + "," +
      rsa_jwk("wrong-alg", rfc_rsa_n, R"(,"alg":"ES256")") + "," + rsa_jwk("short", "AQAB") + "," +
      ec_jwk("off-curve", rfc_ec_x, rfc_ec_x) + "," +
      R"({"kty":"EC","crv":"P-384","x":"AA","y":"AA"},{"kty":"oct","k":"c2VjcmV0"},"not an object",)" +
      rsa_jwk("bad-b64", "!!!")));
  ASSERT_FALSE(keys.error);
  ASSERT_EQ(keys.keys.size(), 1u);
  EXPECT_EQ(keys.keys[0].kid, "ok");
  EXPECT_EQ(keys.skipped, 8u);
  EXPECT_TRUE(parse_jwks("[]").error);
  EXPECT_TRUE(parse_jwks("{").error);
  EXPECT_TRUE(parse_jwks(R"({"keys":{}})").error);
  EXPECT_TRUE(parse_jwks(std::string(2 << 20, ' ')).error);
}

TEST(PublicKeys, PemKeys) {
  std::string why;
  auto rsa = parse_pem_public_key(rsa_pair().pem(), why);
  ASSERT_TRUE(rsa) << why;
  EXPECT_EQ(rsa->type, key_type::rsa);
  auto ec = parse_pem_public_key(ec_pair().pem(), why);
  ASSERT_TRUE(ec) << why;
  EXPECT_EQ(ec->type, key_type::ec_p256);
  EXPECT_FALSE(
      parse_pem_public_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", why));
  EXPECT_FALSE(why.empty());
  test_key small{{EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{1024}), EVP_PKEY_free},
                 false};
  EXPECT_FALSE(parse_pem_public_key(small.pem(), why));  // too short to trust
}

TEST(AsymmetricTokens, KidSelectionAlgFitAndTyp) {
  auto rsa = rsa_pair(), ec = ec_pair(), other = rsa_pair();
  jwt_verifier v(verifier_options{"hs-secret-hs-secret-hs-secret-hs-secret", {}, "sub", {}, {}});
  v.set_keys(parse_jwks(jwks(rsa.jwk("r1") + "," + ec.jwk("e1"))).keys);
  auto ok = [&](const std::string& token) {
    auto r = v.verify(token, now);
    return r ? r->user_id : "error: " + r.error().message();
  };
  EXPECT_EQ(ok(rsa.sign(R"({"alg":"RS256","typ":"JWT","kid":"r1"})", claims)), "user-7");
  EXPECT_EQ(ok(ec.sign(R"({"alg":"ES256","typ":"at+jwt","kid":"e1"})", claims)), "user-7");
  EXPECT_EQ(ok(ec.sign(R"({"alg":"ES256","typ":"application/at+jwt"})", claims)),
            "user-7");  // no kid: any EC key
  EXPECT_EQ(ok(rsa.sign(R"({"alg":"RS256","typ":"JWT","kid":"e1"})", claims)),
            "error: unknown kid");  // e1 is not an RSA key
  EXPECT_EQ(ok(rsa.sign(R"({"alg":"RS256","typ":"JWT","kid":"nope"})", claims)),
            "error: unknown kid");
  EXPECT_EQ(ok(other.sign(R"({"alg":"RS256","typ":"JWT","kid":"r1"})", claims)),
            "error: bad signature");
  EXPECT_EQ(ok(rsa.sign(R"({"alg":"ES256","typ":"JWT"})", claims)), "error: bad signature");
  EXPECT_EQ(ok(rsa.sign(R"({"alg":"RS384","typ":"JWT"})", claims)), "error: unsupported alg");
  EXPECT_EQ(ok(rsa.sign(R"({"alg":"RS256"})", claims)), "error: typ is not JWT");
  EXPECT_EQ(ok(rsa.sign(R"({"alg":"RS256","typ":"JWT","crit":["b64"]})", claims)),
            "error: crit header present");
  // No alg confusion: an HS256 token "signed" with the public key's bytes is
  // checked against JWT_SECRET only.
  std::string input =
      base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(claims);
  std::string forged = input + "." + base64url_encode(hmac_sha256(rsa.pem(), input));
  EXPECT_EQ(ok(forged), "error: bad signature");
  // at+jwt is for identity providers' tokens only.
  std::string hs =
      base64url_encode(R"({"alg":"HS256","typ":"at+jwt"})") + "." + base64url_encode(claims);
  EXPECT_EQ(
      ok(hs + "." + base64url_encode(hmac_sha256("hs-secret-hs-secret-hs-secret-hs-secret", hs))),
      "error: typ is not JWT");
  // USER_CLAIM=sub: a token without it has no user.
  EXPECT_EQ(ok(rsa.sign(R"({"alg":"RS256","typ":"JWT"})", R"({"userId":"u1"})")),
            "error: user claim missing or blank");
}

TEST(AsymmetricTokens, UnknownKidAsksForKeysAndRotationRetiresCachedTokens) {
  auto old_key = rsa_pair(), new_key = rsa_pair();
  jwt_verifier v(verifier_options{{}, {}, "sub", {}, {}});
  int asked = 0;
  v.on_unknown_kid([&] { ++asked; });
  v.set_keys(parse_jwks(jwks(old_key.jwk("k1"))).keys);
  auto t_old = old_key.sign(R"({"alg":"RS256","typ":"JWT","kid":"k1"})", claims);
  auto t_new = new_key.sign(R"({"alg":"RS256","typ":"JWT","kid":"k2"})", claims);
  token_cache cache(v);
  EXPECT_TRUE(cache.verify(t_old, now));
  EXPECT_FALSE(cache.verify(t_new, now));
  EXPECT_EQ(asked, 1);
  v.set_keys(parse_jwks(jwks(new_key.jwk("k2"))).keys);  // the provider rotated
  EXPECT_TRUE(cache.verify(t_new, now));
  EXPECT_FALSE(cache.verify(t_old, now)) << "a cached token must not outlive its key";
  // No secret, no HS256.
  std::string hs =
      base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(claims);
  EXPECT_FALSE(v.verify(hs + "." + base64url_encode(hmac_sha256("", hs)), now));
}

TEST(PublisherTokens, OnlyThePublishSecretMakesAPublisher) {
  jwt_verifier v(verifier_options{
      "end-user-secret-end-user-secret!!", "publisher-secret-publisher-secret", "userId", {}, {}});
  auto hs = [](const std::string& key, const std::string& payload) {
    std::string input =
        base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(payload);
    return input + "." + base64url_encode(hmac_sha256(key, input));
  };
  auto pub = v.verify(hs("publisher-secret-publisher-secret", "{}"), now);  // no userId needed
  ASSERT_TRUE(pub);
  EXPECT_TRUE(pub->publisher);
  auto user = v.verify(hs("end-user-secret-end-user-secret!!", R"({"userId":"u"})"), now);
  ASSERT_TRUE(user);
  EXPECT_FALSE(user->publisher);
  EXPECT_FALSE(
      v.verify(hs("end-user-secret-end-user-secret!!", "{}"), now));  // an end user needs a user
  EXPECT_FALSE(v.verify(hs("publisher-secret-publisher-secret", R"({"exp":1})"), now));  // expired
}

// A key rotation that changes the algorithm (RS256 to ES256), or a provider
// that was down at start: a token naming an unknown kid asks for the keys
// even when the node holds no key of the token's kind yet.
TEST(AsymmetricTokens, UnknownKidOfAKindWithNoKeyYetAsksForKeys) {
  auto rsa = rsa_pair(), ec = ec_pair();
  jwt_verifier v(verifier_options{{}, {}, "sub", {}, {}});
  int asked = 0;
  v.on_unknown_kid([&] { ++asked; });
  auto es = ec.sign(R"({"alg":"ES256","typ":"JWT","kid":"e-new"})", claims);
  auto rs = rsa.sign(R"({"alg":"RS256","typ":"JWT","kid":"r-new"})", claims);
  // No key at all (the provider was down at start).
  EXPECT_EQ(v.verify(rs, now).error(), errc::token_unknown_kid);
  EXPECT_EQ(asked, 1);
  v.set_keys(parse_jwks(jwks(rsa.jwk("r-old"))).keys);  // RSA only
  EXPECT_EQ(v.verify(es, now).error(), errc::token_unknown_kid);
  EXPECT_EQ(asked, 2);
  v.set_keys(parse_jwks(jwks(ec.jwk("e-new"))).keys);  // the provider moved to ES256
  EXPECT_TRUE(v.verify(es, now));
  // Still no other alg, and never without a kid-naming token.
  EXPECT_EQ(v.verify(rsa.sign(R"({"alg":"RS384","typ":"JWT","kid":"x"})", claims), now).error(),
            errc::token_unsupported_alg);
  EXPECT_EQ(v.verify(rsa.sign(R"({"alg":"HS256","typ":"JWT","kid":"x"})", claims), now).error(),
            errc::token_unsupported_alg);  // no JWT_SECRET
  EXPECT_EQ(asked, 2);
  // Without a JWKS source (no callback), nothing changes: no key of the
  // kind is an unsupported alg.
  jwt_verifier files_only(
      verifier_options{"hs-secret-hs-secret-hs-secret-hs-secret", {}, "sub", {}, {}});
  EXPECT_EQ(files_only.verify(rs, now).error(), errc::token_unsupported_alg);
}

TEST(AsymmetricTokens, NonStringKidIsMalformed) {
  auto rsa = rsa_pair();
  jwt_verifier v(verifier_options{{}, {}, "sub", {}, {}});
  int asked = 0;
  v.on_unknown_kid([&] { ++asked; });
  v.set_keys(parse_jwks(jwks(rsa.jwk(""))).keys);  // a key with an empty kid
  EXPECT_TRUE(v.verify(rsa.sign(R"({"alg":"RS256","typ":"JWT"})", claims), now));
  EXPECT_TRUE(v.verify(rsa.sign(R"({"alg":"RS256","typ":"JWT","kid":""})", claims), now));
  for (auto kid : {"5", "null", "[\"\"]", "{}", "true"}) {
    std::string h = std::string(R"({"alg":"RS256","typ":"JWT","kid":)") + kid + "}";
    auto r = v.verify(rsa.sign(h, claims), now);
    ASSERT_FALSE(r) << kid;
    EXPECT_EQ(r.error(), errc::token_malformed) << kid;
  }
  EXPECT_EQ(asked, 0);
}

TEST(AsymmetricTokens, IssuerAndAudienceApplyToPublicKeyTokens) {
  auto ec = ec_pair();
  verifier_options o{{}, {}, "sub", {}, {}};
  o.issuer = "https://idp.example/";
  o.audience = "realtime";
  jwt_verifier v(o);
  v.set_keys(parse_jwks(jwks(ec.jwk("e1"))).keys);
  auto tok = [&](const std::string& extra) {
    return ec.sign(R"({"alg":"ES256","typ":"at+jwt","kid":"e1"})",
                   R"({"sub":"user-7","exp":1900000000)" + extra + "}");
  };
  EXPECT_TRUE(v.verify(tok(R"(,"iss":"https://idp.example/","aud":["api","realtime"])"), now));
  EXPECT_EQ(v.verify(tok(R"(,"iss":"https://idp.example/")"), now).error(), errc::token_bad_claim);
  EXPECT_EQ(v.verify(tok(R"(,"iss":"https://evil.example/","aud":"realtime")"), now).error(),
            errc::token_bad_claim);
}

// A 1024-bit modulus padded with zero bytes to 256 bytes is still 1024 bits.
TEST(PublicKeys, RsaModulusIsMeasuredInSignificantBits) {
  test_key small{{EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{1024}), EVP_PKEY_free},
                 false};
  BIGNUM* n = nullptr;
  EVP_PKEY_get_bn_param(small.pair.get(), OSSL_PKEY_PARAM_RSA_N, &n);
  auto padded_n = [&](std::size_t bytes) {
    std::string out(bytes, '\0');
    BN_bn2binpad(n, reinterpret_cast<unsigned char*>(out.data()), int(out.size()));
    return base64url_encode(out);
  };
  auto keys =
      parse_jwks(jwks(rsa_jwk("plain", padded_n(128)) + "," + rsa_jwk("padded", padded_n(256)) +
                      "," + rsa_jwk("padded-more", padded_n(512))));
  BN_free(n);
  EXPECT_TRUE(keys.keys.empty());
  EXPECT_EQ(keys.skipped, 3u);
  // A real 2048-bit key still passes, also with a leading zero byte.
  auto big = rsa_pair();
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(big.pair.get(), OSSL_PKEY_PARAM_RSA_N, &bn);
  std::string bytes(257, '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(bytes.data()), 257);
  BN_free(bn);
  auto ok = parse_jwks(jwks(big.jwk("b") + "," + rsa_jwk("b0", base64url_encode(bytes))));
  EXPECT_EQ(ok.keys.size(), 2u);
}

// JWKS_URL as the fetcher reads it (src/net/jwks_fetcher): the Host header
// keeps a non-default port, IPv6 literals resolve without their brackets,
// and credentials are refused without being echoed.
TEST(JwksUrl, HostHeaderPortsIpv6AndCredentials) {
  auto t = net::parse_jwks_url("http://127.0.0.1:8080/.well-known/jwks.json?x=1");
  EXPECT_FALSE(t.https);
  EXPECT_TRUE(t.ip_literal);
  EXPECT_EQ(t.host, "127.0.0.1");
  EXPECT_EQ(t.port, "8080");
  EXPECT_EQ(t.host_header, "127.0.0.1:8080");
  EXPECT_EQ(t.target, "/.well-known/jwks.json?x=1");
  auto v6 = net::parse_jwks_url("http://[::1]:9000/jwks");
  EXPECT_TRUE(v6.ip_literal);
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, "9000");
  EXPECT_EQ(v6.host_header, "[::1]:9000");
  EXPECT_EQ(net::parse_jwks_url("https://[2001:db8::1]/k").host_header, "[2001:db8::1]");
  auto named = net::parse_jwks_url("https://idp.example.com/keys");
  EXPECT_TRUE(named.https);
  EXPECT_FALSE(named.ip_literal);
  EXPECT_EQ(named.port, "443");
  EXPECT_EQ(named.host_header, "idp.example.com");
  EXPECT_EQ(net::parse_jwks_url("https://idp.example.com:443").host_header, "idp.example.com");
  EXPECT_EQ(net::parse_jwks_url("https://idp.example.com:443").target, "/");
  EXPECT_EQ(net::parse_jwks_url("http://idp.example.com:443/").host_header, "idp.example.com:443");
  EXPECT_EQ(net::parse_jwks_url("http://idp.example.com:/").port, "80");
  for (std::string bad : {"https://user:pa55word@idp.example.com/", "https://pa55word@idp/",
                          "ftp://user:pa55word@idp/", "not a url pa55word@", ""}) {
    try {
      net::parse_jwks_url(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()).find("pa55word"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
}

TEST(JwksUrl, FailedFetchesAreRetriedWithBackoff) {
  using std::chrono::milliseconds;
  const milliseconds five_min(300000), ten_s(10000);
  std::vector<long> got;
  for (unsigned f = 1; f <= 9; ++f) got.push_back(long(net::jwks_retry_delay(f, five_min).count()));
  EXPECT_EQ(got, (std::vector<long>{1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000}));
  EXPECT_EQ(net::jwks_retry_delay(4, ten_s).count(), 8000);
  EXPECT_EQ(net::jwks_retry_delay(5, ten_s).count(), 10000);  // never above JWKS_REFRESH_MS
  EXPECT_EQ(net::jwks_retry_delay(1000000, five_min).count(), 60000);
}
