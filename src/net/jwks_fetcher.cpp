#include "net/jwks_fetcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <future>
#include <limits>
#include <optional>
#include <stdexcept>
#include <thread>

#include "core/text.hpp"
#include "net/http_stream.hpp"

namespace hf::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;

namespace {

// One fetch, from resolving the host to the last byte of the body.
constexpr auto fetch_timeout = std::chrono::seconds(5);
// A JWKS document holds a few keys: a few KiB. More is refused unread.
constexpr std::uint64_t max_body = 1 << 20;
// Refetches for an unknown kid: at most one per this interval (a flood of
// tokens with made-up kids must not become a flood of fetches).
constexpr auto unknown_kid_interval = std::chrono::seconds(10);

}  // namespace

jwks_target parse_jwks_url(const std::string& url) { return parse_http_url("JWKS_URL", url); }

std::chrono::milliseconds jwks_retry_delay(unsigned failures, std::chrono::milliseconds refresh) {
  using std::chrono::milliseconds;
  milliseconds cap = std::min<milliseconds>(std::chrono::seconds(60), refresh);
  milliseconds delay = std::chrono::seconds(1);
  for (unsigned i = 1; i < failures && delay < cap; ++i) delay *= 2;
  return std::min(delay, cap);
}

struct jwks_fetcher::impl {
  impl(std::string u, std::chrono::milliseconds r,
       std::function<void(std::vector<auth::public_key>)> i)
      : where(parse_jwks_url(u)),
        url(where.display),
        refresh(r),
        install(std::move(i)),
        guard(asio::make_work_guard(ioc)),
        schedule(ioc),
        tls(asio::ssl::context::tls_client) {
    use_system_roots(tls);
  }

  jwks_target where;
  std::string url;  // as logged: no credentials (parse_jwks_url refuses them)
  std::chrono::milliseconds refresh;
  std::function<void(std::vector<auth::public_key>)> install;
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::thread thread;
  asio::steady_timer schedule;
  asio::ssl::context tls;
  std::array<std::atomic<std::uint64_t>, metrics::index(metrics::jwks_outcome::count_)> outcomes{};
  // When the latest unknown-kid fetch started (any thread reads it).
  std::atomic<std::int64_t> last_refetch_ns{std::numeric_limits<std::int64_t>::min() / 2};
  // Fetcher thread only.
  bool fetching = false;
  unsigned failures = 0;  // consecutive failed fetches: the retry backs off
  std::promise<bool> first;
  bool first_set = false;

  // One fetch; `done(outcome)` once, on this thread.
  struct fetch : std::enable_shared_from_this<fetch> {
    fetch(impl& m) : m(m), resolver(m.ioc), deadline(m.ioc), stream(m.ioc, m.tls, m.where) {}
    impl& m;
    tcp::resolver resolver;
    asio::steady_timer deadline;
    http_stream stream;
    beast::flat_buffer buffer;
    http_stream::request req;
    std::optional<http_stream::response_parser> parser;
    bool finished = false;

    void run() {
      deadline.expires_after(fetch_timeout);
      deadline.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec) return;
        self->resolver.cancel();
        if (self->stream.is_open()) self->stream.lowest().close();  // cancels what is pending
        self->done(metrics::jwks_outcome::unreachable, "timed out");
      });
      resolver.async_resolve(
          m.where.host, m.where.port,
          [self = shared_from_this()](boost::system::error_code ec, tcp::resolver::results_type r) {
            if (ec) return self->done(metrics::jwks_outcome::unreachable, ec.message());
            self->connect(r);
          });
    }

    void connect(const tcp::resolver::results_type& r) {
      stream.connect(r, [self = shared_from_this()](boost::system::error_code ec) {
        if (ec) return self->done(metrics::jwks_outcome::unreachable, ec.message());
        self->send();
      });
    }

    void send() {
      req = {bhttp::verb::get, m.where.target, 11};
      req.set(bhttp::field::host, m.where.host_header);
      req.set(bhttp::field::user_agent, "hopeflow-realtime");
      req.set(bhttp::field::accept, "application/json");
      req.set(bhttp::field::connection, "close");
      stream.write(req, [self = shared_from_this()](boost::system::error_code ec) {
        if (ec) return self->done(metrics::jwks_outcome::unreachable, ec.message());
        self->receive();
      });
    }

    void receive() {
      parser.emplace();
      parser->body_limit(max_body);
      stream.read(buffer, *parser, [self = shared_from_this()](boost::system::error_code ec) {
        if (ec == bhttp::error::body_limit)
          return self->done(metrics::jwks_outcome::too_large, "body above 1 MiB");
        if (ec) return self->done(metrics::jwks_outcome::unreachable, ec.message());
        self->parsed();
      });
    }

    void parsed() {
      auto& res = parser->get();
      if (res.result() != bhttp::status::ok)
        return done(metrics::jwks_outcome::bad_status,
                    "HTTP " + std::to_string(res.result_int()) + " (redirects are not followed)");
      auto keys = auth::parse_jwks(res.body());
      if (keys.error) return done(metrics::jwks_outcome::unusable, *keys.error);
      if (keys.keys.empty())
        return done(metrics::jwks_outcome::unusable,
                    "no usable key (" + std::to_string(keys.skipped) + " skipped)");
      std::size_t n = keys.keys.size();
      m.install(std::move(keys.keys));
      done(metrics::jwks_outcome::ok,
           std::to_string(n) + " keys (" + std::to_string(keys.skipped) + " skipped)");
    }

    void done(metrics::jwks_outcome outcome, const std::string& what) {
      if (finished) return;
      finished = true;
      deadline.cancel();
      boost::system::error_code ec;
      if (stream.is_open()) stream.lowest().socket().close(ec);
      ++m.outcomes[metrics::index(outcome)];
      if (outcome == metrics::jwks_outcome::ok)
        spdlog::info("jwks: fetched {}: {}", m.url, what);
      else
        spdlog::warn("jwks: fetching {} failed ({}); keeping the keys there are", m.url, what);
      m.fetched(outcome == metrics::jwks_outcome::ok);
    }
  };

  void start_fetch() {
    if (fetching) return;
    fetching = true;
    std::make_shared<fetch>(*this)->run();
  }

  void fetched(bool ok) {
    fetching = false;
    if (!first_set) {
      first_set = true;
      first.set_value(ok);
    }
    // A failure is retried sooner than `refresh`, backing off (1 s, 2 s, 4 s,
    // ... up to 60 s): a provider that was down comes back within a minute,
    // not after a whole JWKS_REFRESH_MS of refused logins.
    failures = ok ? 0 : failures + 1;
    schedule.expires_after(ok ? refresh : jwks_retry_delay(failures, refresh));
    schedule.async_wait([this](boost::system::error_code ec) {
      if (!ec) start_fetch();
    });
  }
};

jwks_fetcher::jwks_fetcher(std::string url, std::chrono::milliseconds refresh,
                           std::function<void(std::vector<auth::public_key>)> install)
    : impl_(std::make_unique<impl>(std::move(url), refresh, std::move(install))) {}

jwks_fetcher::~jwks_fetcher() { stop(); }

bool jwks_fetcher::start() {
  auto& m = *impl_;
  auto first = m.first.get_future();
  asio::post(m.ioc, [&m] { m.start_fetch(); });
  m.thread = std::thread([&m] { m.ioc.run(); });
  // The fetch bounds itself (fetch_timeout); a little more for scheduling.
  if (first.wait_for(fetch_timeout + std::chrono::seconds(1)) != std::future_status::ready)
    return false;
  return first.get();
}

void jwks_fetcher::stop() {
  auto& m = *impl_;
  if (!m.thread.joinable()) return;
  asio::post(m.ioc, [&m] {
    m.schedule.cancel();
    m.guard.reset();
    m.ioc.stop();
  });
  m.thread.join();
}

void jwks_fetcher::refetch_soon() {
  auto& m = *impl_;
  auto recent = [&m] {
    auto last = clock::time_point(clock::duration(m.last_refetch_ns.load()));
    return clock::now() - last < unknown_kid_interval;
  };
  if (recent()) return;  // cheap check on the caller's thread
  asio::post(m.ioc, [&m, recent] {
    if (recent() || m.fetching) return;
    m.last_refetch_ns = clock::now().time_since_epoch().count();
    spdlog::info("jwks: a token names an unknown key; fetching {} again", m.url);
    m.start_fetch();
  });
}

metrics::per<metrics::jwks_outcome> jwks_fetcher::counts() const {
  metrics::per<metrics::jwks_outcome> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = impl_->outcomes[i].load();
  return out;
}

}  // namespace hf::net
