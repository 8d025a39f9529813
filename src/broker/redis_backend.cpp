#include "broker/redis_backend.hpp"

#include "broker/redis_cluster.hpp"
#include "broker/redis_single.hpp"

namespace hf::broker {

std::unique_ptr<redis_backend> make_redis_backend(
    boost::asio::io_context& ioc, const config::redis_endpoint& where,
    const std::vector<config::redis_endpoint>& cluster_nodes, redis_backend::handlers on) {
  if (cluster_nodes.empty()) return std::make_unique<redis_single>(ioc, where, std::move(on));
  std::vector<slots::endpoint> seeds;
  for (const auto& n : cluster_nodes) seeds.push_back({n.host, n.port});
  // Every node of a Redis Cluster takes the same credentials (the first
  // seed's).
  redis_credentials login{cluster_nodes.front().user, cluster_nodes.front().password};
  return std::make_unique<redis_cluster>(ioc, std::move(seeds), std::move(login), std::move(on));
}

}  // namespace hf::broker
