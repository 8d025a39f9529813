// The embedded single-node broker: a publish goes straight to this node's hub.
#pragma once

#include "broker/broker.hpp"
#include "hub/hub.hpp"

namespace hf::broker {

class local_broker final : public broker {
 public:
  explicit local_broker(const hub::hub& h) : hub_(h) {}
  void publish(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
               hub::delivery_callback done) override;

 private:
  const hub::hub& hub_;
};

}  // namespace hf::broker
