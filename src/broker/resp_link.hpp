// One connection to one Redis node, speaking RESP2 through hiredis's reply
// reader and command formatter over an Asio socket: the cluster broker's
// link (broker/redis_cluster.hpp). Unlike hiredis's async context (whose
// 0.14 version aborts on a sharded pub/sub message it did not expect), it
// carries commands and sharded subscriptions alike:
// - command(): one reply per command, in order, to its callback;
// - subscription(): SSUBSCRIBE / SUNSUBSCRIBE; their confirmations, every
//   "smessage", and the "sunsubscribe" Redis sends by itself when a slot
//   moves go to the link's push handler.
// Commands given before the link is up are queued and sent once it is
// connected, logged in (AUTH) and has answered a PING. A node that stops answering without
// closing (frozen, or cut off without a reset) is noticed: a link idle for a
// second sends PING, and a link with a reply outstanding for 3 s fails. When the link fails (or
// close() is called), every callback still waiting gets nullptr, once, and the link is dead: make a
// new one. Everything runs on the io_context's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
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
};

class resp_link : public std::enable_shared_from_this<resp_link> {
 public:
  using reply_fn = std::function<void(redisReply*)>;
  // A subscription event: kind is "ssubscribe", "sunsubscribe" or "smessage"
  // (payload: the message), or "error" (payload: the error text, channel:
  // the subscription it refused). `requested` is false for a "sunsubscribe"
  // Redis sent without being asked (the channel's slot moved).
  using push_fn = std::function<void(std::string_view kind, std::string_view channel,
                                     std::string_view payload, bool requested)>;

  static std::shared_ptr<resp_link> make(boost::asio::io_context& ioc, slots::endpoint at,
                                         redis_credentials login, push_fn push = {});
  ~resp_link();
  resp_link(const resp_link&) = delete;
  resp_link& operator=(const resp_link&) = delete;

  // Starts connecting: `up` once connected and logged in; `down(why)` once,
  // when connecting, logging in or the connection fails.
  void connect(std::function<void()> up, std::function<void(std::string)> down);
  void close();

  void command(const std::vector<std::string>& argv, reply_fn done);
  // "SSUBSCRIBE"/"SUNSUBSCRIBE" of one channel.
  void subscription(std::string_view verb, const std::string& channel);

  bool up() const noexcept { return up_; }
  bool dead() const noexcept { return dead_; }
  const slots::endpoint& where() const noexcept { return at_; }

 private:
  resp_link(boost::asio::io_context& ioc, slots::endpoint at, redis_credentials login,
            push_fn push);
  struct pending {
    reply_fn fn;           // a command's callback (may be empty)
    std::string sub_kind;  // or a subscription's expected confirmation ("ssubscribe", ...)
    std::string channel;
  };
  void queue(const std::vector<std::string>& argv, pending p);
  void flush();
  void read();
  void dispatch(redisReply* r);
  void fail(const std::string& why);
  void watch();
  void handshake();

  boost::asio::ip::tcp::socket socket_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer watchdog_;
  std::chrono::steady_clock::time_point last_read_;
  slots::endpoint at_;
  redis_credentials login_;
  push_fn push_;
  std::function<void()> up_fn_;
  std::function<void(std::string)> down_fn_;
  redisReader* reader_ = nullptr;
  std::deque<pending> waiting_;  // sent (or queued), reply not yet read, in order
  std::string unsent_;           // formatted commands not yet handed to the socket
  std::string writing_;          // the bytes of the write in flight
  bool connected_ = false, up_ = false, dead_ = false;
  char buf_[16 * 1024];
};

}  // namespace hf::broker
