// POST /publish (PROTOCOL.md section 5): the checks in the contract's order,
// the envelope built once, and the answer when the broker calls back.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>

#include "http/authenticate.hpp"
#include "http/handlers.hpp"
#include "net/worker.hpp"
#include "protocol/publish_request.hpp"

namespace hf::http {

void handle_publish(net::worker& w, const request& req, exchange_ptr x) {
  auto who = authenticate(w, req, "publish");
  if (!who) {
    ++w.metrics.publish_errors;
    return x->respond(json_error(401, "Unauthorized"));
  }
  auto parsed = protocol::parse_publish_request(req.content_type, req.body);
  if (!parsed) {
    ++w.metrics.publish_errors;
    unsigned status = parsed.error() == errc::unsupported_media_type ? 415 : 400;
    return x->respond(json_error(status, parsed.error().message()));
  }
  auto& p = *parsed;
  auto wait = w.svc.cfg.ack_timeout;
  if (p.ack_timeout_ms) wait = std::min(wait, std::chrono::milliseconds(*p.ack_timeout_ms));
  auto started = std::chrono::steady_clock::now();
  auto env = std::make_shared<const protocol::envelope>(
      protocol::make_envelope(std::move(p.type), std::move(p.user_id), std::move(p.payload),
                              std::chrono::system_clock::now()));
  // `done` runs on a thread of the broker's choosing; the counters are w's,
  // so the accounting is posted back to w's thread with the answer.
  w.svc.broker.publish(
      std::move(env), started + wait,
      [&w, x = std::move(x), started](hub::delivery_result r) mutable {
        boost::asio::post(w.ioc, [&w, x = std::move(x), started, r = std::move(r)] {
          ++w.metrics.publishes_answered;
          if (r.client_count == 0) ++w.metrics.publishes_no_target;
          w.metrics.observe_latency(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
          x->respond(
              json_response(200, protocol::serialize_publish_answer(r.client_count, r.results)));
        });
      });
}

}  // namespace hf::http
