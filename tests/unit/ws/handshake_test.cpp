#include "ws/handshake.hpp"

#include <gtest/gtest.h>

using namespace hf::ws;

namespace {
handshake_request good() {
  handshake_request r;
  r.method = "GET";
  r.connection = "keep-alive, Upgrade";
  r.upgrade = "websocket";
  r.key = "dGhlIHNhbXBsZSBub25jZQ==";
  r.version = "13";
  return r;
}
}  // namespace

TEST(Handshake, Rfc6455Example) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  auto r = check_handshake(good());
  ASSERT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(r.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(switching_protocols_response(r.accept),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
}

TEST(Handshake, Refusals) {
  auto with = [](auto change) {
    auto r = good();
    change(r);
    return check_handshake(r);
  };
  EXPECT_EQ(with([](auto& r) { r.method = "POST"; }).status, 400u);
  EXPECT_EQ(with([](auto& r) { r.http_version = 10; }).status, 400u);
  EXPECT_EQ(with([](auto& r) { r.connection.reset(); }).status, 400u);
  EXPECT_EQ(with([](auto& r) { r.connection = "close"; }).status, 400u);
  EXPECT_EQ(with([](auto& r) { r.key.reset(); }).status, 400u);
  EXPECT_EQ(with([](auto& r) { r.key = "short=="; }).status, 400u);
  EXPECT_EQ(with([](auto& r) { r.key = "dGhlIHNhbXBsZSBub25jZQ!!"; }).status, 400u);
  EXPECT_EQ(with([](auto& r) { r.version = "8"; }).status, 426u);
  EXPECT_EQ(with([](auto& r) { r.version.reset(); }).status, 426u);
  EXPECT_TRUE(with([](auto& r) { r.connection = "UPGRADE"; }).ok());
}
