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
#include "net/webhook_sender.hpp"
#include "protocol/idempotency.hpp"
#include "protocol/publish_request.hpp"
#include "protocol/vocabulary.hpp"

namespace hf::http {
namespace {

// How long after the broker's own latest answer time the session answers by
// itself: scheduling delay on a busy node stays well inside it, so the
// backstop fires only when something below lost the publish.
constexpr auto backstop_grace = std::chrono::milliseconds(500);
// An Idempotency-Key stays "in flight" this much past its publish's latest
// answer: a node that died mid-publish does not block its key for longer.
constexpr auto in_flight_margin = std::chrono::seconds(5);

}  // namespace

namespace {

// A key this publish claimed (section 15): its answer is kept under it.
struct claimed_key {
  std::string key, fingerprint;
};

void keep(context& c, const std::optional<claimed_key>& k, const response& r,
          std::optional<protocol::degradation> d) {
  if (k) c.broker.keep_answer(k->key, {k->fingerprint, true, r.status, r.body, d});
}

// What follows each answer (on c's thread): section 14's `unacked` event
// when the publish asked for webhooks and no target acked.
void after_answer(context& c, const protocol::envelope& env, const hub::delivery_result& r) {
  if (!env.options.webhook || !c.webhooks) return;
  for (const auto& d : r.receipts)
    if (d.state == protocol::receipt_state::acked) return;
  if (!r.results.empty() || r.dropped) return;  // acked (receipts missing: never, but safe)
  c.webhooks->unacked(env.text, r.client_count, r.receipts);
}

// Delivers an accepted publish and answers it (steps 4-9 of
// docs/life-of-a-publish.md).
void deliver(context& c, protocol::publish_request p, exchange_ptr x,
             std::chrono::steady_clock::time_point started, std::optional<claimed_key> key) {
  auto wait = c.cfg.ack_timeout;
  if (p.ack_timeout_ms) wait = std::min(wait, std::chrono::milliseconds(*p.ack_timeout_ms));
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
  // The backstop's answer is also the key's (a retry is not delivered again).
  auto kept = key ? std::optional<response>(fallback) : std::nullopt;
  auto told = env->options.webhook ? env : nullptr;  // for after_answer
  x->backstop(c.broker.answer_by(until) + backstop_grace, std::move(fallback),
              [&c, backstopped, key, kept = std::move(kept), told] {
                if (kept) keep(c, key, *kept, metrics::degradation::unknown);
                if (told) after_answer(c, *told, {});
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
      [&c, x = std::move(x), started, backstopped, receipts, key = std::move(key),
       told = std::move(told)](hub::delivery_result r) mutable {
        boost::asio::post(c.ioc, [&c, x = std::move(x), started, backstopped, receipts,
                                  key = std::move(key), told = std::move(told), r = std::move(r)] {
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
          keep(c, key, answer, r.degraded);
          x->respond(std::move(answer));
          if (told) after_answer(c, *told, r);
        });
      });
}

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
  if (parsed->options.webhook && !c.webhooks) {  // section 14
    ++c.metrics.publish_errors;
    return x->respond(json_error(400, make_error_code(errc::webhook_not_configured).message()));
  }
  auto started = std::chrono::steady_clock::now();
  if (!req.idempotency_key) return deliver(c, std::move(*parsed), std::move(x), started, {});

  // Section 15: the key is claimed before anything is delivered.
  std::string key(*req.idempotency_key);
  auto fingerprint = protocol::body_fingerprint(req.body);
  if (!protocol::valid_idempotency_key(key) || !fingerprint) {
    ++c.metrics.publish_errors;
    return x->respond(json_error(400, "Invalid Idempotency-Key"));
  }
  // In flight at most until the publish's latest answer, and a margin.
  auto wait = c.cfg.ack_timeout;
  if (parsed->ack_timeout_ms)
    wait = std::min(wait, std::chrono::milliseconds(*parsed->ack_timeout_ms));
  auto hold = std::chrono::duration_cast<std::chrono::milliseconds>(
      c.broker.answer_by(started + wait) - started + backstop_grace + in_flight_margin);
  c.broker.claim_key(
      key, *fingerprint, hold,
      [&c, x = std::move(x), p = std::move(*parsed), started,
       k = claimed_key{key, *fingerprint}](broker::key_claim claim) mutable {
        boost::asio::post(c.ioc, [&c, x = std::move(x), p = std::move(p), started, k = std::move(k),
                                  claim = std::move(claim)]() mutable {
          using outcome = broker::key_claim::outcome;
          switch (claim.what) {
            case outcome::claimed:
              return deliver(c, std::move(p), std::move(x), started, std::move(k));
            case outcome::in_flight:
              ++c.metrics.idempotency_conflicts;
              return x->respond(
                  json_error(409, "A request with this Idempotency-Key is in progress"));
            case outcome::other_body:
              ++c.metrics.idempotency_conflicts;
              return x->respond(json_error(422, "Idempotency-Key reused with a different body"));
            case outcome::answered: {
              ++c.metrics.idempotent_replays;
              response r = json_response(claim.record.status, std::move(claim.record.body));
              r.extra_headers = replayed_header(claim.record.degraded);
              return x->respond(std::move(r));
            }
          }
        });
      });
}

}  // namespace hf::http
