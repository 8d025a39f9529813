#include "auth/token_cache.hpp"

#include <gtest/gtest.h>

using namespace hf;
using namespace hf::auth;

namespace {
const std::string secret = "cache-secret-cache-secret-cache-secret";
std::string tok(std::string user, std::int64_t exp) {
  return mint_hs256(secret, {{"userId", user}, {"exp", exp}});
}
}  // namespace

TEST(TokenCache, HitsAgreeWithTheVerifierAndHonourExpiry) {
  jwt_verifier v(secret);
  token_cache c(v, 8);
  std::string t = tok("u", 1000);
  ASSERT_TRUE(c.verify(t, 900));
  auto again = c.verify(t, 999);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->user_id, "u");
  EXPECT_EQ(c.hits(), 1u);
  auto late = c.verify(t, 1000);  // exp == now: expired, cached or not
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error(), errc::token_expired);
  EXPECT_EQ(c.verify(t, 1001).error(), errc::token_expired);
}

TEST(TokenCache, FailuresAreNotCachedAndNearMissesDoNotMatch) {
  jwt_verifier v(secret);
  token_cache c(v, 8);
  std::string t = tok("u", 1000);
  ASSERT_TRUE(c.verify(t, 0));
  std::string tampered = t;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(c.verify(tampered, 0).error(), errc::token_bad_signature);
  EXPECT_EQ(c.verify(t + " ", 0).error(), errc::token_malformed);
  EXPECT_EQ(c.size(), 1u);
}

TEST(TokenCache, StaysBounded) {
  jwt_verifier v(secret);
  token_cache c(v, 4);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(c.verify(tok("u" + std::to_string(i), 5000), 0));
  EXPECT_LE(c.size(), 4u);
}

// The verbatim front (the last few tokens) answers exactly as the digest
// map does: expiry, a key rotation and near misses included.
TEST(TokenCache, RecentTokensAnswerLikeTheVerifier) {
  jwt_verifier v(secret);
  token_cache c(v, 64);
  std::vector<std::string> toks;
  for (int i = 0; i < 6; ++i) toks.push_back(tok("r" + std::to_string(i), 1000 + i));
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 6; ++i) {
      auto r = c.verify(toks[i], 900);
      ASSERT_TRUE(r);
      EXPECT_EQ(r->user_id, "r" + std::to_string(i));
    }
  EXPECT_EQ(c.hits(), 12u);
  // Expiry is checked on the recent path too (exp 1000 for r0).
  EXPECT_EQ(c.verify(toks[0], 1000).error(), errc::token_expired);
  EXPECT_EQ(c.verify(toks[5], 1004).value().user_id, "r5");
  // A prefix or an extension of a recent token is not it.
  EXPECT_FALSE(c.verify(toks[5].substr(0, toks[5].size() - 1), 0));
  EXPECT_FALSE(c.verify(toks[5] + "A", 0));
  EXPECT_FALSE(c.verify("", 0));
}

// An end user's token (an upgrade's) is checked without the cache: the same
// answers, no entry, and the backend's token stays a hit.
TEST(TokenCache, VerifyOnceAnswersLikeTheVerifierAndKeepsNothing) {
  jwt_verifier v(secret);
  token_cache c(v, 64);
  std::string backend = tok("backend", 5000);
  ASSERT_TRUE(c.verify(backend, 0));
  for (int i = 0; i < 100; ++i) {
    auto r = c.verify_once(tok("d" + std::to_string(i), 5000), 0);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->user_id, "d" + std::to_string(i));
  }
  EXPECT_EQ(c.verify_once(tok("late", 10), 10).error(), errc::token_expired);
  std::string tampered = tok("t", 5000);
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(c.verify_once(tampered, 0).error(), errc::token_bad_signature);
  EXPECT_EQ(c.size(), 1u);  // the backend's alone
  std::uint64_t hits = c.hits();
  ASSERT_TRUE(c.verify(backend, 0));
  EXPECT_EQ(c.hits(), hits + 1);
}
