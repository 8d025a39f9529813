#include "http/handlers.hpp"

namespace hf::http {

void handle_request(net::worker& w, protocol::route route, const request& req, exchange_ptr x) {
  switch (route) {
    case protocol::route::websocket:
      return handle_upgrade(w, req, std::move(x));
    case protocol::route::preflight:
      return x->respond({204, body_kind::cors_preflight, {}, true, {}});
    case protocol::route::publish:
      return handle_publish(w, req, std::move(x));
    case protocol::route::healthz:
      return handle_healthz(w, req, std::move(x));
    case protocol::route::readyz:
      return handle_readyz(w, req, std::move(x));
    case protocol::route::metrics:
      return handle_metrics(w, req, std::move(x));
    case protocol::route::console:
      return handle_console(w, req, std::move(x));
    case protocol::route::not_found:
      break;
  }
  x->respond(text_response(404, "Not Found"));
}

}  // namespace hf::http
