#include "core/digest.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace {

template <std::size_t N>
std::string hex(const std::array<unsigned char, N>& d) {
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
  }
  std::string other;
  std::thread([&] { other = hex(hf::core::sha256("abc")); }).join();
  EXPECT_EQ(other, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
