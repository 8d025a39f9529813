#include "protocol/metrics.hpp"

#include <gtest/gtest.h>

using namespace hf::protocol;

TEST(Metrics, SumsAndRendersCountersGaugesAndHistogram) {
  counters a, b;
  a.ws_connects = 2;
  b.ws_connects = 3;
  a.ws_closes[static_cast<std::size_t>(close_reason::slow_consumer)] = 1;
  a.observe_latency(0.0004);  // first bucket
  b.observe_latency(0.003);   // le 0.005
  b.observe_latency(9.0);     // +Inf only
  a.add(b);
  gauges g;
  g.sockets = 7;
  std::string text = render_prometheus(a, g);
  EXPECT_NE(text.find("hopeflow_websocket_connects_total 5\n"), std::string::npos);
  EXPECT_NE(text.find("hopeflow_websocket_closes_total{reason=\"slow_consumer\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("hopeflow_websockets 7\n"), std::string::npos);
  EXPECT_NE(text.find("hopeflow_publish_duration_seconds_bucket{le=\"0.0005\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("hopeflow_publish_duration_seconds_bucket{le=\"0.005\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("hopeflow_publish_duration_seconds_bucket{le=\"5\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("hopeflow_publish_duration_seconds_bucket{le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("hopeflow_publish_duration_seconds_count 3\n"), std::string::npos);
  EXPECT_EQ(text.find("hopeflow_cluster_connected"), std::string::npos);  // not a cluster
  g.cluster = 1;
  EXPECT_NE(render_prometheus(a, g).find("hopeflow_cluster_connected 1\n"), std::string::npos);
}
