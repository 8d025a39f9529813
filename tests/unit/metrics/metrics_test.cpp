#include "metrics/metrics.hpp"

#include <gtest/gtest.h>

using namespace hf::metrics;

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
  g.cluster = cluster_state::connected;
  EXPECT_NE(render_prometheus(a, g).find("hopeflow_cluster_connected 1\n"), std::string::npos);
}

TEST(Metrics, EveryTokenErrorHasItsOwnLabel) {
  using hf::errc;
  const errc token_errors[] = {
      errc::token_missing, errc::token_malformed,     errc::token_unsupported_alg,
      errc::token_bad_typ, errc::token_crit,          errc::token_bad_signature,
      errc::token_expired, errc::token_not_yet_valid, errc::token_bad_claim,
      errc::token_no_user, errc::token_unknown_kid,   errc::token_publisher};
  counters c;
  for (errc e : token_errors) c.auth_failed(make_error_code(e));
  for (auto n : c.auth_failures) EXPECT_EQ(n, 1u);          // each reason once: no two share a slot
  c.auth_failed(make_error_code(errc::invalid_json_body));  // not a token error: not counted
  c.auth_failed(boost::system::error_code(5, boost::system::generic_category()));
  std::uint64_t total = 0;
  for (auto n : c.auth_failures) total += n;
  EXPECT_EQ(total, std::size(token_errors));
  std::string text = render_prometheus(c, {});
  EXPECT_NE(text.find("hopeflow_auth_failures_total{reason=\"expired\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("hopeflow_auth_failures_total{reason=\"no_user\"} 1\n"), std::string::npos);
}

TEST(Metrics, LabelTablesHaveDistinctNonEmptyLabels) {
  auto distinct = [](const auto& labels) {
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (labels[i].empty()) return false;
      for (std::size_t j = 0; j < i; ++j)
        if (labels[i] == labels[j]) return false;
    }
    return true;
  };
  EXPECT_TRUE(distinct(close_reason_labels));
  EXPECT_TRUE(distinct(limit_kind_labels));
  EXPECT_TRUE(distinct(auth_failure_labels));
  counters c;
  c.refused(limit_kind::slow_consumer_1008);
  c.closed(close_reason::heartbeat);
  c.answered_http(503);
  c.answered_http(999);
  std::string text = render_prometheus(c, {});
  EXPECT_NE(text.find("hopeflow_limit_refusals_total{limit=\"slow_consumer_1008\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("hopeflow_websocket_closes_total{reason=\"heartbeat\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("hopeflow_http_responses_total{class=\"5xx\"} 1\n"), std::string::npos);
  EXPECT_EQ(c.http_status[0], 1u);
}
