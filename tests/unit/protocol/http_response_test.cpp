#include "protocol/http_response.hpp"

#include <gtest/gtest.h>

using namespace hf::protocol;

TEST(HttpResponse, JsonAnswerCarriesCorsAndLength) {
  EXPECT_EQ(http_response(200, response_body::json, R"({"a":1})", true),
            "HTTP/1.1 200 OK\r\n"
            "access-control-allow-origin: *\r\n"
            "access-control-allow-headers: authorization,content-type\r\n"
            "access-control-allow-methods: POST,OPTIONS\r\n"
            "content-type: application/json; charset=utf-8\r\n"
            "content-length: 7\r\n\r\n{\"a\":1}");
}

TEST(HttpResponse, PreflightHasNoBodyAndMaxAge) {
  std::string r = http_response(204, response_body::cors_preflight, "ignored", true);
  EXPECT_EQ(r.substr(0, 25), "HTTP/1.1 204 No Content\r\n");
  EXPECT_NE(r.find("access-control-max-age: 86400\r\n"), std::string::npos);
  EXPECT_EQ(r.find("content-length"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 4), "\r\n\r\n");
}

TEST(HttpResponse, TextConnectionAndExtraHeaders) {
  std::string r =
      http_response(426, response_body::text, "v13", false, false, "sec-websocket-version: 13\r\n");
  EXPECT_EQ(r,
            "HTTP/1.1 426 Upgrade Required\r\ncontent-type: text/plain;charset=UTF-8\r\n"
            "sec-websocket-version: 13\r\nconnection: close\r\ncontent-length: 3\r\n\r\nv13");
  EXPECT_NE(http_response(404, response_body::text, "Not Found", true, true)
                .find("connection: keep-alive\r\n"),
            std::string::npos);
}
