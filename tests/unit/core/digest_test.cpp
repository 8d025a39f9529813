#include "core/digest.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace {

template <std::size_t N>
std::string hex(const std::optional<std::array<unsigned char, N>>& digest) {
  if (!digest) return "(failed)";
  const auto& d = *digest;
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : d) s += {digits[c >> 4], digits[c & 15]};
  return s;
}

}  // namespace

// FIPS 180 test vectors, computed again on the same thread (the context is
// reused) and on another thread (its own context).
TEST(Digest, Sha1AndSha256MatchTheStandardVectorsEveryTimeOnEveryThread) {
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(hex(hf::core::sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
    EXPECT_EQ(hex(hf::core::sha1("ab", "c")), "a9993e364706816aba3e25717850c26c9cd0d89d");
    EXPECT_EQ(hex(hf::core::sha1("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    EXPECT_EQ(hex(hf::core::sha256("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // Two blocks, after one: the reused context starts over each time.
    constexpr std::string_view two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    EXPECT_EQ(hex(hf::core::sha1(two)), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    EXPECT_EQ(hex(hf::core::sha256(two)),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  }
  std::string other;
  std::thread([&] { other = hex(hf::core::sha256("abc")); }).join();
  EXPECT_EQ(other, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
