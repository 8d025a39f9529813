// The embedded single-node broker: a publish goes straight to this node's hub,
// and every socket is found as soon as it is attached.
#pragma once

#include "broker/broker.hpp"
#include "hub/hub.hpp"

namespace hf::broker {

class local_broker final : public broker, public presence {
 public:
  local_broker(const hub::hub& h, std::chrono::milliseconds idempotency_ttl)
      : hub_(h), keys_(idempotency_ttl) {}

  // `done` runs on the shard thread that owns the user (hub::deliver).
  void publish(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
               hub::delivery_callback done) override;

  void roster(const std::string& user, roster_callback done) override;
  // Idempotency-Key records live in this process (one node).
  void claim_key(std::string key, std::string fingerprint, std::chrono::milliseconds hold,
                 std::function<void(key_claim)> done) override {
    done(keys_.claim(key, fingerprint, hold, std::chrono::steady_clock::now()));
  }
  void keep_answer(std::string key, protocol::idempotency_record answered) override {
    keys_.keep(key, std::move(answered), std::chrono::steady_clock::now());
  }

  bool socket_opening(const std::string&, std::function<void()>) override { return true; }
  void socket_closed(const std::string&) override {}

 private:
  const hub::hub& hub_;
  idempotency_memory keys_;
};

}  // namespace hf::broker
