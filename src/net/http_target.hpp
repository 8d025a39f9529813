// Where an outgoing HTTP request goes (JWKS_URL, WEBHOOK_URL): the URL as the
// clients in net/ use it. Pure.
#pragma once

#include <string>
#include <string_view>

namespace hf::net {

struct http_target {
  bool https = false;
  bool ip_literal = false;  // an IPv4 or IPv6 address, not a name (no SNI)
  std::string host;         // to resolve: a name, or an address (IPv6 without brackets)
  std::string port;         // the URL's, else 80 / 443
  std::string host_header;  // the URL's host as written ("[::1]" for IPv6), ":port" unless default
  std::string target;       // path and query, "/" when empty
  std::string display;      // the URL for logs
};

// Throws std::runtime_error (one line naming `setting`, never echoing
// credentials) for anything but an http:// or https:// URL with a host and
// no userinfo.
http_target parse_http_url(std::string_view setting, const std::string& url);

}  // namespace hf::net
