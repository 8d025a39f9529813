// One Redis (REDIS_URL) as the cluster broker's backend: a command link and a
// subscriber link (broker/redis_connection.hpp), classic PUBLISH/SUBSCRIBE.
#pragma once

#include "broker/redis_backend.hpp"
#include "broker/redis_connection.hpp"

namespace hf::broker {

class redis_single final : public redis_backend {
 public:
  redis_single(boost::asio::io_context& ioc, config::redis_endpoint where, handlers h);

  void start() override { conn_.start(); }
  void stop() override { conn_.stop(); }
  bool up() const noexcept override { return conn_.is_up(); }
  bool sharded() const noexcept override { return false; }
  using redis_backend::command;
  bool command(argv_ptr argv, std::string_view key, reply_fn done) override;
  void subscribe(const std::string& channel) override;
  void unsubscribe(const std::string& channel) override;
  std::string describe() const override;

 private:
  void on_subscription(redisReply* r);
  handlers h_;
  redis_connection conn_;
  redis_link::reply_fn on_sub_;  // hiredis keeps a pointer to it per channel
};

}  // namespace hf::broker
