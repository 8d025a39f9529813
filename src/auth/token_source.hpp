// Where a request's token comes from (docs/protocol.md section 1): the
// Authorization header, else the `token` query parameter. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hf::auth {

// `authorization` is the header value when the header is present (nullopt when
// absent); `target` is the request target ("/path?query"). Returns the token
// text to verify (possibly empty, which fails verification).
//  - header present and not blank: trimmed; a leading "bearer " (any case, one
//    space) is removed and the rest trimmed again. The query is not consulted.
//  - otherwise: the first `token` query parameter, percent-decoded ('+' is a
//    space, as URLSearchParams does), trimmed; empty when there is none.
std::string extract_token(std::optional<std::string_view> authorization, std::string_view target);

}  // namespace hf::auth
