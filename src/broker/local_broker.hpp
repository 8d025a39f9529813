// The embedded single-node broker: a publish goes straight to this node's hub,
// and every socket is found as soon as it is attached.
#pragma once

#include "broker/broker.hpp"
#include "hub/hub.hpp"

namespace hf::broker {

class local_broker final : public broker, public presence {
 public:
  explicit local_broker(const hub::hub& h) : hub_(h) {}

  // `done` runs on the shard thread that owns the user (hub::deliver).
  void publish(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
               hub::delivery_callback done) override;

  void roster(const std::string& user, roster_callback done) override;

  bool socket_opening(const std::string&, std::function<void()>) override { return true; }
  void socket_closed(const std::string&) override {}

 private:
  const hub::hub& hub_;
};

}  // namespace hf::broker
