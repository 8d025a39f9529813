// GET /users/<id>/devices (docs/protocol.md section 13): who is online,
// authorised exactly like POST /publish, answered from every node's sockets
// through the broker.
#include <boost/asio/post.hpp>

#include "broker/broker.hpp"
#include "core/text.hpp"
#include "http/authenticate.hpp"
#include "http/handlers.hpp"
#include "protocol/publish_request.hpp"
#include "protocol/routing.hpp"

namespace hf::http {
namespace {
// The broker answers within about a second (it asks other nodes for at most
// that long); past this the session answers by itself.
constexpr auto roster_backstop = std::chrono::milliseconds(2500);

response roster_answer(std::string body) {
  return {200, body_kind::roster_json, std::move(body), true, {}};
}
}  // namespace

void handle_roster(context& c, const request& req, exchange_ptr x) {
  auto who = authenticate(c, req, caller::publisher, "roster");
  if (!who) {
    response r = who.error() == errc::publish_forbidden ? json_error(403, "Forbidden")
                                                        : json_error(401, "Unauthorized");
    r.kind = body_kind::roster_json;
    return x->respond(std::move(r));
  }
  std::string user(core::js_trim(protocol::roster_user(req.target).value_or("")));
  if (user.empty()) {
    response r = json_error(400, make_error_code(errc::user_id_required).message());
    r.kind = body_kind::roster_json;
    return x->respond(std::move(r));
  }
  response fallback = roster_answer(protocol::serialize_roster(user, {}));
  fallback.extra_headers = degraded_header(protocol::degradation::unknown);
  x->backstop(std::chrono::steady_clock::now() + roster_backstop, std::move(fallback), [] {});
  c.broker.roster(user, [&c, x = std::move(x), user](std::vector<protocol::roster_entry> entries,
                                                     std::optional<metrics::degradation> d) {
    boost::asio::post(c.ioc, [x, user, entries = std::move(entries), d]() mutable {
      response r = roster_answer(protocol::serialize_roster(user, std::move(entries)));
      if (d) r.extra_headers = degraded_header(*d);
      x->respond(std::move(r));
    });
  });
}

}  // namespace hf::http
