// Where a cluster node finds Redis, and how it logs in: REDIS_URL parsed
// (validated with the other settings, used by the cluster broker). Pure.
#pragma once

#include <string>
#include <vector>

namespace hf::config {

struct redis_endpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user;      // ACL user (Redis 6+); empty: AUTH with the password only
  std::string password;  // empty: no AUTH
  int db = 0;            // SELECTed on the command link (pub/sub is the same in every db)
};

// Parses redis://[[user]:password@]host[:port][/db]: user and password
// percent-decoded, port 1-65535, db 0-65535. False for anything else (other
// schemes such as rediss:// included: TLS to Redis is not supported).
bool parse_redis_url(const std::string& url, redis_endpoint& out);

// The URL with its password replaced by "***", for logs and --check-config.
std::string redact_redis_url(const std::string& url);

// REDIS_CLUSTER_NODES: the seed nodes of a Redis Cluster, comma-separated,
// each "host:port" (the port is required) or a redis://[[user]:password@]host[:port] URL (no db: a
// cluster has only db 0). The first entry that carries credentials gives
// them to every node. False for an empty list or any bad entry.
bool parse_cluster_nodes(const std::string& list, std::vector<redis_endpoint>& out);
// The list with every password masked.
std::string redact_cluster_nodes(const std::string& list);

}  // namespace hf::config
