// The request handlers without sockets: an HTTP context with a real shard
// and the local broker, a fake exchange that records the answer, fake hub
// connections standing in for WebSockets, and a hand-off that records the
// upgrades it is given.
#include "http/handlers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <optional>
#include <vector>

#include "auth/jwt.hpp"
#include "auth/token_cache.hpp"
#include "broker/local_broker.hpp"
#include "config/config.hpp"
#include "core/js_json.hpp"
#include "hub/hub.hpp"
#include "hub/shard.hpp"
#include "ws/handshake.hpp"

using namespace hf;

namespace {

const std::string secret = "handlers-test-secret-of-at-least-32-bytes";

struct fake_exchange final : http::exchange {
  explicit fake_exchange(boost::asio::io_context& ioc) : ioc(ioc) {}
  boost::asio::io_context& ioc;
  int answers = 0;
  std::optional<http::response> answer;
  bool taken = false;
  void respond(http::response r) override {
    ++answers;
    answer = std::move(r);
  }
  int take_connection(std::string&) override {
    taken = true;
    return 0;  // stands for a descriptor: the test's hand_off does not use it
  }
  std::optional<http::response> fallback;
  std::function<void()> fired;
  void backstop(std::chrono::steady_clock::time_point, http::response r,
                std::function<void()> f) override {
    fallback = std::move(r);
    fired = std::move(f);
  }
};

struct fake_socket final : hub::connection {
  std::vector<std::string> sent;
  hub::send_status send_text(hub::shared_text t) override {
    sent.push_back(*t);
    return hub::send_status::sent;
  }
  void close(metrics::close_reason) override {}
  bool heartbeat() override { return true; }
  void abort() override {}
};

// The one worker of the test, sampled for /metrics on the test's thread.
struct one_worker final : http::worker_sampler {
  one_worker(metrics::counters& c, hub::shard& s) : counters(c), shard(s) {}
  metrics::counters& counters;
  hub::shard& shard;
  std::size_t size() const override { return 1; }
  void sample_all(boost::asio::io_context& home,
                  std::function<void(const http::worker_sample&)> each) override {
    boost::asio::post(home, [this, each = std::move(each)] {
      http::worker_sample s;
      s.counters = counters;
      s.sockets = shard.stats().connections;
      each(s);
    });
  }
};

struct handlers_fixture : ::testing::Test {
  config::config cfg = [] {
    config::config c;
    c.jwt_secret = secret;
    c.threads = 1;
    return c;
  }();
  auth::jwt_verifier verifier{secret};
  boost::asio::io_context ioc{1};
  hub::shard shard{ioc, hub::shard_limits{}};
  hub::hub the_hub{{&shard}};
  broker::local_broker broker{the_hub, std::chrono::minutes(10)};
  auth::token_cache tokens{verifier};
  metrics::counters counters;
  one_worker workers{counters, shard};
  std::atomic<bool> stopping{false};
  std::atomic<bool> not_ready{false};
  std::atomic<long> live_sessions{0};
  std::vector<ws::upgrade> handed;  // upgrades given to the hand-off
  http::context ctx{.ioc = ioc,
                    .cfg = http::settings_of(cfg),
                    .tokens = tokens,
                    .metrics = counters,
                    .broker = broker,
                    .workers = workers,
                    .hand_off = {},
                    .stopping = stopping,
                    .not_ready = not_ready,
                    .live_sessions = live_sessions,
                    .jwks = nullptr,
                    .sessions = {}};

  handlers_fixture() {
    shard.use_counters(&counters);
    ctx.hand_off = [this](int, ws::upgrade up) { handed.push_back(std::move(up)); };
  }

  std::string token(const std::string& user) {
    boost::json::object claims;
    claims["userId"] = user;
    return auth::mint_hs256(secret, claims);
  }

  // Runs one request through the router and the io_context until idle.
  std::shared_ptr<fake_exchange> send(protocol::route route, http::request req) {
    auto x = std::make_shared<fake_exchange>(ioc);
    http::handle_request(ctx, route, req, x);
    ioc.restart();
    ioc.poll();
    return x;
  }

  http::request publish(std::string body, std::optional<std::string_view> auth = {}) {
    body_ = std::move(body);
    http::request r;
    r.method = "POST";
    r.target = "/publish";
    r.authorization = auth;
    r.content_type = "application/json";
    r.body = body_;
    return r;
  }

 private:
  std::string body_;
};

}  // namespace

TEST_F(handlers_fixture, RoutesWithoutAHandlerAnswerAtOnce) {
  auto x = send(protocol::route::not_found, {});
  ASSERT_EQ(x->answers, 1);
  EXPECT_EQ(x->answer->status, 404u);
  EXPECT_EQ(x->answer->body, "Not Found");
  x = send(protocol::route::preflight, {});
  ASSERT_EQ(x->answers, 1);
  EXPECT_EQ(x->answer->status, 204u);
  EXPECT_EQ(x->answer->kind, http::body_kind::cors_preflight);
}

TEST_F(handlers_fixture, PublishChecksInTheContractsOrder) {
  std::string bearer = "Bearer " + token("backend");
  auto x = send(protocol::route::publish, publish(R"({"userId":"u"})"));
  EXPECT_EQ(x->answer->status, 401u);
  EXPECT_EQ(x->answer->body, R"({"error":"Unauthorized"})");
  EXPECT_EQ(counters.auth_failures[metrics::index(metrics::auth_failure::missing)], 1u);
  auto req = publish("{", bearer);
  req.content_type = "text/plain";
  x = send(protocol::route::publish, req);
  EXPECT_EQ(x->answer->status, 415u);
  x = send(protocol::route::publish, publish("{", bearer));
  EXPECT_EQ(x->answer->status, 400u);
  EXPECT_EQ(x->answer->body, R"({"error":"Invalid JSON body"})");
  x = send(protocol::route::publish, publish("null", bearer));
  EXPECT_EQ(x->answer->body, R"({"error":"userId is required"})");
  EXPECT_EQ(counters.publish_errors, 4u);
  x = send(protocol::route::publish, publish(R"({"userId":"nobody"})", bearer));
  ASSERT_EQ(x->answers, 1);
  EXPECT_EQ(x->answer->status, 200u);
  EXPECT_EQ(x->answer->body, R"({"clientCount":0,"results":[]})");
  EXPECT_EQ(counters.publishes_no_target, 1u);
}

TEST_F(handlers_fixture, PublishAnswersWithTheAcksOfMatchingSockets) {
  fake_socket a, b;
  for (auto* s : {&a, &b}) {
    shard.attach(*s, "u");
    shard.on_text(*s, R"({"type":"subscribe","filters":[{"type":"chat"}]})");
  }
  auto x = std::make_shared<fake_exchange>(ioc);
  http::handle_request(
      ctx, protocol::route::publish,
      publish(R"({"userId":" u ","type":"chat","payload":{"n":1}})", "Bearer " + token("backend")),
      x);
  ioc.restart();
  ioc.poll();
  ASSERT_EQ(a.sent.size(), 1u);
  EXPECT_EQ(x->answers, 0);  // waiting for acks
  auto env = core::parse_json(a.sent[0]);
  std::string id(env->as_object().at("envelopeId").as_string());
  shard.on_text(a, R"({"type":"ack","envelopeId":")" + id + R"(","result":{"read":true}})");
  shard.on_text(b, R"({"type":"ack","envelopeId":")" + id + R"("})");
  ioc.restart();
  ioc.poll();
  ASSERT_EQ(x->answers, 1);
  EXPECT_EQ(x->answer->body, R"({"clientCount":2,"results":[{"read":true},null]})");
  EXPECT_EQ(counters.publishes_answered, 1u);
  shard.detach(a);
  shard.detach(b);
}

TEST_F(handlers_fixture, PublishToManyUsersAnswersOnceWithEveryUsersAnswer) {
  fake_socket a, b;
  shard.attach(a, "ann");
  shard.attach(b, "bob");
  for (auto* s : {&a, &b}) shard.on_text(*s, R"({"type":"subscribe","filters":[{"type":"m"}]})");
  auto x = std::make_shared<fake_exchange>(ioc);
  http::handle_request(ctx, protocol::route::publish,
                       publish(R"({"userIds":["bob"," ann","nobody","bob"],"type":"m"})",
                               "Bearer " + token("backend")),
                       x);
  ioc.restart();
  ioc.poll();
  ASSERT_EQ(a.sent.size(), 1u);
  ASSERT_EQ(b.sent.size(), 1u);
  EXPECT_EQ(x->answers, 0);  // waiting for both acks
  auto id_of = [](const std::string& text) {
    return std::string(core::parse_json(text)->as_object().at("envelopeId").as_string());
  };
  std::string ann = id_of(a.sent[0]), bob = id_of(b.sent[0]);
  EXPECT_NE(ann, bob);
  // The backstop would answer every user with nothing.
  ASSERT_TRUE(x->fallback);
  EXPECT_TRUE(x->fallback->body.starts_with(
      R"({"clientCount":0,"results":[],"users":{"bob":{"clientCount":0,"results":[],"envelopeId":")" +
      bob + R"("},"ann":{"clientCount":0,"results":[],"envelopeId":")" + ann +
      R"("},"nobody":{"clientCount":0,"results":[],"envelopeId":")"))
      << x->fallback->body;
  shard.on_text(a, R"({"type":"ack","envelopeId":")" + ann + R"(","result":"A"})");
  ioc.restart();
  ioc.poll();
  EXPECT_EQ(x->answers, 0);  // bob has not acked
  shard.on_text(b, R"({"type":"ack","envelopeId":")" + bob + R"(","result":"B"})");
  ioc.restart();
  ioc.poll();
  ASSERT_EQ(x->answers, 1);
  auto answer = core::parse_json(x->answer->body)->as_object();
  EXPECT_EQ(core::to_js_json(answer.at("results")), R"(["B","A"])");  // in userIds order
  EXPECT_EQ(answer.at("clientCount").as_int64(), 2);
  EXPECT_EQ(answer.at("users").as_object().size(), 3u);
  EXPECT_EQ(core::to_js_json(answer.at("users").as_object().at("nobody")),
            R"({"clientCount":0,"results":[],"envelopeId":")" +
                std::string(answer.at("users")
                                .as_object()
                                .at("nobody")
                                .as_object()
                                .at("envelopeId")
                                .as_string()) +
                R"("})");
  // One request: counted once; each envelope's completion counted.
  EXPECT_EQ(counters.publishes_answered, 1u);
  EXPECT_EQ(counters.publishes_no_target, 0u);
  EXPECT_EQ(counters.completions[metrics::index(metrics::completion::all_done)], 3u);
  shard.detach(a);
  shard.detach(b);
}

TEST_F(handlers_fixture, PublishToManyUsersIsAnsweredByTheBackstopOnlyOnce) {
  fake_socket a;
  shard.attach(a, "ann");
  shard.on_text(a, R"({"type":"subscribe","filters":[{"type":"m"}]})");
  auto x = send(protocol::route::publish,
                publish(R"({"userIds":["ann","bob"],"type":"m"})", "Bearer " + token("backend")));
  ASSERT_TRUE(x->fired);
  x->fired();  // the session answered the fallback
  EXPECT_EQ(counters.publish_backstops, 1u);
  std::string id(core::parse_json(a.sent[0])->as_object().at("envelopeId").as_string());
  shard.on_text(a, R"({"type":"ack","envelopeId":")" + id + R"("})");
  ioc.restart();
  ioc.poll();
  EXPECT_EQ(x->answers, 0);  // the late answer is ignored
  EXPECT_EQ(counters.publishes_answered, 1u);
  shard.detach(a);
}

TEST_F(handlers_fixture, PublishToManyUsersErrors) {
  auto x = send(protocol::route::publish,
                publish(R"({"userIds":["a"],"userId":null})", "Bearer " + token("backend")));
  EXPECT_EQ(x->answer->status, 400u);
  EXPECT_EQ(x->answer->body, R"({"error":"userIds must be an array of 1-1000 non-blank strings"})");
  EXPECT_EQ(counters.publish_errors, 1u);
}

TEST_F(handlers_fixture, ReadinessAndMetrics) {
  auto x = send(protocol::route::readyz, {});
  EXPECT_EQ(x->answer->status, 200u);
  EXPECT_EQ(x->answer->body, "ready");
  x = send(protocol::route::healthz, {});
  EXPECT_EQ(x->answer->body, "ok");
  counters.ws_connects = 3;
  x = send(protocol::route::metrics, {});
  ASSERT_EQ(x->answers, 1);
  EXPECT_EQ(x->answer->kind, http::body_kind::metrics);
  EXPECT_NE(x->answer->body.find("hopeflow_websocket_connects_total 3\n"), std::string::npos);
  EXPECT_NE(x->answer->body.find("hopeflow_ready 1\n"), std::string::npos);
  not_ready = true;
  x = send(protocol::route::readyz, {});
  EXPECT_EQ(x->answer->status, 503u);
  EXPECT_EQ(x->answer->body, "draining");
  x = send(protocol::route::metrics, {});
  EXPECT_NE(x->answer->body.find("hopeflow_ready 0\n"), std::string::npos);
}

TEST_F(handlers_fixture, HeadOnTheOperationsEndpointsIsGetWithoutTheBody) {
  http::request head;
  head.method = "HEAD";
  http::request get;
  get.method = "GET";
  for (auto route : {protocol::route::healthz, protocol::route::readyz, protocol::route::metrics}) {
    auto g = send(route, get);
    auto h = send(route, head);
    ASSERT_EQ(h->answers, 1);
    EXPECT_EQ(h->answer->status, g->answer->status);
    EXPECT_EQ(h->answer->kind, g->answer->kind);
    EXPECT_TRUE(h->answer->head);
    EXPECT_FALSE(g->answer->head);
    EXPECT_FALSE(h->answer->body.empty());  // its length is the content-length
  }
  not_ready = true;
  auto h = send(protocol::route::readyz, head);
  EXPECT_EQ(h->answer->status, 503u);
  EXPECT_TRUE(h->answer->head);
}

TEST_F(handlers_fixture, UpgradeRefusalsAreHttpAnswersThatClose) {
  http::request up;
  up.method = "GET";
  up.target = "/";
  up.upgrade = "websocket";
  auto x = send(protocol::route::websocket, up);
  EXPECT_EQ(x->answer->status, 401u);
  EXPECT_FALSE(x->answer->keep_alive);
  std::string target = "/?token=" + token("u");  // outlives the request's views
  up.target = target;
  x = send(protocol::route::websocket, up);  // no key, no version: a bad handshake
  EXPECT_EQ(x->answer->status, 400u);
  EXPECT_FALSE(x->taken);
  up.connection = "Upgrade";
  up.sec_websocket_key = "dGhlIHNhbXBsZSBub25jZQ==";
  up.sec_websocket_version = "8";
  x = send(protocol::route::websocket, up);
  EXPECT_EQ(x->answer->status, 426u);
  EXPECT_EQ(x->answer->extra_headers, "sec-websocket-version: 13\r\n");
  stopping = true;
  x = send(protocol::route::websocket, up);
  EXPECT_EQ(x->answer->status, 503u);
}

TEST_F(handlers_fixture, AnUpgradeIsHandedOffWithItsUser) {
  http::request up;
  up.method = "GET";
  std::string target = "/?token=" + token("u");
  up.target = target;
  up.upgrade = "websocket";
  up.connection = "Upgrade";
  up.sec_websocket_key = "dGhlIHNhbXBsZSBub25jZQ==";
  up.sec_websocket_version = "13";
  up.sec_websocket_extensions = "permessage-deflate";
  auto x = send(protocol::route::websocket, up);
  EXPECT_EQ(x->answers, 0);
  EXPECT_TRUE(x->taken);
  ASSERT_EQ(handed.size(), 1u);
  EXPECT_EQ(handed[0].user_id, "u");
  EXPECT_EQ(handed[0].accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_TRUE(handed[0].deflate.has_value());
  stopping = true;
  x = send(protocol::route::websocket, up);
  EXPECT_EQ(x->answer->status, 503u);
  EXPECT_EQ(handed.size(), 1u);
}
