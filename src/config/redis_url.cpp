#include "config/redis_url.hpp"

#include <charconv>
#include <string_view>

namespace hf::config {

bool parse_redis_url(const std::string& url, redis_endpoint& out) {
  std::string_view u = url;
  if (!u.starts_with("redis://")) return false;
  u.remove_prefix(8);
  u = u.substr(0, u.find('/'));
  if (auto at = u.rfind('@'); at != std::string_view::npos) u.remove_prefix(at + 1);
  std::size_t colon = u.rfind(':');
  std::string_view host = u.substr(0, colon);
  int port = 6379;
  if (colon != std::string_view::npos) {
    std::string_view digits = u.substr(colon + 1);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc{} || p != digits.data() + digits.size()) return false;
  }
  if (host.empty() || port <= 0 || port > 65535) return false;
  out.host = host;
  out.port = port;
  return true;
}

}  // namespace hf::config
