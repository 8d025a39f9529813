// Section 14 in cluster mode: the webhook outbox in Redis
// (broker/webhook_store.hpp says what is kept and how). Part of the cluster
// broker: its functions may be called from any thread and post to the
// broker's thread; their callbacks run there.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <string>

#include "broker/redis_backend.hpp"
#include "broker/webhook_outbox.hpp"

namespace hf::broker {

class webhook_redis final : public webhook_outbox {
 public:
  // `usable`: whether Redis may be asked now (broker thread).
  webhook_redis(boost::asio::io_context& ioc, redis_backend& redis, std::string consumer,
                std::function<bool()> usable);

  void keep(const stored_event& e,
            std::function<void(std::string, std::vector<stored_event>)> kept) override;
  void forget(std::vector<std::string> refs) override;
  void hold(std::vector<std::string> refs,
            std::function<void(std::optional<std::vector<std::string>>)> held) override;
  void adopt(std::function<void(std::vector<stored_event>)> done) override;

 private:
  boost::asio::io_context& ioc_;
  redis_backend& redis_;
  const std::string consumer_;
  std::function<bool()> usable_;
  std::string cursor_ = "0-0";  // XAUTOCLAIM's, across adopt() calls (broker thread)
};

}  // namespace hf::broker
