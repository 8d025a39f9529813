// The bytes of every HTTP answer the server gives, built directly (no
// general-purpose serializer on the publish path). Pure.
#pragma once

#include <string>
#include <string_view>

namespace hf::protocol {

enum class response_body {
  json,            // /publish answers: CORS headers + application/json; charset=utf-8
  text,            // text/plain;charset=UTF-8, like a Worker's new Response("...")
  cors_preflight,  // 204 to OPTIONS /publish: CORS headers, max-age, no body
  metrics          // Prometheus text exposition format 0.0.4
};

// A complete HTTP/1.1 response. `keep_alive` false adds "connection: close";
// for an HTTP/1.0 request (`http10`) true adds "connection: keep-alive".
// `extra_headers` are complete "name: value\r\n" lines.
std::string http_response(unsigned status, response_body kind, std::string_view body,
                          bool keep_alive, bool http10 = false,
                          std::string_view extra_headers = {});

std::string_view reason_phrase(unsigned status) noexcept;

}  // namespace hf::protocol
