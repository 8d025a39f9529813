#include "http/response.hpp"

#include <gtest/gtest.h>

#include "ws/handshake.hpp"

using namespace hf::http;

TEST(HttpResponse, JsonAnswerCarriesCorsAndLength) {
  EXPECT_EQ(serialize(json_response(200, R"({"a":1})")),
            "HTTP/1.1 200 OK\r\n"
            "access-control-allow-origin: *\r\n"
            "access-control-allow-headers: authorization,content-type\r\n"
            "access-control-allow-methods: POST,OPTIONS\r\n"
            "content-type: application/json; charset=utf-8\r\n"
            "content-length: 7\r\n\r\n{\"a\":1}");
  EXPECT_EQ(json_error(401, "Unauthorized").body, R"({"error":"Unauthorized"})");
}

TEST(HttpResponse, PreflightHasNoBodyAndMaxAge) {
  std::string r = serialize({204, body_kind::cors_preflight, "ignored", true, {}});
  EXPECT_EQ(r.substr(0, 25), "HTTP/1.1 204 No Content\r\n");
  EXPECT_NE(r.find("access-control-max-age: 86400\r\n"), std::string::npos);
  EXPECT_EQ(r.find("content-length"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 4), "\r\n\r\n");
}

TEST(HttpResponse, TextConnectionAndExtraHeaders) {
  response refused = text_response(426, "v13", false);
  refused.extra_headers = "sec-websocket-version: 13\r\n";
  EXPECT_EQ(serialize(refused),
            "HTTP/1.1 426 Upgrade Required\r\ncontent-type: text/plain;charset=UTF-8\r\n"
            "sec-websocket-version: 13\r\nconnection: close\r\ncontent-length: 3\r\n\r\nv13");
  EXPECT_NE(serialize(text_response(404, "Not Found"), true).find("connection: keep-alive\r\n"),
            std::string::npos);
  EXPECT_EQ(serialize(text_response(404, "Not Found")).find("connection:"), std::string::npos);
}

TEST(HttpResponse, KeptAliveAnswerNamesTheIdleLimit) {
  EXPECT_NE(
      serialize(text_response(404, "Not Found"), false, 15).find("keep-alive: timeout=15\r\n"),
      std::string::npos);
  EXPECT_NE(serialize(text_response(404, "Not Found"), true, 2).find("keep-alive: timeout=2\r\n"),
            std::string::npos);
  // A closing answer names no idle limit; nor does one without it.
  EXPECT_EQ(serialize(text_response(400, "Bad Request", false), false, 15).find("keep-alive:"),
            std::string::npos);
  EXPECT_EQ(serialize(text_response(404, "Not Found")).find("keep-alive:"), std::string::npos);
}

// HEAD (RFC 9110 9.3.2): the status and headers GET would get, with the
// content-length of the GET body, and no body.
TEST(HttpResponse, HeadAnswerIsTheGetAnswerWithoutItsBody) {
  for (response get : {text_response(200, "ok"), text_response(503, "draining"),
                       response{200, body_kind::metrics, "a 1\n", true, {}}}) {
    response head = get;
    head.head = true;
    std::string g = serialize(get, false, 15), h = serialize(head, false, 15);
    EXPECT_EQ(h, g.substr(0, g.size() - get.body.size()));
    EXPECT_NE(h.find("content-length: " + std::to_string(get.body.size()) + "\r\n"),
              std::string::npos);
    EXPECT_EQ(h.substr(h.size() - 4), "\r\n\r\n");
  }
}

// A WebSocket session refuses an upgrade with the bytes the HTTP layer would
// write for the same plain answer (ws/ does not include http/).
TEST(HttpResponse, WebSocketRefusalIsThePlainCloseAnswer) {
  for (unsigned status : {429u, 503u}) {
    std::string_view reason = reason_phrase(status);
    EXPECT_EQ(hf::ws::refusal_response(status, reason),
              serialize(text_response(status, reason, false)));
  }
}
