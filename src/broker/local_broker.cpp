#include "broker/local_broker.hpp"

namespace hf::broker {

void local_broker::publish(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
                           hub::delivery_callback done) {
  hub_.deliver(std::move(env), until, std::move(done));
}

void local_broker::roster(const std::string& user, roster_callback done) {
  hub_.roster(user, [done = std::move(done)](std::vector<protocol::roster_entry> r) {
    done(std::move(r), std::nullopt);
  });
}

}  // namespace hf::broker
