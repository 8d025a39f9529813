// One shard of the hub: the users whose hash falls on it, their sockets,
// filters and pending publishes. A shard lives on one worker thread (its
// io_context) and is touched only there, so none of this needs a lock: the
// native analogue of the original's one Durable Object per user.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ack/late_acks.hpp"
#include "ack/result_list.hpp"
#include "auth/jwt.hpp"
#include "hub/connection.hpp"
#include "hub/delivery.hpp"
#include "hub/stream_source.hpp"
#include "metrics/metrics.hpp"
#include "protocol/envelope.hpp"
#include "protocol/webhook.hpp"
#include "recovery/history.hpp"

namespace boost::asio {
class io_context;
}

namespace hf::protocol {
struct recover_message;
struct refresh_message;
}  // namespace hf::protocol

namespace hf::hub {

struct shard_limits {
  std::size_t max_filters_per_socket = 10000;
  ack::result_limits results;        // per ack and per publish answer
  recovery::history_limits history;  // this shard's share (max_bytes) of the node's
  // TOKEN_EXPIRY=close: sockets are closed with 4001 when their token's exp
  // passes (sweep_expired); ignore (the original): exp counts at the upgrade only.
  bool close_expired = false;
  // MAX_FILTERS_PER_USER: the filters of one user across all of its sockets
  // here (a user lives on one shard, so: on the node). Bounds the matching
  // work of one publish to the user however many sockets it holds.
  std::size_t max_filters_per_user = 10000;
  // MAX_QUEUED_BYTES: what a socket may have held for it while its stream is
  // read (live envelopes and its own messages together; they are queued to
  // the same socket afterwards). Over it, the socket is a slow consumer.
  std::size_t max_held_bytes = 4 << 20;
};

// Verifies a token for a `refresh` on this shard's thread (the worker's token
// cache).
using token_check = std::function<result<auth::principal>(std::string_view token)>;

struct shard_stats {
  std::size_t users = 0;
  std::size_t connections = 0;
  std::size_t pending_publishes = 0;
};

struct pending_publish;

// Section 14: where this shard's late acks go (the webhook sender). Called
// on the shard's thread; must not block.
using late_ack_sink = std::function<void(protocol::late_ack)>;

class shard {
 public:
  // `counters`, when given, is incremented on this shard's thread
  // (deliveries, acks, deadlines); it must outlive the shard.
  shard(boost::asio::io_context& ioc, shard_limits limits, metrics::counters* counters = nullptr);
  ~shard();
  shard(const shard&) = delete;
  shard& operator=(const shard&) = delete;

  boost::asio::io_context& context() noexcept { return ioc_; }
  void use_counters(metrics::counters* c) noexcept { counters_ = c; }
  // How `refresh` messages are verified. Call before the shard runs.
  void use_token_check(token_check check) { check_token_ = std::move(check); }
  // Cluster mode: users' streams live in `source` (Redis), which numbers the
  // envelopes; this shard's own history numbers only what it delivers while
  // the source is unreachable. Call before the shard runs.
  void use_stream_source(stream_source* source) noexcept { source_ = source; }
  // Section 14 (WEBHOOK_URL set): acks that come after the answer of a
  // publish with `"webhook": true`, within `window` of its arrival
  // (LATE_ACK_MS), go to `sink`. Call before the shard runs.
  void use_late_acks(std::chrono::milliseconds window, late_ack_sink sink) {
    late_window_ = window;
    late_sink_ = std::move(sink);
  }

  // --- everything below: only on this shard's thread ---

  // Registers an accepted, authenticated socket of `user_id`, whose token
  // expires at `expires_at` (seconds since the epoch; INT64_MAX: never),
  // naming `device` (section 11; empty: none). Another open socket of the
  // user here with that device is closed with 4002 (replaced), and stops
  // being a target at once. Returns the socket's opening time (ms since the
  // Unix epoch), by which other nodes' sockets of the device are replaced.
  std::int64_t attach(connection& c, std::string_view user_id, std::int64_t expires_at = INT64_MAX,
                      std::string_view device = {});

  // Section 11 across nodes: a socket of `user_id` naming `device` opened
  // elsewhere at `since_ms`. This shard's socket of that device closes with
  // 4002 when it is older (opened before, or at the same ms when
  // `close_if_same_ms`: the tie is broken by the nodes' names).
  void replace_device(std::string_view user_id, std::string_view device, std::int64_t since_ms,
                      bool close_if_same_ms);

  // Section 12 across nodes: the publish of `envelope_id` was answered by
  // its origin; if it still waits here, it ends now (its named targets that
  // did not ack get `cancel` when it asked for it).
  void end_publish(std::string_view user_id, std::string_view envelope_id);

  // Section 13: every open socket of `user_id` here.
  std::vector<protocol::roster_entry> roster(std::string_view user_id) const;

  // A socket begins to close (its close handshake is under way): it stops
  // being a target as detach makes it (its filters and recovery state go,
  // every pending publish stops waiting for it, its messages are ignored),
  // but it still counts in sockets_of and stats().connections until detach,
  // so that MAX_SOCKETS_PER_USER and hopeflow_websockets see every socket
  // whose file descriptor is open. Idempotent; nothing when not attached.
  void retire(connection& c);

  // Unregisters a socket (its file descriptor is closed, or it failed): as
  // retire, and it stops counting. Idempotent.
  void detach(connection& c);

  // Handles one text frame from `c`, in arrival order: ping, subscribe,
  // unsubscribe, ack, recover; anything else is ignored.
  void on_text(connection& c, std::string_view text);

  // Sends `env` to every socket of env->user_id with a matching filter and
  // calls `done` once, on this thread, when all of them have acked or gone, or
  // at `until`, whichever is first; at once when nothing matched or when
  // `until` is not in the future (fire-and-forget). A socket counts as a
  // target (in client_count) only when it accepted the frame (send_status
  // sent or queued).
  // With env->options (section 12): `until` ends the wait once that many
  // targets acked; receipts come back in the result; `progress`, when
  // given (a cluster node, for a publish with `until`), hears each ack.
  void deliver(std::shared_ptr<const protocol::envelope> env, deadline until,
               delivery_callback done, ack_progress progress = {});

  // Shutdown, first step: answers every pending publish with what it has,
  // and answers later deliveries with no targets.
  void stop_publishes();

  // Shutdown, second step (in batches): closes up to `count` sockets not yet
  // asked to close, for `why`. Returns how many are still open and not asked.
  std::size_t close_some(std::size_t count, metrics::close_reason why);

  // Both steps at once: every pending publish answered, every socket closed.
  void shutdown();

  // Runs connection::heartbeat on every socket of this shard and aborts the
  // dead ones (each stops being waited for by pending publishes at once).
  // Returns how many were dead. Also forgets late-ack watches whose window
  // ended.
  std::size_t sweep_heartbeats();

  // TOKEN_EXPIRY=close: closes (4001 token expired) every socket whose token
  // expired by `now` (seconds since the epoch). Returns how many. The shard
  // keeps its sockets ordered by expiry, so a sweep costs only the expired
  // ones: no timer per socket.
  std::size_t sweep_expired(std::int64_t now);

  // How many sockets `user_id` holds on this shard.
  std::size_t sockets_of(std::string_view user_id) const;
  // The user `c` is attached as (or retired from): the shard's own copy of
  // the id, so a socket need not keep one. Empty once detached.
  static const std::string& user_of(const connection& c) noexcept;

  shard_stats stats() const noexcept;

  // Live envelopes held for a socket while its stream is read (one Redis
  // round trip), and its own messages meanwhile, each: a socket that would
  // need more is closed as a slow consumer. Their bytes together are bounded
  // by shard_limits::max_held_bytes as well.
  static constexpr std::size_t max_held_while_reading = 1024;
  // Refreshes one socket may send per minute: a client refreshes once per
  // token lifetime (minutes); more is a bug or abuse, and each refresh costs
  // a signature check on a cache miss.
  static constexpr std::uint8_t max_refreshes_per_minute = 5;

 private:
  void on_ack(connection& c, std::string_view envelope_id, std::string result_json);
  static std::function<std::string()> epoch_names();
  void on_recover(connection& c, const protocol::recover_message& m);
  stream_view local_view(const std::string& user, const std::optional<stream_position>& after);
  void finish_recover(connection& c, const std::optional<stream_position>& after, stream_view v);
  send_status send_numbered(connection& c, const numbered& n, const shared_text& text);
  connection* find(const std::string& user, std::uint64_t id) const;
  void subscribe(connection& c, std::vector<protocol::filter> filters);
  void filters_refused(connection& c, std::size_t refused, bool per_user);
  bool hold(connection& c, std::size_t bytes);
  void stop_targeting(user_state& u, connection& c, std::size_t slot);
  void on_refresh(connection& c, const protocol::refresh_message& m);
  void refresh_failed(connection& c, metrics::refresh_failure why);
  // Answers the publish of `envelope_id` for `why`; with `cancel`, its named
  // targets that did not ack get the cancel frame (shard_devices.cpp).
  void finish(user_state& u, std::string_view envelope_id,
              metrics::completion why = metrics::completion::all_done);
  void send_cancels(user_state& u, const pending_publish& p, std::string_view envelope_id);
  // Closes (4002) u's sockets naming `device` that opened before
  // `before_ms` (INT64_MAX: all of them), or at it when `same_ms_too`.
  void replace_here(user_state& u, std::string_view device, std::int64_t before_ms,
                    bool same_ms_too = false);
  void erase_if_idle(user_state& u);
  // Section 14 (shard_late_acks.cpp): an answered webhook publish's targets
  // that did not ack are watched for LATE_ACK_MS; an ack from one of them
  // is a late_ack.
  void watch_late_acks(const pending_publish& p, const std::string& user,
                       std::string_view envelope_id);
  void on_late_ack(connection& c, std::string_view envelope_id, std::string& result_json);

  boost::asio::io_context& ioc_;
  shard_limits limits_;
  metrics::counters* counters_;
  // Keyed by a view of the user_state's own id (one copy of each user id).
  std::unordered_map<std::string_view, std::unique_ptr<user_state>> users_;
  recovery::history history_;        // offsets and recent envelopes of this shard's users
  stream_source* source_ = nullptr;  // cluster mode: the shared streams
  token_check check_token_;
  // TOKEN_EXPIRY=close: the sockets with an expiry, soonest first.
  std::set<std::pair<std::int64_t, connection*>> expiries_;
  // Section 14: acks that may still come after an answer (WEBHOOK_URL set).
  ack::late_acks late_;
  late_ack_sink late_sink_;
  std::chrono::milliseconds late_window_{60'000};
  std::uint64_t next_connection_id_ = 1;
  std::size_t connections_ = 0;
  std::size_t pending_ = 0;
  bool stopping_ = false;
  // deliver()'s list of targets, reused from one publish to the next (its
  // capacity is at most one user's sockets here).
  std::vector<std::uint64_t> targets_scratch_;
};

}  // namespace hf::hub
