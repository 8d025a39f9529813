// GET /console: the developer console (CONSOLE=1 only), and GET / that
// redirects to it. Static files that were embedded at build time; the page
// talks to this server like any other client (WebSocket, POST /publish,
// GET /metrics), with the token the developer gives it. No endpoint here
// mints tokens.
#include "http/console_assets.hpp"
#include "http/handlers.hpp"

namespace hf::http {

void handle_console(context& c, const request& req, exchange_ptr x) {
  if (!c.cfg.console) return x->respond(text_response(404, "Not Found"));
  // The page loads only its own scripts; it may connect to other servers
  // (a developer can point it at one), never embed or be embedded.
  static constexpr std::string_view headers =
      "cache-control: no-store\r\n"
      "x-content-type-options: nosniff\r\n"
      "referrer-policy: no-referrer\r\n"
      "content-security-policy: default-src 'self'; script-src 'self'; style-src 'self' "
      "'unsafe-inline'; connect-src 'self' ws: wss: http: https:; frame-ancestors 'none'\r\n";
  std::string_view path = protocol::target_path(req.target);
  if (path == "/console/sdk.js")
    return x->respond(
        {200, body_kind::javascript, std::string(console_assets::sdk_js), true, headers});
  if (path == "/console/app.js")
    return x->respond(
        {200, body_kind::javascript, std::string(console_assets::app_js), true, headers});
  x->respond({200, body_kind::html, std::string(console_assets::index_html), true, headers});
}

void handle_root(context& c, const request&, exchange_ptr x) {
  if (!c.cfg.console) return x->respond(text_response(404, "Not Found"));
  // A developer who opens the server's address finds the console.
  static constexpr std::string_view location = "location: /console\r\n";
  x->respond({302, body_kind::text, {}, true, location});
}

}  // namespace hf::http
