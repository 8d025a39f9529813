// SHA-1 and SHA-256 of a few bytes, with OpenSSL's algorithm fetched once
// per thread. OpenSSL 3's one-shot SHA1() and SHA256() look the algorithm up
// on every call (a provider lock and about six allocations), which an
// upgrade (the accept key) and a publish (the token cache's digest) would
// pay each time. Pure: no I/O.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace hf::core {

using sha1_digest = std::array<unsigned char, 20>;
using sha256_digest = std::array<unsigned char, 32>;

// The digest of `a` followed by `b`; nullopt if OpenSSL failed (out of
// memory, a provider configuration without the algorithm): callers fail
// closed.
std::optional<sha1_digest> sha1(std::string_view a, std::string_view b = {});
std::optional<sha256_digest> sha256(std::string_view data) noexcept;

}  // namespace hf::core
