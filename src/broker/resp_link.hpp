// One connection to one Redis node, speaking RESP2 over an Asio socket:
// commands are written by our own formatter (a RESP array of bulk strings),
// replies read by hiredis's reply reader (bounded: broker/resp_reader.hpp).
// The only Redis transport: both backends use it, one Redis
// (broker/redis_single.hpp) and a Redis Cluster (broker/redis_cluster.hpp).
// Unlike hiredis's async context (whose 0.14 version aborts on a sharded
// pub/sub message it did not expect), it carries commands and classic or
// sharded subscriptions alike:
// - command(): one reply per command, in order, to its callback;
// - subscription(): SUBSCRIBE / UNSUBSCRIBE or SSUBSCRIBE / SUNSUBSCRIBE of
//   one channel; their confirmations ("subscribe", "unsubscribe",
//   "ssubscribe", "sunsubscribe"), every "message" and "smessage", and the
//   "sunsubscribe" Redis sends by itself when a slot moves go to the link's
//   push handler, as do refusals ("error").
//
// Log-in: once connected, AUTH (when there is a password), SELECT (when the
// db is not 0) and PING go first, ahead of whatever was queued; the link is
// up once Redis has answered the PING (a node that accepts connections but
// does not answer, paused or overloaded, is not taken for a working one). A
// refused AUTH or SELECT fails the link with Redis's reason ("AUTH refused:
// WRONGPASS ...", "SELECT refused: ...").
//
// Watchdog: a node that stops answering without closing (frozen, or cut off
// without a reset) is noticed. A link that has read nothing for a second
// sends PING; a link that is owed a reply and has read nothing for 3 s
// (counted from the later of its last read and the request that made it
// owed) fails with "no answer from Redis for 3 s". So a freeze is noticed
// 3 to 4 s after it begins.
//
// When the link fails (or close() is called), every callback still waiting
// gets nullptr, once, then `down` runs, once, and the link is dead: make a
// new one. No callback runs after that. Everything runs on the
// io_context's thread; nothing here throws on the command path.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/cluster_slots.hpp"

struct redisReader;
struct redisReply;

namespace hf::broker {

struct redis_credentials {
  std::string user;      // ACL user; empty: AUTH with the password only
  std::string password;  // empty: no AUTH
  int db = 0;            // SELECTed at log-in when not 0 (a Redis Cluster has only db 0)
};

class resp_link : public std::enable_shared_from_this<resp_link> {
 public:
  using reply_fn = std::function<void(redisReply*)>;
  // A subscription event: kind is "subscribe", "unsubscribe", "message",
  // "ssubscribe", "sunsubscribe" or "smessage" (payload: the message), or
  // "error" (payload: the error text, channel: the subscription it refused).
  // `requested` is false for a confirmation Redis sent without being asked
  // (a "sunsubscribe" because the channel's slot moved).
  using push_fn = std::function<void(std::string_view kind, std::string_view channel,
                                     std::string_view payload, bool requested)>;

  // `push`: only a subscriber link has one; on a link without it every
  // reply answers the command at the front.
  static std::shared_ptr<resp_link> make(boost::asio::io_context& ioc, slots::endpoint at,
                                         redis_credentials login, push_fn push = {});
  ~resp_link();
  resp_link(const resp_link&) = delete;
  resp_link& operator=(const resp_link&) = delete;

  // Starts connecting: `up` once connected and logged in; `down(why)` once,
  // when connecting, logging in or the connection fails.
  void connect(std::function<void()> up, std::function<void(std::string)> down);
  void close();

  // Queues one command; `done` (may be empty) gets its reply, or nullptr
  // when the link fails first (at once when it is dead already).
  void command(const std::vector<std::string>& argv, reply_fn done);
  // "SUBSCRIBE", "UNSUBSCRIBE", "SSUBSCRIBE" or "SUNSUBSCRIBE" of one
  // channel (any other verb is not sent).
  void subscription(std::string_view verb, const std::string& channel);

  bool up() const noexcept { return up_; }
  bool dead() const noexcept { return dead_; }
  const slots::endpoint& where() const noexcept { return at_; }

 private:
  using clock = std::chrono::steady_clock;
  resp_link(boost::asio::io_context& ioc, slots::endpoint at, redis_credentials login,
            push_fn push);
  struct pending {
    reply_fn fn;                // a command's callback (may be empty)
    std::string_view sub_kind;  // or a subscription's expected confirmation (a literal)
    std::string channel;
  };
  void queue(const std::vector<std::string>& argv, pending p);
  void flush();  // has write() run once the current handlers are done
  void write();
  void read();
  void dispatch(redisReply* r);
  void fail(const std::string& why);
  void watch();
  void handshake();

  boost::asio::ip::tcp::socket socket_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer watchdog_;
  clock::time_point last_read_;   // the last bytes read (or the connection made)
  clock::time_point owed_since_;  // when waiting_ last became non-empty
  slots::endpoint at_;
  redis_credentials login_;
  push_fn push_;
  std::function<void()> up_fn_;
  std::function<void(std::string)> down_fn_;
  redisReader* reader_ = nullptr;
  std::deque<pending> waiting_;  // sent (or queued), reply not yet read, in order
  std::string unsent_;           // formatted commands not yet handed to the socket
  std::string writing_;          // the bytes of the write in flight
  bool connected_ = false, up_ = false, dead_ = false, write_posted_ = false;
  // One read's worth: a reply larger than this is fed to the reader in parts.
  char buf_[16 * 1024];
};

}  // namespace hf::broker
