#include "auth/token_source.hpp"

#include "core/text.hpp"

namespace hf::auth {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding as URLSearchParams does it:
// '+' is a space; a '%' not followed by two hex digits stays literally.
std::string form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string extract_token(std::optional<std::string_view> authorization, std::string_view target) {
  if (authorization) {
    std::string_view h = core::js_trim(*authorization);
    if (!h.empty()) {
      if (core::istarts_with(h, "bearer ")) h = core::js_trim(h.substr(7));
      return std::string(h);
    }
  }
  std::size_t q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  if (std::size_t hash = query.find('#'); hash != std::string_view::npos)
    query = query.substr(0, hash);
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    std::size_t eq = pair.find('=');
    std::string name = form_decode(pair.substr(0, eq));
    if (name != "token") continue;
    std::string value =
        eq == std::string_view::npos ? std::string{} : form_decode(pair.substr(eq + 1));
    return std::string(core::js_trim(value));
  }
  return {};
}

}  // namespace hf::auth
