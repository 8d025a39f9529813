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
  }
  if (method == "GET") {
    if (path == "/console" || path == "/console/" || path == "/console/app.js" ||
        path == "/console/sdk.js")
      return route::console;
  }
  if (path != "/publish") return route::not_found;
  if (method == "OPTIONS") return route::preflight;
  if (method == "POST") return route::publish;
  return route::not_found;
}

}  // namespace hf::protocol
