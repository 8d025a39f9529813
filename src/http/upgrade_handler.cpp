// A WebSocket upgrade (any path): authenticate, check the RFC 6455
// handshake, and hand the connection to the worker whose shard owns the user
// (c.hand_off, installed by app/).
#include "auth/token_source.hpp"
#include "core/log.hpp"
#include "http/authenticate.hpp"
#include "http/handlers.hpp"
#include "protocol/receipts.hpp"
#include "ws/deflate.hpp"
#include "ws/handshake.hpp"

namespace hf::http {

void handle_upgrade(context& c, const request& req, exchange_ptr x) {
  auto who = authenticate(c, req, caller::end_user, "upgrade");
  if (!who) return x->respond(text_response(401, "Unauthorized", false));
  // Section 11: the token's `device` claim, else the `device` query
  // parameter (which must be a device name whenever it is present).
  std::string device = who->device ? *who->device : std::string();
  if (auto q = auth::query_param(req.target, "device")) {
    if (!protocol::valid_device(*q)) {
      core::log_refusal(spdlog::level::info, "upgrade rejected: 400 (invalid device parameter)");
      return x->respond(text_response(400, "Bad Request", false));
    }
    if (device.empty()) device = std::move(*q);
  }
  if (c.stopping) return x->respond(text_response(503, "Service Unavailable", false));
  auto hs = ws::check_handshake({req.method, req.version, req.connection, req.upgrade,
                                 req.sec_websocket_key, req.sec_websocket_version});
  if (!hs.ok()) {
    core::log_refusal(spdlog::level::info, "upgrade rejected: {} ({})", hs.status, hs.reason);
    response r = text_response(hs.status, hs.reason, false);
    if (hs.status == 426) r.extra_headers = "sec-websocket-version: 13\r\n";  // the one we speak
    return x->respond(std::move(r));
  }
  ws::upgrade up{std::move(hs.accept), {}, std::move(who->user_id), who->expires_at, {}, {},
                 std::move(device)};
  if (c.cfg.compression && req.sec_websocket_extensions) {
    ws::negotiation n = ws::negotiate_deflate(*req.sec_websocket_extensions);
    up.deflate = n.params;
    up.extensions = std::move(n.response);
  }
  int fd = x->take_connection(up.early_bytes);
  if (fd >= 0) c.hand_off(fd, std::move(up));
}

}  // namespace hf::http
