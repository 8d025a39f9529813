// POST /publish (docs/protocol.md section 5): the checks in the contract's order,
// the envelope built once (once per user for section 15's `userIds`), and
// the answer when the broker calls back, or from the session's backstop if
// it never does.
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>

#include "ack/users_tally.hpp"
#include "broker/broker.hpp"
#include "http/authenticate.hpp"
#include "http/handlers.hpp"
#include "net/webhook_sender.hpp"
#include "protocol/idempotency.hpp"
#include "protocol/publish_request.hpp"
#include "protocol/users_answer.hpp"
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

// One envelope's delivery was answered by the broker and the request had
// not been answered by its backstop yet: called on c's thread, once per
// envelope (one for a publish to `userId`, one per user for `userIds`),
// before the request's answer is written. What follows each user's answer
// goes here. Returns true when section 14's `unacked` event is due (the
// publish asked for webhooks and no target acked): send_unacked then sends
// it, and the answer follows.
bool after_answer(context& c, const protocol::envelope& env, const hub::delivery_result& r) {
  ++c.metrics.completions[metrics::index(r.why)];
  if (!env.options.webhook || !c.webhooks || !r.results.empty() || r.dropped) return false;
  for (const auto& d : r.receipts)
    if (d.state == protocol::receipt_state::acked) return false;
  return true;
}

// Hands the `unacked` event to the sender; `then` (the answer, or a step
// towards it) runs once, on c's thread: at once on one node, and in cluster
// mode once the event is kept in Redis, so that a node killed right after
// answering loses no event, but at the latest webhook_keep_wait after the
// hand-over (a slow Redis or a busy sender delays the answer that much).
void send_unacked(context& c, const protocol::envelope& env, const hub::delivery_result& r,
                  std::function<void()> then) {
  if (!c.broker.outbox()) {
    c.webhooks->unacked(env.text, r.client_count, r.receipts);
    return then();
  }
  auto once = std::make_shared<std::function<void()>>(std::move(then));
  auto bound = std::make_shared<boost::asio::steady_timer>(c.ioc, net::webhook_keep_wait);
  bound->async_wait([once, bound](boost::system::error_code) {
    if (*once) std::exchange(*once, nullptr)();
  });
  c.webhooks->unacked(env.text, r.client_count, r.receipts, [&c, once, bound] {
    boost::asio::post(c.ioc, [once, bound] {
      bound->cancel();
      if (*once) std::exchange(*once, nullptr)();
    });
  });
}

// Section 14: a webhook publish answered by the backstop reached nobody
// that the answer knows of: `unacked`, with no targets.
void unacked_by_backstop(context& c, const protocol::envelope& env) {
  if (env.options.webhook && c.webhooks) c.webhooks->unacked(env.text, 0, {});
}

// Counts an answered publish request (one, whatever the number of users)
// and answers it with `body`; on c's thread.
void answer_publish(context& c, const exchange_ptr& x, const std::optional<claimed_key>& key,
                    std::chrono::steady_clock::time_point started, std::string body,
                    std::size_t client_count, std::size_t dropped,
                    std::optional<protocol::degradation> degraded) {
  ++c.metrics.publishes_answered;
  if (client_count == 0) ++c.metrics.publishes_no_target;
  c.metrics.results_dropped += dropped;
  c.metrics.observe_latency(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  response answer = json_response(200, std::move(body));
  if (degraded) {
    ++c.metrics.publishes_degraded[metrics::index(*degraded)];
    answer.extra_headers = degraded_header(*degraded);
  }
  keep(c, key, answer, degraded);
  x->respond(std::move(answer));
}

// Arms the session's backstop: every accepted publish is answered by
// `by`, whatever happens below, with `fallback` marked unknown (also kept
// as the key's answer: a retry is not delivered again). `backstopped`
// (touched on c's thread only) keeps a late broker answer from being
// counted a second time; it is held weakly (the publish's state holds the
// exchange, which holds the session, which holds this closure), and when it
// is gone nobody else is left to answer.
void arm_backstop(context& c, exchange& x, hub::deadline by, std::string fallback,
                  const std::optional<claimed_key>& key, std::weak_ptr<bool> backstopped,
                  std::function<void()> fired) {
  response r = json_response(200, std::move(fallback));
  r.extra_headers = degraded_header(metrics::degradation::unknown);
  auto kept = key ? std::optional<response>(r) : std::nullopt;
  x.backstop(by, std::move(r),
             [&c, backstopped, key, kept = std::move(kept), fired = std::move(fired)] {
               if (kept) keep(c, key, *kept, metrics::degradation::unknown);
               if (fired) fired();
               if (auto b = backstopped.lock()) *b = true;
               ++c.metrics.publish_backstops;
               ++c.metrics.publishes_answered;
               ++c.metrics.publishes_degraded[metrics::index(metrics::degradation::unknown)];
             });
}

// The envelope of publish `p` for `user`: its payload as the read left it
// (text from the one-pass read, or the DOM), with the publish's section 12
// options and its arrival time. `last`: p's type and payload may be moved.
std::shared_ptr<const protocol::envelope> envelope_for(
    protocol::publish_request& p, std::string user, bool last,
    std::chrono::system_clock::time_point now, std::chrono::steady_clock::time_point started) {
  std::string type = last ? std::move(p.type) : p.type;
  auto made = p.payload_json
                  ? protocol::make_envelope_from_json(std::move(type), std::move(user),
                                                      std::string_view(*p.payload_json), now)
                  : protocol::make_envelope(std::move(type), std::move(user),
                                            last ? std::move(p.payload) : p.payload, now);
  made.options = p.options;
  made.arrived = started;
  return std::make_shared<const protocol::envelope>(std::move(made));
}

// Runs `f` on c's thread: at once when called there (a user owned by this
// worker on one node: the shard answers inside the handler's own call),
// else posted.
template <class F>
void on_thread_of(context& c, F&& f) {
  if (c.ioc.get_executor().running_in_this_thread()) return f();
  boost::asio::post(c.ioc, std::forward<F>(f));
}

// A publish to one user, from its handler to its answer; touched on c's
// thread only.
struct one_user {
  std::shared_ptr<const protocol::envelope> env;
  exchange_ptr x;
  std::optional<claimed_key> key;
  std::chrono::steady_clock::time_point started;
  bool backstopped = false;  // answered by the backstop: the broker's answer is ignored
  // Section 14: the broker's answer came, so that a backstop that fires
  // while that answer waits for its event's safekeeping makes no second
  // `unacked`.
  bool broker_answered = false;
};

// A publish to many users (section 15, `userIds`) while its users' answers
// come in; touched on c's thread only.
struct many_users {
  std::vector<std::shared_ptr<const protocol::envelope>> envelopes;  // in userIds order
  ack::users_tally tally;  // its ids are views into `envelopes`
  exchange_ptr x;
  std::optional<claimed_key> key;
  std::chrono::steady_clock::time_point started;
  bool receipts;  // the answer lists each user's devices
  std::shared_ptr<bool> backstopped = std::make_shared<bool>(false);
  std::vector<bool> answered = std::vector<bool>(envelopes.size());  // by the broker
  std::size_t keeping = 0;  // webhook events whose safekeeping the answer waits for
  bool complete = false;    // every user's answer is in the tally
};

// Answers a many-users publish once every user's answer is in and every
// webhook event it made is kept.
void answer_many(context& c, many_users& s) {
  if (*s.backstopped || !s.complete || s.keeping) return;
  s.complete = false;  // once
  const auto& t = s.tally;
  answer_publish(c, s.x, s.key, s.started, protocol::serialize_users_answer(t.users(), s.receipts),
                 t.client_count(), t.dropped(), t.degraded());
}

// Section 15: one envelope per user (each with its own id and, from its
// user's shard or Redis, its own offset), handed to the broker one after
// the other in this one handler, and one answer once every user's delivery
// is answered. In cluster mode the publishes reach the broker thread as
// one run of posted handlers, so their script calls leave on each Redis
// link in one write or a few (resp_link writes what a turn of its thread
// queued, and what queues during a write goes in the next): one round trip
// per Redis shard, not per user, unless that thread keeps pace with this
// loop.
void deliver_many(context& c, protocol::publish_request p, exchange_ptr x,
                  std::chrono::steady_clock::time_point started, hub::deadline until,
                  std::optional<claimed_key> key) {
  auto now = std::chrono::system_clock::now();
  std::vector<std::shared_ptr<const protocol::envelope>> envelopes;
  std::vector<protocol::user_answer> users(p.user_ids.size());
  envelopes.reserve(p.user_ids.size());
  for (std::size_t i = 0; i < p.user_ids.size(); ++i) {
    bool last = i + 1 == p.user_ids.size();
    envelopes.push_back(envelope_for(p, std::move(p.user_ids[i]), last, now, started));
    users[i].user_id = envelopes.back()->user_id;
    users[i].envelope_id = envelopes.back()->id;
  }
  auto s = std::make_shared<many_users>(
      many_users{std::move(envelopes), ack::users_tally(std::move(users), c.cfg.max_results_bytes),
                 std::move(x), std::move(key), started, p.options.receipts});
  // The backstop answers every user with nothing, marked unknown (and
  // tells the webhook about the users whose answer had not come).
  std::function<void()> fired;
  if (p.options.webhook)
    fired = [&c, w = std::weak_ptr<many_users>(s)] {
      if (auto s = w.lock())
        for (std::size_t i = 0; i < s->envelopes.size(); ++i)
          if (!s->answered[i]) unacked_by_backstop(c, *s->envelopes[i]);
    };
  arm_backstop(c, *s->x, c.broker.answer_by(until) + backstop_grace,
               protocol::serialize_users_answer(s->tally.users(), s->receipts), s->key,
               s->backstopped, std::move(fired));
  for (std::size_t i = 0; i < s->envelopes.size(); ++i) {
    c.broker.publish(s->envelopes[i], until, [&c, s, i](hub::delivery_result r) mutable {
      on_thread_of(c, [&c, s = std::move(s), i, r = std::move(r)]() mutable {
        if (*s->backstopped) return;  // answered already; this one is ignored
        s->answered[i] = true;
        if (after_answer(c, *s->envelopes[i], r)) {
          ++s->keeping;
          send_unacked(c, *s->envelopes[i], r, [&c, s] {
            --s->keeping;
            answer_many(c, *s);
          });
        }
        if (!s->tally.add(i, std::move(r))) return;
        s->complete = true;
        answer_many(c, *s);
      });
    });
  }
}

// Delivers an accepted publish and answers it (steps 4-9 of
// docs/life-of-a-publish.md).
void deliver(context& c, protocol::publish_request p, exchange_ptr x,
             std::chrono::steady_clock::time_point started, std::optional<claimed_key> key) {
  auto wait = c.cfg.ack_timeout;
  if (p.ack_timeout_ms) wait = std::min(wait, std::chrono::milliseconds(*p.ack_timeout_ms));
  auto until = started + wait;
  if (!p.user_ids.empty())
    return deliver_many(c, std::move(p), std::move(x), started, until, std::move(key));
  auto s = std::make_shared<one_user>(one_user{
      envelope_for(p, std::move(p.user_id), true, std::chrono::system_clock::now(), started),
      std::move(x), std::move(key), started});

  // The backstop's answer: nobody, the same bytes for every publish.
  static const std::string nobody = protocol::serialize_publish_answer(0, {}, 0, nullptr);
  static const std::vector<protocol::receipt> no_receipts;
  static const std::string nobody_with_devices =
      protocol::serialize_publish_answer(0, {}, 0, &no_receipts);
  arm_backstop(c, *s->x, c.broker.answer_by(until) + backstop_grace,
               p.options.receipts ? nobody_with_devices : nobody, s->key,
               std::shared_ptr<bool>(s, &s->backstopped),
               s->env->options.webhook
                   ? std::function<void()>([&c, w = std::weak_ptr<one_user>(s), env = s->env] {
                       auto s = w.lock();
                       if (!s || !s->broker_answered) unacked_by_backstop(c, *env);
                     })
                   : std::function<void()>());

  // `done` runs on a thread of the broker's choosing; the counters are c's,
  // so the accounting is posted back to c's thread with the answer.
  c.broker.publish(s->env, until, [&c, s](hub::delivery_result r) mutable {
    on_thread_of(c, [&c, s = std::move(s), r = std::move(r)]() mutable {
      if (s->backstopped) return;  // answered already; this one is ignored
      s->broker_answered = true;
      auto answer = [&c](one_user& s, const hub::delivery_result& a) {
        answer_publish(
            c, s.x, s.key, s.started,
            protocol::serialize_publish_answer(a.client_count, a.results, a.dropped,
                                               s.env->options.receipts ? &a.receipts : nullptr),
            a.client_count, a.dropped, a.degraded);
      };
      if (!after_answer(c, *s->env, r)) return answer(*s, r);
      // The answer waits for the webhook event (section 14).
      auto held = std::make_shared<hub::delivery_result>(std::move(r));
      send_unacked(c, *s->env, *held, [s, held, answer] {
        if (!s->backstopped) answer(*s, *held);
      });
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
