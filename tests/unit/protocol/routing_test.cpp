#include "protocol/routing.hpp"

#include <gtest/gtest.h>

using namespace hf::protocol;

TEST(Routing, UpgradeComesFirstOnAnyPath) {
  EXPECT_EQ(classify("GET", "/", "websocket"), route::websocket);
  EXPECT_EQ(classify("GET", "/anything?token=x", "WebSocket"), route::websocket);
  EXPECT_EQ(classify("POST", "/publish", "websocket"), route::websocket);
  // Another Upgrade is no upgrade: the request is routed by method and path.
  EXPECT_EQ(classify("GET", "/", "h2c"), route::root);
  EXPECT_EQ(classify("GET", "/x", "h2c"), route::not_found);
}

TEST(Routing, PublishAndPreflight) {
  EXPECT_EQ(classify("POST", "/publish", std::nullopt), route::publish);
  EXPECT_EQ(classify("POST", "/publish?token=x", std::nullopt), route::publish);
  EXPECT_EQ(classify("POST", "http://host:8787/publish", std::nullopt), route::publish);
  EXPECT_EQ(classify("OPTIONS", "/publish", std::nullopt), route::preflight);
}

TEST(Routing, OperationsEndpointsAreGetOrHeadOnlyAndNeverShadowUpgrades) {
  EXPECT_EQ(classify("GET", "/healthz", std::nullopt), route::healthz);
  EXPECT_EQ(classify("GET", "/readyz?x", std::nullopt), route::readyz);
  EXPECT_EQ(classify("GET", "/metrics", std::nullopt), route::metrics);
  // HEAD is GET without the body (RFC 9110 9.3.2): same route, the handler
  // answers the same status and headers.
  EXPECT_EQ(classify("HEAD", "/healthz", std::nullopt), route::healthz);
  EXPECT_EQ(classify("HEAD", "/readyz?x", std::nullopt), route::readyz);
  EXPECT_EQ(classify("HEAD", "http://host:8787/metrics", std::nullopt), route::metrics);
  EXPECT_EQ(classify("head", "/healthz", std::nullopt), route::not_found);  // case-sensitive
  EXPECT_EQ(classify("POST", "/metrics", std::nullopt), route::not_found);
  EXPECT_EQ(classify("PUT", "/healthz", std::nullopt), route::not_found);
  EXPECT_EQ(classify("GET", "/healthz", "websocket"), route::websocket);
}

TEST(Routing, TheConsoleIsItsOwnRouteAndNeverShadowsUpgrades) {
  // The handler answers 404 for it unless CONSOLE=1 (the contract's 404 is kept).
  EXPECT_EQ(classify("GET", "/console", std::nullopt), route::console);
  EXPECT_EQ(classify("GET", "/console/#token=x", std::nullopt), route::console);
  EXPECT_EQ(classify("GET", "/console/sdk.js?v=1", std::nullopt), route::console);
  EXPECT_EQ(classify("GET", "/console/app.js", std::nullopt), route::console);
  EXPECT_EQ(classify("GET", "/console/other.js", std::nullopt), route::not_found);
  EXPECT_EQ(classify("POST", "/console", std::nullopt), route::not_found);
  EXPECT_EQ(classify("GET", "/console", "websocket"), route::websocket);
}

TEST(Routing, TheRootIsItsOwnRouteForGetOnly) {
  // The handler redirects to /console with CONSOLE=1, else answers the
  // contract's 404.
  EXPECT_EQ(classify("GET", "/", std::nullopt), route::root);
  EXPECT_EQ(classify("GET", "/?x=1", std::nullopt), route::root);
  EXPECT_EQ(classify("GET", "http://host:8787", std::nullopt), route::root);
  EXPECT_EQ(classify("GET", "http://host:8787/", std::nullopt), route::root);
  EXPECT_EQ(classify("HEAD", "/", std::nullopt), route::not_found);
  EXPECT_EQ(classify("POST", "/", std::nullopt), route::not_found);
  EXPECT_EQ(classify("GET", "//", std::nullopt), route::not_found);
  EXPECT_EQ(classify("GET", "/", "websocket"), route::websocket);
}

TEST(Routing, TheSdkIsGetOrHeadAndNeverShadowsUpgrades) {
  // The handler answers 404 for it unless SERVE_SDK=1.
  EXPECT_EQ(classify("GET", "/sdk/realtime.js", std::nullopt), route::sdk);
  EXPECT_EQ(classify("GET", "/sdk/realtime.js?v=0.1.0", std::nullopt), route::sdk);
  EXPECT_EQ(classify("HEAD", "/sdk/realtime.js", std::nullopt), route::sdk);
  EXPECT_EQ(classify("OPTIONS", "/sdk/realtime.js", std::nullopt), route::not_found);
  EXPECT_EQ(classify("POST", "/sdk/realtime.js", std::nullopt), route::not_found);
  EXPECT_EQ(classify("GET", "/sdk/", std::nullopt), route::not_found);
  EXPECT_EQ(classify("GET", "/sdk/realtime.js/", std::nullopt), route::not_found);
  EXPECT_EQ(classify("GET", "/sdk/realtime.js", "websocket"), route::websocket);
}

TEST(Routing, EverythingElseIsNotFound) {
  EXPECT_EQ(classify("GET", "/publish", std::nullopt), route::not_found);
  EXPECT_EQ(classify("OPTIONS", "/x", std::nullopt), route::not_found);
  EXPECT_EQ(classify("POST", "/publish/", std::nullopt), route::not_found);
  EXPECT_EQ(classify("POST", "/Publish", std::nullopt), route::not_found);
  EXPECT_EQ(classify("POST", "//publish", std::nullopt), route::not_found);
  EXPECT_EQ(classify("PUT", "/publish", std::nullopt), route::not_found);
  EXPECT_EQ(classify("HEAD", "/publish", std::nullopt), route::not_found);
}
