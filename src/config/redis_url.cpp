#include "config/redis_url.hpp"

#include <charconv>
#include <optional>
#include <string_view>

namespace hf::config {
namespace {

std::optional<int> number_in(std::string_view digits, int min, int max) {
  int v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc{} || p != digits.data() + digits.size() || v < min ||
      v > max)
    return std::nullopt;
  return v;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;  // "%" needs two hex digits
    int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

}  // namespace

bool parse_redis_url(const std::string& url, redis_endpoint& out) {
  std::string_view u = url;
  if (!u.starts_with("redis://")) return false;
  u.remove_prefix(8);
  redis_endpoint r;
  if (std::size_t slash = u.find('/'); slash != std::string_view::npos) {
    std::string_view db = u.substr(slash + 1);
    if (!db.empty()) {
      auto n = number_in(db, 0, 65535);
      if (!n) return false;
      r.db = *n;
    }
    u = u.substr(0, slash);
  }
  if (std::size_t at = u.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = u.substr(0, at);
    u.remove_prefix(at + 1);
    std::size_t colon = userinfo.find(':');
    auto user = percent_decode(userinfo.substr(0, colon));
    auto password = colon == std::string_view::npos ? std::optional<std::string>(std::string{})
                                                    : percent_decode(userinfo.substr(colon + 1));
    if (!user || !password) return false;
    // redis://secret@host (no colon) is the common short form for a password.
    if (colon == std::string_view::npos) std::swap(*user, *password);
    r.user = std::move(*user);
    r.password = std::move(*password);
    if (!r.user.empty() && r.password.empty()) return false;  // a user needs a password
  }
  std::string_view host = u;
  if (std::size_t colon = u.rfind(':'); colon != std::string_view::npos) {
    auto port = number_in(u.substr(colon + 1), 1, 65535);
    if (!port) return false;
    r.port = *port;
    host = u.substr(0, colon);
  }
  if (host.empty()) return false;
  r.host = host;
  out = std::move(r);
  return true;
}

namespace {
// The entries of a comma-separated list, surrounding spaces dropped.
std::vector<std::string> entries(const std::string& list) {
  std::vector<std::string> out;
  std::size_t from = 0;
  for (;;) {
    std::size_t comma = list.find(',', from);
    std::string_view e = std::string_view(list).substr(from, comma - from);
    while (!e.empty() && e.front() == ' ') e.remove_prefix(1);
    while (!e.empty() && e.back() == ' ') e.remove_suffix(1);
    out.emplace_back(e);
    if (comma == std::string::npos) return out;
    from = comma + 1;
  }
}
}  // namespace

bool parse_cluster_nodes(const std::string& list, std::vector<redis_endpoint>& out) {
  std::vector<redis_endpoint> nodes;
  const redis_endpoint* login = nullptr;
  for (const auto& e : entries(list)) {
    redis_endpoint r;
    bool url = e.starts_with("redis://");
    if (!parse_redis_url(url ? e : "redis://" + e, r) || r.db != 0) return false;
    // A bare entry names its port: cluster nodes seldom listen on 6379 alone.
    if (!url && (e.find('/') != std::string::npos || e.find(':') == std::string::npos))
      return false;
    nodes.push_back(std::move(r));
  }
  for (const auto& n : nodes)
    if (!login && !n.password.empty()) login = &n;
  if (login) {
    auto user = login->user, password = login->password;
    for (auto& n : nodes) n.user = user, n.password = password;
  }
  out = std::move(nodes);
  return true;
}

std::string redact_cluster_nodes(const std::string& list) {
  std::string out;
  for (const auto& e : entries(list)) {
    if (!out.empty()) out += ",";
    out += redact_redis_url(e);
  }
  return out;
}

std::string redact_redis_url(const std::string& url) {
  std::string_view u = url;
  std::size_t start = u.find("://");
  std::size_t at = u.rfind('@');
  if (start == std::string_view::npos || at == std::string_view::npos || at < start) return url;
  std::size_t colon = u.find(':', start + 3);
  std::size_t secret_from = colon != std::string_view::npos && colon < at ? colon + 1 : start + 3;
  return std::string(u.substr(0, secret_from)) + "***" + std::string(u.substr(at));
}

}  // namespace hf::config
