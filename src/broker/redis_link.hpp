// One hiredis async connection driven by an Asio io_context, through
// hiredis's addRead/delRead/addWrite/delWrite/cleanup hooks (the template is
// h2o's lib/common/redis.c). Everything here runs on that io_context's
// thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

struct redisAsyncContext;
struct redisReply;

namespace hf::broker {

class redis_link {
 public:
  // A reply (nullptr when the connection went away before it came).
  using reply_fn = std::function<void(redisReply*)>;

  redis_link(boost::asio::io_context& ioc, std::string host, int port);
  ~redis_link();
  redis_link(const redis_link&) = delete;
  redis_link& operator=(const redis_link&) = delete;

  // Starts connecting. `on_up` runs once connected; `on_down` once the
  // connection fails or drops (then this link is dead: make a new one).
  void connect(std::function<void()> on_up, std::function<void(std::string)> on_down);

  // Sends one command (argv); `done` runs once with its reply. An empty
  // `done` sends without a callback (UNSUBSCRIBE, whose replies hiredis routes
  // to the channel's SUBSCRIBE handler). Returns false when not connected.
  bool command(const std::vector<std::string>& argv, reply_fn done);

  // Like command(), but `handler` is owned by the caller and must outlive the
  // link: for SUBSCRIBE, whose callback hiredis keeps per channel and may
  // replace or drop at any time.
  bool command_with(const std::vector<std::string>& argv, reply_fn* handler);

 private:
  struct events;
  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_persistent_reply(redisAsyncContext* ac, void* reply, void* privdata);

  boost::asio::io_context& ioc_;
  std::string host_;
  int port_;
  redisAsyncContext* ac_ = nullptr;
  bool up_ = false;
  std::function<void()> on_up_;
  std::function<void(std::string)> on_down_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hf::broker
