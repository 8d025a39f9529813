// Fuzz target: the JWT verifier. Any input must give a principal or an error,
// never a crash, and a principal only for a correctly signed token.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "auth/jwt.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const hf::auth::jwt_verifier verifier("fuzz-secret-fuzz-secret-fuzz-secret!");
  std::string_view token(reinterpret_cast<const char*>(data), size);
  auto r = verifier.verify(token, 1'800'000'000);
  if (r) {
    // A valid principal has a non-blank user; the token must re-verify the same.
    if (r->user_id.empty()) std::abort();
    if (verifier.verify(token, 1'800'000'000)->user_id != r->user_id) std::abort();
  }
  return 0;
}
