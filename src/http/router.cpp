// The router (docs/protocol.md section 2), and the HTTP layer's settings as
// read from the configuration. Runs on the thread of the context's worker.
#include "config/config.hpp"
#include "http/handlers.hpp"

namespace hf::http {

settings settings_of(const config::config& cfg) {
  return {.max_header_bytes = cfg.max_header_bytes,
          .max_body_bytes = cfg.max_body_bytes,
          .max_uri_bytes = cfg.max_uri_bytes,
          .request_timeout = cfg.request_timeout,
          .ack_timeout = cfg.ack_timeout,
          .max_results_bytes = cfg.max_results_bytes,
          .publisher_tokens_only = !cfg.publish_secret.empty(),
          .compression = cfg.compression,
          .console = cfg.console,
          .serve_sdk = cfg.serve_sdk};
}

void handle_request(context& c, protocol::route route, const request& req, exchange_ptr x) {
  switch (route) {
    case protocol::route::websocket:
      return handle_upgrade(c, req, std::move(x));
    case protocol::route::preflight:
      return x->respond({204, body_kind::cors_preflight, {}, true, {}});
    case protocol::route::publish:
      return handle_publish(c, req, std::move(x));
    case protocol::route::healthz:
      return handle_healthz(c, req, std::move(x));
    case protocol::route::readyz:
      return handle_readyz(c, req, std::move(x));
    case protocol::route::metrics:
      return handle_metrics(c, req, std::move(x));
    case protocol::route::console:
      return handle_console(c, req, std::move(x));
    case protocol::route::root:
      return handle_root(c, req, std::move(x));
    case protocol::route::sdk:
      return handle_sdk(c, req, std::move(x));
    case protocol::route::roster:
      return handle_roster(c, req, std::move(x));
    case protocol::route::roster_preflight:
      return x->respond({204, body_kind::roster_preflight, {}, true, {}});
    case protocol::route::not_found:
      break;
  }
  response r = text_response(404, "Not Found");
  r.head = req.method == "HEAD";  // no body after a HEAD's headers (RFC 9110 9.3.2)
  x->respond(std::move(r));
}

}  // namespace hf::http
