#include "http/response.hpp"

#include <array>

#include "protocol/publish_request.hpp"

namespace hf::http {

std::string_view reason_phrase(unsigned status) noexcept {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 302:
      return "Found";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

response text_response(unsigned status, std::string_view body, bool keep_alive) {
  return {status, body_kind::text, std::string(body), keep_alive, {}};
}

response json_response(unsigned status, std::string body, bool keep_alive) {
  return {status, body_kind::json, std::move(body), keep_alive, {}};
}

response json_error(unsigned status, std::string_view message, bool keep_alive) {
  return json_response(status, protocol::serialize_error(message), keep_alive);
}

std::string_view degraded_header(protocol::degradation d) noexcept {
  static const auto lines = [] {
    std::array<std::string, protocol::degraded_values.size()> h;
    for (std::size_t i = 0; i < h.size(); ++i)
      h[i] = "hopeflow-degraded: " + std::string(protocol::degraded_values[i]) + "\r\n";
    return h;
  }();
  return lines[static_cast<std::size_t>(d)];
}

std::string_view replayed_header(std::optional<protocol::degradation> d) noexcept {
  static const auto lines = [] {
    std::array<std::string, protocol::degraded_values.size() + 1> h;
    h[0] = "idempotent-replayed: true\r\n";
    for (std::size_t i = 0; i < protocol::degraded_values.size(); ++i)
      h[i + 1] = h[0] + "hopeflow-degraded: " + std::string(protocol::degraded_values[i]) + "\r\n";
    return h;
  }();
  return lines[d ? static_cast<std::size_t>(*d) + 1 : 0];
}

std::string serialize(const response& r, bool http10, int idle_seconds) {
  std::string out;
  serialize_to(out, r, http10, idle_seconds);
  return out;
}

void serialize_to(std::string& out, const response& r, bool http10, int idle_seconds) {
  static constexpr std::string_view cors =
      "access-control-allow-origin: *\r\n"
      "access-control-allow-headers: authorization,content-type\r\n"
      "access-control-allow-methods: POST,OPTIONS\r\n"
      "content-type: application/json; charset=utf-8\r\n";
  // The roster (section 13): the same, with GET.
  static constexpr std::string_view cors_get =
      "access-control-allow-origin: *\r\n"
      "access-control-allow-headers: authorization,content-type\r\n"
      "access-control-allow-methods: GET,OPTIONS\r\n"
      "content-type: application/json; charset=utf-8\r\n";
  std::string_view body = r.body;
  out.reserve(out.size() + 512 + body.size());
  out.append("HTTP/1.1 ");
  out.append(std::to_string(r.status));
  out.push_back(' ');
  out.append(reason_phrase(r.status));
  out.append("\r\n");
  switch (r.kind) {
    case body_kind::json:
      out.append(cors);
      break;
    case body_kind::roster_json:
      out.append(cors_get);
      break;
    case body_kind::roster_preflight:
      out.append(cors_get);
      out.append("access-control-max-age: 86400\r\n");
      body = {};
      break;
    case body_kind::text:
      out.append("content-type: text/plain;charset=UTF-8\r\n");
      break;
    case body_kind::metrics:
      out.append("content-type: text/plain; version=0.0.4; charset=utf-8\r\n");
      break;
    case body_kind::html:
      out.append("content-type: text/html; charset=utf-8\r\n");
      break;
    case body_kind::javascript:
      out.append("content-type: text/javascript; charset=utf-8\r\n");
      break;
    case body_kind::cors_preflight:
      out.append(cors);
      out.append("access-control-max-age: 86400\r\n");
      body = {};
      break;
  }
  out.append(r.extra_headers);
  if (!r.keep_alive)
    out.append("connection: close\r\n");
  else if (http10)
    out.append("connection: keep-alive\r\n");
  if (r.keep_alive && idle_seconds >= 0) {
    out.append("keep-alive: timeout=");
    out.append(std::to_string(idle_seconds));
    out.append("\r\n");
  }
  if (r.kind != body_kind::cors_preflight && r.kind != body_kind::roster_preflight) {
    out.append("content-length: ");
    out.append(std::to_string(body.size()));
    out.append("\r\n");
  }
  out.append("\r\n");
  if (!r.head) out.append(body);
}

}  // namespace hf::http
