#include "net/http_target.hpp"

#include <boost/url/parse.hpp>
#include <stdexcept>

#include "core/text.hpp"

namespace hf::net {

http_target parse_http_url(std::string_view setting, const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->encoded_host().empty())
    throw std::runtime_error(std::string(setting) + ": not an http:// or https:// URL: '" +
                             core::without_userinfo(url) + "'");
  // Nothing would send them (a JWKS is public; a webhook is signed), and
  // they would be logged.
  if (u->has_userinfo())
    throw std::runtime_error(std::string(setting) +
                             ": must not carry credentials (user:password@): '" +
                             core::without_userinfo(url) + "'");
  http_target t;
  t.https = u->scheme() == "https";
  t.ip_literal = u->host_type() == boost::urls::host_type::ipv4 ||
                 u->host_type() == boost::urls::host_type::ipv6;
  // What to resolve and to check the certificate against: the address
  // without its brackets for an IPv6 literal, the decoded name otherwise.
  t.host = u->host_address();
  std::string default_port = t.https ? "443" : "80";
  t.port = u->has_port() && !u->port().empty() ? std::string(u->port()) : default_port;
  // RFC 9110 section 7.2: the URL's host as written (an IPv6 literal in
  // brackets), with the port unless it is the scheme's default.
  t.host_header = std::string(u->encoded_host());
  if (t.port != default_port) t.host_header += ":" + t.port;
  t.target = u->encoded_target().empty() ? "/" : std::string(u->encoded_target());
  t.display = url;
  return t;
}

}  // namespace hf::net
