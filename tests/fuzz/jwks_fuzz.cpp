// Fuzz target: JWKS documents (they come from a URL) and PEM public keys.
// Properties: never crash; every key returned is usable (it has a key of its
// declared type) and verifying any signature with it is safe.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "auth/public_keys.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto keys = hf::auth::parse_jwks(in);
  for (const auto& k : keys.keys) {
    if (!k.pkey) std::abort();
    (void)hf::auth::verify_signature(k, in, in.substr(0, std::min<std::size_t>(in.size(), 64)));
  }
  std::string why;
  (void)hf::auth::parse_pem_public_key(in, why);
  return 0;
}
