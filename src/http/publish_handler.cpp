// POST /publish (docs/protocol.md section 5): the checks in the contract's order,
// the envelope built once, and the answer when the broker calls back, or
// from the session's backstop if it never does.
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>

#include "broker/broker.hpp"
#include "http/authenticate.hpp"
#include "http/handlers.hpp"
#include "protocol/publish_request.hpp"
#include "protocol/vocabulary.hpp"

namespace hf::http {
namespace {

// How long after the broker's own latest answer time the session answers by
// itself: scheduling delay on a busy node stays well inside it, so the
// backstop fires only when something below lost the publish.
constexpr auto backstop_grace = std::chrono::milliseconds(500);

}  // namespace

void handle_publish(context& c, const request& req, exchange_ptr x) {
  auto who = authenticate(c, req, caller::publisher, "publish");
  if (!who) {
    ++c.metrics.publish_errors;
    if (who.error() == errc::publish_forbidden) return x->respond(json_error(403, "Forbidden"));
    return x->respond(json_error(401, "Unauthorized"));
  }
  auto parsed = protocol::parse_publish_request(req.content_type, req.body);
  if (!parsed) {
    ++c.metrics.publish_errors;
    unsigned status = parsed.error() == errc::unsupported_media_type ? 415 : 400;
    return x->respond(json_error(status, parsed.error().message()));
  }
  auto& p = *parsed;
  auto wait = c.cfg.ack_timeout;
  if (p.ack_timeout_ms) wait = std::min(wait, std::chrono::milliseconds(*p.ack_timeout_ms));
  auto started = std::chrono::steady_clock::now();
  auto until = started + wait;
  auto made = protocol::make_envelope(std::move(p.type), std::move(p.user_id), std::move(p.payload),
                                      std::chrono::system_clock::now());
  made.options = p.options;  // section 12
  made.arrived = started;
  auto env = std::make_shared<const protocol::envelope>(std::move(made));

  // Every accepted publish is answered by then, whatever happens below. The
  // flag (touched on c's thread only) keeps a late broker answer from being
  // counted a second time.
  auto backstopped = std::make_shared<bool>(false);
  static const std::vector<protocol::receipt> no_receipts;
  response fallback = json_response(
      200,
      protocol::serialize_publish_answer(0, {}, 0, p.options.receipts ? &no_receipts : nullptr));
  fallback.extra_headers = degraded_header(metrics::degradation::unknown);
  x->backstop(c.broker.answer_by(until) + backstop_grace, std::move(fallback), [&c, backstopped] {
    *backstopped = true;
    ++c.metrics.publish_backstops;
    ++c.metrics.publishes_answered;
    ++c.metrics.publishes_degraded[metrics::index(metrics::degradation::unknown)];
  });

  // `done` runs on a thread of the broker's choosing; the counters are c's,
  // so the accounting is posted back to c's thread with the answer.
  bool receipts = env->options.receipts;
  c.broker.publish(
      std::move(env), until,
      [&c, x = std::move(x), started, backstopped, receipts](hub::delivery_result r) mutable {
        boost::asio::post(c.ioc, [&c, x = std::move(x), started, backstopped, receipts,
                                  r = std::move(r)] {
          if (*backstopped) return;  // answered already; this one is ignored
          ++c.metrics.publishes_answered;
          if (r.client_count == 0) ++c.metrics.publishes_no_target;
          c.metrics.results_dropped += r.dropped;
          ++c.metrics.completions[metrics::index(r.why)];
          c.metrics.observe_latency(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
          response answer = json_response(
              200, protocol::serialize_publish_answer(r.client_count, r.results, r.dropped,
                                                      receipts ? &r.receipts : nullptr));
          if (r.degraded) {
            ++c.metrics.publishes_degraded[metrics::index(*r.degraded)];
            answer.extra_headers = degraded_header(*r.degraded);
          }
          x->respond(std::move(answer));
        });
      });
}

}  // namespace hf::http
