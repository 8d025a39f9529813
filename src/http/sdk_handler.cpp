// GET and HEAD /sdk/realtime.js (SERVE_SDK=1 only): the JavaScript SDK
// (clients/js/src/index.js, one dependency-free ES module) at a stable path,
// so that a page can import it without a bundler, from any origin:
//   <script type="importmap">
//   {"imports":{"@hopeflow/realtime":"https://realtime.example.com/sdk/realtime.js"}}
//   </script>
// The bytes are the console's copy (console_assets::sdk_js), embedded at
// build time; independent of CONSOLE.
#include "http/console_assets.hpp"
#include "http/handlers.hpp"

namespace hf::http {

void handle_sdk(context& c, const request& req, exchange_ptr x) {
  const bool head = req.method == "HEAD";  // the GET answer without its body (RFC 9110 9.3.2)
  if (!c.cfg.serve_sdk) {
    response r = text_response(404, "Not Found");
    r.head = head;
    return x->respond(std::move(r));
  }
  // A module script is fetched in CORS mode: without allow-origin a page on
  // another origin cannot import it. No credentials are involved, so "*".
  // Cached for 5 minutes: the file changes only when the server is
  // upgraded, and a page that runs a few minutes' older SDK against a newer
  // server loses nothing (the protocol's additions are opt-in).
  static constexpr std::string_view headers =
      "access-control-allow-origin: *\r\n"
      "cache-control: public, max-age=300\r\n"
      "x-content-type-options: nosniff\r\n";
  response r{200, body_kind::javascript, std::string(console_assets::sdk_js), true, headers};
  r.head = head;
  x->respond(std::move(r));
}

}  // namespace hf::http
