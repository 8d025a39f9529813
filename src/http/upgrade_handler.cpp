// A WebSocket upgrade (any path): authenticate, check the RFC 6455
// handshake, and hand the connection to the worker whose shard owns the user.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "core/log.hpp"
#include "http/authenticate.hpp"
#include "http/handlers.hpp"
#include "net/worker.hpp"
#include "ws/handshake.hpp"
#include "ws/session.hpp"

namespace hf::http {

void handle_upgrade(net::worker& w, const request& req, exchange_ptr x) {
  auto who = authenticate(w, req, caller::end_user, "upgrade");
  if (!who) return x->respond(text_response(401, "Unauthorized", false));
  if (w.svc.stopping) return x->respond(text_response(503, "Service Unavailable", false));
  auto hs = ws::check_handshake({req.method, req.version, req.connection, req.upgrade,
                                 req.sec_websocket_key, req.sec_websocket_version});
  if (!hs.ok()) {
    core::log_refusal(spdlog::level::info, "upgrade rejected: {} ({})", hs.status, hs.reason);
    response r = text_response(hs.status, hs.reason, false);
    if (hs.status == 426) r.extra_headers = "sec-websocket-version: 13\r\n";  // the one we speak
    return x->respond(std::move(r));
  }
  ws::upgrade up{std::move(hs.accept), {}, std::move(who->user_id), who->expires_at, {}, {}};
  if (w.svc.cfg.compression && req.sec_websocket_extensions) {
    ws::negotiation n = ws::negotiate_deflate(*req.sec_websocket_extensions);
    up.deflate = n.params;
    up.extensions = std::move(n.response);
  }
  net::stream_socket socket = x->take_connection(up.early_bytes);
  std::size_t owner = w.svc.hub.owner_index(up.user_id);
  if (owner == w.index) return ws::start_session(w, std::move(socket), std::move(up));
  // The connection moves to the owning shard's thread: the descriptor changes
  // io_context, the user's state never changes thread.
  net::detached_socket moving = net::detach(socket);
  if (moving.fd < 0) return;
  net::worker& target = *w.svc.workers[owner];
  boost::asio::post(target.ioc, [&target, moving, up = std::move(up)]() mutable {
    net::stream_socket s = net::adopt(target.ioc, moving);
    if (s.is_open()) ws::start_session(target, std::move(s), std::move(up));
  });
}

}  // namespace hf::http
