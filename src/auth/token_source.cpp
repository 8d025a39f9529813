#include "auth/token_source.hpp"

#include "core/text.hpp"

namespace hf::auth {
std::string_view extract_token(std::optional<std::string_view> authorization,
                               std::string_view target, std::string& storage) {
  if (authorization) {
    std::string_view h = core::js_trim(*authorization);
    if (!h.empty()) {
      if (core::istarts_with(h, "bearer ")) h = core::js_trim(h.substr(7));
      return h;
    }
  }
  auto value = query_param(target, "token");
  if (!value) return {};
  storage = std::move(*value);
  return core::js_trim(storage);
}

std::optional<std::string> query_param(std::string_view target, std::string_view wanted) {
  std::size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  if (std::size_t hash = query.find('#'); hash != std::string_view::npos)
    query = query.substr(0, hash);
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    std::size_t eq = pair.find('=');
    if (core::percent_decode(pair.substr(0, eq), true) != wanted) continue;
    return eq == std::string_view::npos ? std::string{}
                                        : core::percent_decode(pair.substr(eq + 1), true);
  }
  return std::nullopt;
}

}  // namespace hf::auth
