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
//    The result is a view of `*authorization` (no copy on the publish path).
//  - otherwise: the first `token` query parameter, percent-decoded ('+' is a
//    space, as URLSearchParams does), trimmed; empty when there is none. The
//    decoded text is kept in `storage`, and the result is a view of it.
std::string_view extract_token(std::optional<std::string_view> authorization,
                               std::string_view target, std::string& storage);

// The first query parameter of `target` named `name` (names compare
// exactly, after decoding), percent-decoded with '+' as a space as
// URLSearchParams does; "" for a name without '='; nullopt when absent.
std::optional<std::string> query_param(std::string_view target, std::string_view name);

}  // namespace hf::auth
