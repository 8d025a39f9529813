#include "broker/local_broker.hpp"

namespace hf::broker {

void local_broker::publish(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
                           hub::delivery_callback done) {
  hub_.deliver(std::move(env), until, std::move(done));
}

}  // namespace hf::broker
