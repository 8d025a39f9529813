#include "metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <ctime>

#include "net/process_stats.hpp"

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

TEST(Metrics, BuildInfoNamesTheVersion) {
  gauges g;
  g.version = "1.2.3";
  std::string text = render_prometheus({}, g);
  EXPECT_NE(
      text.find("# TYPE hopeflow_build_info gauge\nhopeflow_build_info{version=\"1.2.3\"} 1\n"),
      std::string::npos);
  g.version = "a\"b\\c\nd";  // escaped as the exposition format asks
  EXPECT_NE(render_prometheus({}, g).find(R"(hopeflow_build_info{version="a\"b\\c\nd"} 1)"),
            std::string::npos);
}

TEST(Metrics, ProcessMetricsHaveTheClientLibrariesNamesAndOnlyWithASample) {
  gauges g;
  EXPECT_EQ(render_prometheus({}, g).find("process_"), std::string::npos);
  g.process = process_sample{.cpu_seconds = 1.5,
                             .resident_bytes = 4096,
                             .virtual_bytes = 8192,
                             .open_fds = 7,
                             .max_fds = 1024,
                             .start_time_seconds = 1700000000.25};
  std::string text = render_prometheus({}, g);
  for (const char* expected :
       {"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.5\n",
        "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 4096\n",
        "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes 8192\n",
        "# TYPE process_open_fds gauge\nprocess_open_fds 7\n",
        "# TYPE process_max_fds gauge\nprocess_max_fds 1024\n",
        "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1700000000.25\n"})
    EXPECT_NE(text.find(expected), std::string::npos) << expected;
}

TEST(ProcessStats, ParsesProcSelfStatPastACommandNameWithSpacesAndParentheses) {
  // Fields 14-15 utime stime, 22 starttime, 23 vsize, 24 rss (proc(5)).
  auto s = hf::net::parse_proc_stat(
      "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 -2 -5 3 0 "
      "123456 987654321 1500 18446744073709551615\n");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->utime, 250u);
  EXPECT_EQ(s->stime, 50u);
  EXPECT_EQ(s->starttime, 123456u);
  EXPECT_EQ(s->vsize, 987654321u);
  EXPECT_EQ(s->rss, 1500u);
  EXPECT_FALSE(hf::net::parse_proc_stat("4242 (x) S 1 2 3"));
  EXPECT_FALSE(hf::net::parse_proc_stat("no parenthesis"));
  EXPECT_EQ(hf::net::parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"),
            1700000000u);
  EXPECT_FALSE(hf::net::parse_boot_time("cpu 1 2 3\n"));
}

TEST(ProcessStats, ReadsThisProcess) {
  auto p = hf::net::read_process_sample();
  ASSERT_TRUE(p);
  EXPECT_GT(p->resident_bytes, 1e5);
  EXPECT_GE(p->virtual_bytes, p->resident_bytes);
  EXPECT_GE(p->open_fds, 3);
  EXPECT_GE(p->max_fds, p->open_fds);
  EXPECT_GE(p->cpu_seconds, 0);
  double now = double(std::time(nullptr));
  EXPECT_LE(p->start_time_seconds, now + 2);
  EXPECT_GT(p->start_time_seconds, now - 3600);
}
