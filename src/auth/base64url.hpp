// RFC 4648 section 5 base64url without padding, as JWS compact serialisation
// uses it (RFC 7515 section 2). Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hf::auth {

std::string base64url_encode(std::string_view bytes);

// Strict decoder: only A-Z a-z 0-9 - _, no '=' padding, no white space, a
// length that is not 1 mod 4, and canonical: the unused low bits of the last
// character are zero (RFC 4648 section 3.5), so the text is the one that
// base64url_encode gives for the bytes. Returns nullopt for anything else.
std::optional<std::string> base64url_decode(std::string_view text);
// The same into `out` (replacing its contents; a caller that reuses `out`
// decodes without allocating). False, and `out` unspecified, for bad text.
bool base64url_decode_into(std::string_view text, std::string& out);

}  // namespace hf::auth
