#include "protocol/routing.hpp"

#include "core/text.hpp"

namespace hf::protocol {

std::string_view target_path(std::string_view target) noexcept {
  // Absolute form (RFC 9112 3.2.2): skip "scheme://authority".
  if (std::size_t scheme = target.find("://");
      scheme != std::string_view::npos && target.find('/') > scheme) {
    std::size_t path = target.find('/', scheme + 3);
    target = path == std::string_view::npos ? std::string_view{} : target.substr(path);
  }
  std::size_t end = target.find_first_of("?#");
  return target.substr(0, end);
}

std::optional<std::string> roster_user(std::string_view target) {
  std::string_view path = target_path(target);
  constexpr std::string_view head = "/users/", tail = "/devices";
  if (path.size() <= head.size() + tail.size() || !path.starts_with(head) || !path.ends_with(tail))
    return std::nullopt;
  std::string_view segment = path.substr(head.size(), path.size() - head.size() - tail.size());
  if (segment.find('/') != std::string_view::npos) return std::nullopt;
  return core::percent_decode(segment, false);
}

route classify(std::string_view method, std::string_view target,
               std::optional<std::string_view> upgrade) noexcept {
  if (upgrade && core::iequals(core::js_trim(*upgrade), "websocket")) return route::websocket;
  std::string_view path = target_path(target);
  // An absolute-form target with no path is "/" (WHATWG URL).
  // HEAD is GET without the body (RFC 9110 9.3.2): the handlers answer it
  // with the GET answer's status and headers.
  if (method == "GET" || method == "HEAD") {
    if (path == "/healthz") return route::healthz;
    if (path == "/readyz") return route::readyz;
    if (path == "/metrics") return route::metrics;
    if (path == "/sdk/realtime.js") return route::sdk;
  }
  if (method == "GET") {
    if (path == "/console" || path == "/console/" || path == "/console/app.js" ||
        path == "/console/sdk.js")
      return route::console;
    if (path == "/" || (path.empty() && target.find("://") != std::string_view::npos))
      return route::root;
  }
  if (roster_user(target)) {
    if (method == "GET") return route::roster;
    if (method == "OPTIONS") return route::roster_preflight;
    return route::not_found;
  }
  if (path != "/publish") return route::not_found;
  if (method == "OPTIONS") return route::preflight;
  if (method == "POST") return route::publish;
  return route::not_found;
}

}  // namespace hf::protocol
