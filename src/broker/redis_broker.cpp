#include "broker/redis_broker.hpp"

#include <hiredis/hiredis.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <future>
#include <random>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "broker/redis_link.hpp"
#include "core/js_json.hpp"

namespace hf::broker {
namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

// A remote node answers this much before the origin's deadline, so that its
// answer can still arrive in time.
constexpr auto reply_margin = std::chrono::milliseconds(10);
// The shortest time the origin waits for the nodes' answers (their counts),
// even when the caller asked for no ack wait at all.
constexpr auto min_collect = std::chrono::milliseconds(250);
constexpr auto reconnect_min = std::chrono::milliseconds(100);
constexpr auto reconnect_max = std::chrono::milliseconds(5000);

std::string random_node_id() {
  unsigned char b[8];
  RAND_bytes(b, sizeof b);
  static constexpr char hex[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) s += hex[c >> 4], s += hex[c & 15];
  return s;
}

std::string user_channel(std::string_view user) { return "hf:u:" + std::string(user); }

std::string_view reply_str(const redisReply* r) {
  return r && r->type == REDIS_REPLY_STRING ? std::string_view(r->str, r->len) : std::string_view{};
}

}  // namespace

bool parse_redis_url(const std::string& url, redis_options& out) {
  std::string_view u = url;
  if (!u.starts_with("redis://")) return false;
  u.remove_prefix(8);
  u = u.substr(0, u.find('/'));
  if (auto at = u.rfind('@'); at != std::string_view::npos)
    u.remove_prefix(at + 1);  // no AUTH support
  std::size_t colon = u.rfind(':');
  std::string host(u.substr(0, colon));
  int port = 6379;
  if (colon != std::string_view::npos) {
    try {
      port = std::stoi(std::string(u.substr(colon + 1)));
    } catch (...) {
      return false;
    }
  }
  if (host.empty() || port <= 0 || port > 65535) return false;
  out.host = host;
  out.port = port;
  return true;
}

struct redis_broker::impl {
  impl(redis_broker& o, const hub::hub& h, redis_options opt)
      : owner(o), hub(h), opt(std::move(opt)), guard(asio::make_work_guard(ioc)), retry(ioc) {
    if (this->opt.node_id.empty()) this->opt.node_id = random_node_id();
    reply_channel = "hf:r:" + this->opt.node_id;
    on_user_message = [this](redisReply* r) { user_message(r); };
    on_reply_message = [this](redisReply* r) { reply_message(r); };
  }

  // One publish taken by this node, waiting for the nodes' answers.
  struct request {
    hub::delivery_callback done;
    std::shared_ptr<const protocol::envelope> env;
    long expected = -1;  // node answers to wait for; -1 until PUBLISH replies
    long received = 0;
    std::size_t count = 0;
    std::vector<std::string> results;
    std::unique_ptr<asio::steady_timer> timer;
  };

  redis_broker& owner;
  const hub::hub& hub;
  redis_options opt;
  std::string reply_channel;
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::thread thread;
  asio::steady_timer retry;
  std::minstd_rand jitter{std::random_device{}()};
  std::chrono::milliseconds backoff = reconnect_min;
  std::unique_ptr<redis_link> cmd, sub;
  int links_up = 0;
  std::promise<bool> first_connect;
  bool first_connect_set = false;

  // Everything below: broker thread only.
  std::unordered_map<std::string, std::size_t> sockets;  // user -> sockets on this node
  std::unordered_set<std::string> subscribed;            // confirmed by Redis
  std::unordered_map<std::string, std::vector<std::function<void()>>> waiting;
  std::unordered_map<std::uint64_t, request> requests;
  std::uint64_t next_request = 1;
  redis_link::reply_fn on_user_message, on_reply_message;
  clock::time_point last_degraded_log{};

  void set_first_connect(bool ok) {
    if (first_connect_set) return;
    first_connect_set = true;
    first_connect.set_value(ok);
  }

  void connect() {
    links_up = 0;
    cmd = std::make_unique<redis_link>(ioc, opt.host, opt.port);
    sub = std::make_unique<redis_link>(ioc, opt.host, opt.port);
    auto up = [this] {
      if (++links_up == 2) on_connected();
    };
    auto down = [this](std::string why) { on_lost(why); };
    cmd->connect(up, down);
    sub->connect(up, down);
  }

  void on_connected() {
    backoff = reconnect_min;
    sub->command_with({"SUBSCRIBE", reply_channel}, &on_reply_message);
    for (const auto& [user, n] : sockets)
      sub->command_with({"SUBSCRIBE", user_channel(user)}, &on_user_message);
    owner.connected_ = true;
    spdlog::info("cluster: connected to Redis {}:{} as node {} ({} users resubscribed)", opt.host,
                 opt.port, opt.node_id, sockets.size());
    set_first_connect(true);
  }

  void on_lost(const std::string& why) {
    if (!cmd && !sub) return;  // already handled for this attempt
    bool was = owner.connected_.exchange(false);
    if (was)
      spdlog::warn(
          "cluster: lost Redis ({}); publishes reach this node's sockets only until it is back",
          why);
    else
      spdlog::warn("cluster: cannot reach Redis {}:{} ({}); retrying", opt.host, opt.port, why);
    set_first_connect(false);
    // Links are destroyed on the next turn: this may run inside their callbacks.
    asio::post(ioc, [this, c = std::move(cmd), s = std::move(sub)]() mutable {
      c.reset();
      s.reset();
    });
    subscribed.clear();
    // Sockets waiting for a subscription open anyway (degraded: local only).
    for (auto& [user, list] : waiting)
      for (auto& f : list) f();
    waiting.clear();
    auto delay = std::chrono::milliseconds(backoff.count() / 2 + jitter() % (backoff.count() + 1));
    backoff = std::min(backoff * 2, reconnect_max);
    retry.expires_after(delay);
    retry.async_wait([this](boost::system::error_code ec) {
      if (!ec) connect();
    });
  }

  // --- origin side ---
  void publish(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
               hub::delivery_callback done) {
    if (!owner.connected_) return degraded(std::move(env), until, std::move(done));
    std::uint64_t id = next_request++;
    auto& req = requests[id];
    req.done = std::move(done);
    req.env = env;
    // Nodes answer at `until` minus a margin at the latest; with a very short
    // wait (ackTimeoutMs 0) they answer at once with their match counts,
    // which still take a Redis round trip to arrive.
    req.timer =
        std::make_unique<asio::steady_timer>(ioc, std::max(until, clock::now() + min_collect));
    req.timer->async_wait([this, id](boost::system::error_code ec) {
      if (!ec) finish(id);
    });
    auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now()).count();
    std::string msg = R"({"o":)";
    core::append_js_string(msg, opt.node_id);
    msg += R"(,"r":)" + std::to_string(id) + R"(,"ms":)" +
           std::to_string(std::max<long long>(0, remaining)) + R"(,"text":)";
    core::append_js_string(msg, env->text);
    msg.push_back('}');
    auto sent_at = clock::now();
    bool sent = cmd->command({"PUBLISH", user_channel(env->user_id), msg},
                             [this, id, sent_at](redisReply* r) {
                               if (r) owner.record_rtt(clock::now() - sent_at);
                               auto it = requests.find(id);
                               if (it == requests.end()) return;
                               if (!r || r->type != REDIS_REPLY_INTEGER) {
                                 // The PUBLISH was lost with the connection: deliver locally
                                 // instead.
                                 auto env = it->second.env;
                                 auto until = it->second.timer->expiry();
                                 auto done = std::move(it->second.done);
                                 it->second.timer->cancel();
                                 requests.erase(it);
                                 return degraded(std::move(env), until, std::move(done));
                               }
                               it->second.expected = static_cast<long>(r->integer);
                               maybe_finish(id);
                             });
    if (!sent) {
      auto done2 = std::move(req.done);
      req.timer->cancel();
      requests.erase(id);
      degraded(std::move(env), until, std::move(done2));
    }
  }

  void degraded(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
                hub::delivery_callback done) {
    auto now = clock::now();
    if (now - last_degraded_log > std::chrono::seconds(1)) {
      last_degraded_log = now;
      spdlog::warn("cluster: Redis unavailable; publish to {} reaches this node's sockets only",
                   env->user_id);
    }
    hub.deliver(std::move(env), until, std::move(done));
  }

  void node_answered(std::uint64_t id, std::size_t count, std::vector<std::string> results) {
    auto it = requests.find(id);
    if (it == requests.end()) return;  // answered already (deadline)
    auto& req = it->second;
    req.count += count;
    for (auto& r : results) req.results.push_back(std::move(r));
    ++req.received;
    maybe_finish(id);
  }

  void maybe_finish(std::uint64_t id) {
    auto it = requests.find(id);
    if (it != requests.end() && it->second.expected >= 0 &&
        it->second.received >= it->second.expected)
      finish(id);
  }

  void finish(std::uint64_t id) {
    auto it = requests.find(id);
    if (it == requests.end()) return;
    request req = std::move(it->second);
    requests.erase(it);
    req.timer->cancel();
    req.done({req.count, std::move(req.results)});
  }

  // --- every node: a publish for one of our users ---
  void user_message(redisReply* r) {
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
    std::string_view kind = reply_str(r->element[0]);
    if (kind == "subscribe") {
      std::string_view channel = reply_str(r->element[1]);
      std::string user(channel.substr(5));
      subscribed.insert(user);
      if (auto w = waiting.find(user); w != waiting.end()) {
        auto list = std::move(w->second);
        waiting.erase(w);
        for (auto& f : list) f();
      }
      return;
    }
    if (kind != "message") return;
    auto parsed = core::parse_json(reply_str(r->element[2]));
    if (!parsed || !parsed->is_object()) return;
    const auto& o = parsed->get_object();
    auto* origin = o.if_contains("o");
    auto* rid = o.if_contains("r");
    auto* ms = o.if_contains("ms");
    auto* text = o.if_contains("text");
    if (!origin || !origin->is_string() || !rid || !ms || !text || !text->is_string()) return;
    auto env_json = core::parse_json(text->get_string());
    if (!env_json || !env_json->is_object()) return;
    auto& e = env_json->get_object();
    auto* eid = e.if_contains("envelopeId");
    auto* etype = e.if_contains("type");
    auto* euser = e.if_contains("userId");
    if (!eid || !eid->is_string() || !etype || !etype->is_string() || !euser || !euser->is_string())
      return;
    auto env = std::make_shared<protocol::envelope>();
    env->id = eid->get_string();
    env->type = etype->get_string();
    env->user_id = euser->get_string();
    if (auto it = e.find("payload"); it != e.end()) env->payload = std::move(it->value());
    env->text = text->get_string();
    auto wait =
        std::chrono::milliseconds(static_cast<long long>(core::json_number(*ms).value_or(0)));
    auto until =
        clock::now() + (wait > reply_margin ? wait - reply_margin : std::chrono::milliseconds(0));
    std::string from(origin->get_string());
    std::uint64_t id = static_cast<std::uint64_t>(core::json_number(*rid).value_or(0));
    hub.deliver(std::move(env), until, [this, from, id](hub::delivery_result res) {
      asio::post(ioc, [this, from, id, res = std::move(res)]() mutable {
        answer(from, id, std::move(res));
      });
    });
  }

  void answer(const std::string& origin, std::uint64_t id, hub::delivery_result res) {
    if (origin == opt.node_id) return node_answered(id, res.client_count, std::move(res.results));
    std::string msg = R"({"r":)" + std::to_string(id) + R"(,"n":)" +
                      std::to_string(res.client_count) + R"(,"res":[)";
    for (std::size_t i = 0; i < res.results.size(); ++i) {
      if (i) msg.push_back(',');
      msg += res.results[i];
    }
    msg += "]}";
    if (cmd) cmd->command({"PUBLISH", "hf:r:" + origin, msg}, [](redisReply*) {});
  }

  // --- origin: another node's answer ---
  void reply_message(redisReply* r) {
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        reply_str(r->element[0]) != "message")
      return;
    auto parsed = core::parse_json(reply_str(r->element[2]));
    if (!parsed || !parsed->is_object()) return;
    const auto& o = parsed->get_object();
    auto* rid = o.if_contains("r");
    auto* n = o.if_contains("n");
    auto* res = o.if_contains("res");
    if (!rid || !n || !res || !res->is_array()) return;
    std::vector<std::string> results;
    for (const auto& v : res->get_array()) results.push_back(core::to_js_json(v));
    node_answered(static_cast<std::uint64_t>(core::json_number(*rid).value_or(0)),
                  static_cast<std::size_t>(core::json_number(*n).value_or(0)), std::move(results));
  }

  // --- presence ---
  bool opening(const std::string& user, std::function<void()> ready) {
    std::size_t& count = sockets[user];
    ++count;
    if (!owner.connected_ || subscribed.count(user)) return ready(), true;
    auto& list = waiting[user];
    list.push_back(std::move(ready));
    if (list.size() == 1) sub->command_with({"SUBSCRIBE", user_channel(user)}, &on_user_message);
    return false;
  }

  void closed(const std::string& user) {
    auto it = sockets.find(user);
    if (it == sockets.end() || --it->second > 0) return;
    sockets.erase(it);
    subscribed.erase(user);
    if (owner.connected_ && sub) sub->command({"UNSUBSCRIBE", user_channel(user)}, nullptr);
  }
};

redis_broker::redis_broker(const hub::hub& h, redis_options opt)
    : impl_(std::make_unique<impl>(*this, h, std::move(opt))) {}

redis_broker::~redis_broker() { stop(); }

const std::string& redis_broker::node_id() const noexcept { return impl_->opt.node_id; }

void redis_broker::start() {
  auto& m = *impl_;
  auto first = m.first_connect.get_future();
  asio::post(m.ioc, [&m] { m.connect(); });
  m.thread = std::thread([&m] { m.ioc.run(); });
  if (m.opt.required) {
    if (first.wait_for(std::chrono::seconds(5)) != std::future_status::ready || !first.get())
      throw std::runtime_error("cannot connect to Redis at " + m.opt.host + ":" +
                               std::to_string(m.opt.port) + " (REDIS_REQUIRED is set)");
  }
}

void redis_broker::drain() {
  // Publishes this node took are answered within min_collect: long enough
  // for nodes that are draining too (they answer at once) to be counted.
  asio::post(impl_->ioc, [m = impl_.get()] {
    auto soon = clock::now() + min_collect;
    for (auto& [id, req] : m->requests) {
      if (req.timer->expiry() <= soon) continue;
      req.timer->expires_at(soon);  // cancels the old wait
      req.timer->async_wait([m, id = id](boost::system::error_code ec) {
        if (!ec) m->finish(id);
      });
    }
  });
}

void redis_broker::stop() {
  auto& m = *impl_;
  if (!m.thread.joinable()) return;
  asio::post(m.ioc, [&m] {
    m.retry.cancel();
    // Sockets still waiting for a subscription are released to their own
    // threads (which own them) rather than destroyed here.
    for (auto& [user, list] : m.waiting)
      for (auto& f : list) f();
    m.waiting.clear();
    for (auto& [id, req] : m.requests) req.timer->cancel();
    m.cmd.reset();
    m.sub.reset();
    m.guard.reset();
  });
  m.thread.join();
  connected_ = false;
}

void redis_broker::publish(std::shared_ptr<const protocol::envelope> env, hub::deadline until,
                           hub::delivery_callback done) {
  asio::post(impl_->ioc,
             [m = impl_.get(), env = std::move(env), until, done = std::move(done)]() mutable {
               m->publish(std::move(env), until, std::move(done));
             });
}

bool redis_broker::socket_opening(const std::string& user, std::function<void()> ready) {
  asio::post(impl_->ioc, [m = impl_.get(), user, ready = std::move(ready)]() mutable {
    m->opening(user, std::move(ready));
  });
  return false;
}

void redis_broker::socket_closed(const std::string& user) {
  asio::post(impl_->ioc, [m = impl_.get(), user] { m->closed(user); });
}

}  // namespace hf::broker
