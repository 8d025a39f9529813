#include "net/webhook_sender.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <optional>
#include <thread>
#include <unordered_set>

#include "net/http_stream.hpp"
#include "net/http_target.hpp"
#include "protocol/envelope.hpp"

namespace hf::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;

namespace {

// One POST, from connecting to the answer's last byte (section 14).
constexpr auto post_timeout = std::chrono::seconds(5);
// A receiver's answer is not read for anything but its status: a larger
// body fails the attempt instead of filling memory.
constexpr std::uint64_t max_answer_body = 64 << 10;
// Drops are logged at most this often (with how many since the last line).
constexpr auto drop_log_every = std::chrono::seconds(10);
// The sender thread's nice value: it yields the CPU to the workers when both
// want it (a webhook may wait a millisecond; a publish should not).
constexpr int sender_niceness = 10;
// Outbox holds are sent in commands of at most this many refs.
constexpr std::size_t hold_batch = 1000;

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct webhook_sender::impl {
  struct event {
    std::string id, body, ref;  // ref: in the outbox ("" when only here)
    std::int64_t made_ms = 0;
    unsigned failures = 0;
    bool keeping = false;  // an outbox keep is under way
    bool adopted = false;  // taken over from another node
    // The publish's answer waits for this event's safekeeping: run once it
    // is kept (or cannot be); the worker bounds the wait (webhook_keep_wait).
    std::function<void()> answer_waits;
  };
  using event_ptr = std::shared_ptr<event>;

  impl(webhook_options o, broker::webhook_outbox* box)
      : opt(std::move(o)),
        where(parse_http_url("WEBHOOK_URL", opt.url)),
        outbox(box),
        guard(asio::make_work_guard(ioc)),
        wake(ioc),
        hold_timer(ioc),
        adopt_timer(ioc),
        tls(asio::ssl::context::tls_client) {
    use_system_roots(tls);
  }

  webhook_options opt;
  http_target where;
  broker::webhook_outbox* outbox;
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::thread thread;
  asio::steady_timer wake, hold_timer, adopt_timer;
  asio::ssl::context tls;

  // Sender thread only.
  std::multimap<clock::time_point, event_ptr> due;  // waiting for their next attempt
  std::unordered_set<std::string> ids;              // every event here (no adoption twice)
  std::size_t events = 0, bytes = 0;                // waiting and in flight
  std::map<std::int64_t, std::size_t> made_at;      // made_ms -> events (the oldest's age)
  std::uint64_t drops_unlogged = 0;
  clock::time_point last_drop_log{};

  // Any thread reads (sample()).
  std::array<std::atomic<std::uint64_t>, metrics::index(metrics::webhook_event::count_)> made{};
  std::atomic<std::uint64_t> sent{0}, failed{0}, retried{0}, adopted{0};
  std::array<std::atomic<std::uint64_t>, metrics::index(metrics::webhook_drop::count_)> dropped{};
  std::atomic<std::uint64_t> queued{0};
  // Events handed over whose first attempt has not ended (flush waits for them).
  std::atomic<std::int64_t> fresh{0};
  // Events and bytes handed over by the workers and not yet in the queue:
  // the queue's bounds count them, so that a sender thread that falls
  // behind cannot let the hand-over grow without bound.
  std::atomic<std::int64_t> handed_events{0}, handed_bytes{0}, queued_bytes{0};
  std::atomic<std::int64_t> last_handover_drop_log{0};

  // On the worker's thread: room for one more event of about `size` bytes?
  // If not, it is dropped (counted, and logged at most every 10 s).
  bool reserve(std::size_t size) {
    auto n = handed_events.fetch_add(1) + 1;
    auto b = handed_bytes.fetch_add(std::int64_t(size)) + std::int64_t(size);
    if (std::uint64_t(n) + queued.load() <= opt.max_events &&
        std::uint64_t(b + queued_bytes.load()) <= opt.max_bytes)
      return true;
    handed_events -= 1;
    handed_bytes -= std::int64_t(size);
    ++dropped[metrics::index(metrics::webhook_drop::queue_full)];
    auto now = unix_ms();
    auto last = last_handover_drop_log.load();
    if (now - last >= 10'000 && last_handover_drop_log.compare_exchange_strong(last, now))
      spdlog::warn(
          "webhook: the queue is full ({} events or {} MiB); dropping events, see "
          "hopeflow_webhook_dropped_total",
          opt.max_events, opt.max_bytes >> 20);
    return false;
  }
  void handed(std::size_t size) {  // on the sender's thread, once the event is made
    handed_events -= 1;
    handed_bytes -= std::int64_t(size);
  }
  std::atomic<std::int64_t> oldest_ms{0};  // 0: none

  // --- one connection, one POST at a time ---
  struct link : std::enable_shared_from_this<link> {
    explicit link(impl& m)
        : m(m), resolver(m.ioc), resolve_deadline(m.ioc), stream(m.ioc, m.tls, m.where) {}
    impl& m;
    tcp::resolver resolver;
    asio::steady_timer resolve_deadline;  // the 5 s start with the name lookup
    http_stream stream;
    bool open = false;
    bool busy = false;
    // This POST went on a connection an earlier one used: if it fails
    // before any answer, the receiver had closed it while idle (keep-alive
    // timeouts), and the POST goes again at once on a new connection
    // without counting a failure.
    bool reused = false;
    bool answered = false;
    clock::time_point started;  // of this attempt
    beast::flat_buffer buffer;
    http_stream::request req;
    std::optional<http_stream::response_parser> parser;
    event_ptr ev;

    void close() {
      stream.close();
      open = false;
      buffer.clear();
    }

    void post(event_ptr e) {
      busy = true;
      ev = std::move(e);
      reused = open;
      answered = false;
      if (open) {
        stream.lowest().expires_after(post_timeout);
        return write();
      }
      started = clock::now();
      resolve_deadline.expires_after(post_timeout);
      resolve_deadline.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec) self->resolver.cancel();  // a lookup that hangs ends the attempt
      });
      resolver.async_resolve(
          m.where.host, m.where.port,
          [self = shared_from_this()](boost::system::error_code ec, tcp::resolver::results_type r) {
            self->resolve_deadline.cancel();
            if (ec)
              return self->done(false, ec == asio::error::operation_aborted
                                           ? "the name lookup timed out"
                                           : ec.message());
            self->connect(r);
          });
    }

    void connect(const tcp::resolver::results_type& r) {
      stream.connect(
          r,
          [self = shared_from_this()](boost::system::error_code ec) {
            if (ec) return self->done(false, ec.message());
            self->stream.lowest().socket().set_option(tcp::no_delay(true), ec);
            self->open = true;
            self->write();
          },
          std::max<clock::duration>(post_timeout - (clock::now() - started),
                                    std::chrono::milliseconds(1)));  // the rest of the 5 s
    }

    void write() {
      req = {bhttp::verb::post, m.where.target, 11};
      req.set(bhttp::field::host, m.where.host_header);
      req.set(bhttp::field::user_agent, "hopeflow-realtime");
      req.set(bhttp::field::content_type, "application/json");
      std::int64_t t = unix_ms() / 1000;
      req.set("hopeflow-signature", protocol::webhook_signature(m.opt.secret, t, ev->body));
      req.body() = ev->body;
      req.prepare_payload();
      stream.write(req, [self = shared_from_this()](boost::system::error_code ec) {
        if (ec) return self->done(false, ec.message(), ec);
        self->read();
      });
    }

    void read() {
      parser.emplace();
      parser->body_limit(max_answer_body);
      stream.read(buffer, *parser, [self = shared_from_this()](boost::system::error_code ec) {
        bool head = self->parser->is_header_done();
        // An answer too long to read is judged by its status (and its
        // connection is not kept).
        if (ec && !(ec == bhttp::error::body_limit && head)) {
          self->answered = head;
          return self->done(false, ec.message(), ec);
        }
        self->answered = true;
        auto& res = self->parser->get();
        bool ok = res.result_int() / 100 == 2;
        if (ec || !res.keep_alive()) self->close();
        self->done(ok, ok ? "" : "HTTP " + std::to_string(res.result_int()));
      });
    }

    // The receiver closed a kept-alive connection while it was idle: the
    // first write or read on it fails at once like this, before any answer.
    static bool closed_while_idle(boost::system::error_code ec) {
      return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
             ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
    }

    void done(bool ok, const std::string& why, boost::system::error_code ec = {}) {
      if (!ok) close();  // a connection that failed once is not trusted again
      if (!ok && reused && !answered && closed_while_idle(ec))
        return post(std::move(ev));  // on a new connection: not reused this time
      if (open) stream.lowest().expires_never();
      busy = false;
      m.attempted(std::move(ev), ok, why);
    }
  };
  std::vector<std::shared_ptr<link>> links;

  // --- the queue ---

  void add(event_ptr e, bool adopted_event) {
    if (events >= opt.max_events || bytes + e->body.size() > opt.max_bytes || ids.contains(e->id)) {
      if (!adopted_event && !ids.contains(e->id)) {
        drop(metrics::webhook_drop::queue_full, *e);
        --fresh;
      }
      release_answer(*e);
      // An adopted event that does not fit is left alone in the outbox:
      // another node (or this one, later) adopts it again.
      return;
    }
    if (adopted_event &&
        std::chrono::milliseconds(unix_ms() - e->made_ms) >= protocol::webhook_give_up_after) {
      drop(metrics::webhook_drop::expired, *e);  // its node had it for the whole window
      if (outbox) outbox->forget({e->ref});
      return;
    }
    if (adopted_event) ++adopted;
    ++events;
    bytes += e->body.size();
    ids.insert(e->id);
    ++made_at[e->made_ms];
    publish_depth();
    if (outbox && e->ref.empty()) keep(e);
    if (!e->keeping) release_answer(*e);  // nothing to wait for without an outbox keep
    due.emplace(clock::now(), std::move(e));
    pump();
  }

  void keep(const event_ptr& e) {
    e->keeping = true;
    outbox->keep({"", e->id, e->body, e->made_ms},
                 [this, e](std::string ref, std::vector<broker::stored_event> found) {
                   asio::post(ioc, [this, e, ref = std::move(ref), found = std::move(found)] {
                     e->keeping = false;
                     release_answer(*e);
                     if (!ids.contains(e->id)) {  // delivered (or dropped) meanwhile
                       if (!ref.empty()) outbox->forget({ref});
                     } else {
                       e->ref = ref;
                     }
                     take_over(found);
                   });
                 });
  }

  // Lets the publish whose answer waits for `e` go on (once).
  void release_answer(event& e) {
    if (e.answer_waits) std::exchange(e.answer_waits, nullptr)();
  }

  void take_over(const std::vector<broker::stored_event>& found) {
    for (const auto& s : found) {
      if (ids.contains(s.id)) continue;
      auto e = std::make_shared<event>();
      e->id = s.id;
      e->body = s.body;
      e->ref = s.ref;
      e->made_ms = s.made_ms;
      e->adopted = true;
      add(std::move(e), true);
    }
  }

  void forget(event& e) {
    --events;
    bytes -= e.body.size();
    ids.erase(e.id);
    auto it = made_at.find(e.made_ms);
    if (it != made_at.end() && --it->second == 0) made_at.erase(it);
    publish_depth();
    if (outbox && !e.ref.empty()) outbox->forget({e.ref});
  }

  void publish_depth() {
    queued = events;
    queued_bytes = std::int64_t(bytes);
    oldest_ms = made_at.empty() ? 0 : made_at.begin()->first;
  }

  void drop(metrics::webhook_drop why, const event& e) {
    ++dropped[metrics::index(why)];
    ++drops_unlogged;
    auto now = clock::now();
    if (now - last_drop_log < drop_log_every) return;
    last_drop_log = now;
    spdlog::warn(
        "webhook: dropped {} event(s) ({}; the latest: {}); see hopeflow_webhook_dropped_total",
        drops_unlogged,
        why == metrics::webhook_drop::queue_full
            ? "the queue is full: " + std::to_string(opt.max_events) + " events or " +
                  std::to_string(opt.max_bytes >> 20) + " MiB"
            : "still undelivered after " + std::to_string(protocol::webhook_give_up_after.count()) +
                  " minutes",
        e.id);
    drops_unlogged = 0;
  }

  // Starts every attempt that is due on an idle connection; wakes up for
  // the next one.
  void pump() {
    auto now = clock::now();
    for (auto& l : links) {
      if (due.empty() || due.begin()->first > now) break;
      if (l->busy) continue;
      event_ptr e = std::move(due.begin()->second);
      due.erase(due.begin());
      if (e->failures) ++retried;
      if (outbox && e->ref.empty() && !e->keeping) keep(e);  // Redis was down before
      l->post(std::move(e));
    }
    if (due.empty()) return;
    // Due but every connection busy: done() pumps again.
    if (due.begin()->first <= now) return;
    wake.expires_at(due.begin()->first);
    wake.async_wait([this](boost::system::error_code ec) {
      if (!ec) pump();
    });
  }

  void attempted(event_ptr e, bool ok, const std::string& why) {
    if (e->failures == 0 && !e->adopted) --fresh;
    if (ok) {
      ++sent;
      forget(*e);
    } else {
      ++failed;
      ++e->failures;
      if (e->failures == 1 || e->failures % 5 == 0)
        spdlog::warn("webhook: POST of event {} to {} failed ({}); attempt {} failed, retrying",
                     e->id, where.display, why, e->failures);
      auto age = std::chrono::milliseconds(unix_ms() - e->made_ms);
      auto next = protocol::webhook_retry_delay(e->failures);
      if (age + next > protocol::webhook_give_up_after) {
        drop(metrics::webhook_drop::expired, *e);
        forget(*e);
      } else {
        due.emplace(clock::now() + next, std::move(e));
      }
    }
    pump();
  }

  // --- cluster mode: the outbox ---

  void schedule_hold() {
    hold_timer.expires_after(opt.hold_every);
    hold_timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      std::vector<std::string> refs;
      auto flush = [&] {
        if (!refs.empty())
          outbox->hold(refs,
                       [this, asked = refs](std::optional<std::vector<std::string>> held) mutable {
                         if (held)
                           asio::post(ioc, [this, asked = std::move(asked),
                                            held = std::move(*held)] { keep_again(asked, held); });
                       });
        refs.clear();
      };
      auto add_ref = [&](const event& e) {
        if (e.ref.empty()) return;
        refs.push_back(e.ref);
        if (refs.size() == hold_batch) flush();
      };
      for (auto& [at, e] : due) add_ref(*e);
      for (auto& l : links)
        if (l->busy && l->ev) add_ref(*l->ev);
      flush();
      schedule_hold();
    });
  }

  // Refs the outbox no longer has (Redis restarted empty, or a failover
  // lost them) are kept again, so that this node's death still loses none.
  void keep_again(const std::vector<std::string>& asked, const std::vector<std::string>& held) {
    std::unordered_set<std::string> still(held.begin(), held.end());
    std::unordered_set<std::string> gone;
    for (const auto& r : asked)
      if (!still.contains(r)) gone.insert(r);
    if (gone.empty()) return;
    auto again = [&](const event_ptr& e) {
      if (!e->ref.empty() && gone.contains(e->ref) && !e->keeping) {
        e->ref.clear();
        keep(e);
      }
    };
    for (auto& [at, e] : due) again(e);
    for (auto& l : links)
      if (l->busy && l->ev) again(l->ev);
  }

  void schedule_adopt() {
    adopt_timer.expires_after(opt.adopt_every);
    adopt_timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      if (events < opt.max_events)
        outbox->adopt([this](std::vector<broker::stored_event> found) {
          asio::post(ioc, [this, found = std::move(found)] { take_over(found); });
        });
      schedule_adopt();
    });
  }

  // --- new events (on the sender's thread) ---

  void make(metrics::webhook_event kind, std::string id, std::string body,
            std::function<void()> kept = {}) {
    ++made[metrics::index(kind)];
    auto e = std::make_shared<event>();
    e->id = std::move(id);
    e->body = std::move(body);
    e->made_ms = unix_ms();
    e->answer_waits = std::move(kept);
    add(std::move(e), false);
  }
};

webhook_sender::webhook_sender(webhook_options opt, broker::webhook_outbox* outbox)
    : impl_(std::make_unique<impl>(std::move(opt), outbox)) {
  for (unsigned i = 0; i < std::max(1u, impl_->opt.connections); ++i)
    impl_->links.push_back(std::make_shared<impl::link>(*impl_));
}

webhook_sender::~webhook_sender() { stop(); }

void webhook_sender::start() {
  auto& m = *impl_;
  if (m.outbox)
    asio::post(m.ioc, [&m] {
      m.schedule_hold();
      m.schedule_adopt();
    });
  m.thread = std::thread([&m] {
    // Background work: under a full CPU the workers' publishes come first
    // (measured: `hopeflow-bench webhooks`, docs/performance.md).
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), sender_niceness);
    m.ioc.run();
  });
  spdlog::info("webhook: events of publishes with \"webhook\": true go to {}{}", m.where.display,
               m.outbox ? " (kept in Redis until delivered)" : "");
}

void webhook_sender::flush(std::chrono::milliseconds longest) {
  auto& m = *impl_;
  auto until = clock::now() + longest;
  while (m.fresh > 0 && clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

void webhook_sender::stop() {
  auto& m = *impl_;
  if (!m.thread.joinable()) return;
  asio::post(m.ioc, [&m] {
    m.wake.cancel();
    m.hold_timer.cancel();
    m.adopt_timer.cancel();
    for (auto& l : m.links) {
      l->resolver.cancel();
      l->resolve_deadline.cancel();
      l->close();
      if (l->ev) l->ev->answer_waits = nullptr;  // the closures end here, on a live thread
    }
    for (auto& [at, e] : m.due) e->answer_waits = nullptr;
    m.guard.reset();
    m.ioc.stop();
  });
  m.thread.join();
  if (m.events)
    spdlog::warn("webhook: {} undelivered event(s) at shutdown{}", m.events,
                 m.outbox ? " (kept in Redis: another node sends them)" : " (lost)");
}

void webhook_sender::unacked(std::string envelope_json, std::size_t client_count,
                             std::vector<protocol::receipt> devices, std::function<void()> kept) {
  auto& m = *impl_;
  std::size_t size = envelope_json.size() + 96 + devices.size() * 48;  // the body, about
  if (!m.reserve(size)) {
    ++m.made[metrics::index(metrics::webhook_event::unacked)];
    if (kept) kept();
    return;
  }
  ++m.fresh;
  asio::post(m.ioc, [&m, size, env = std::move(envelope_json), client_count,
                     devices = std::move(devices), kept = std::move(kept)]() mutable {
    m.handed(size);
    std::string id = protocol::random_uuid_v4();
    std::string body = protocol::serialize_unacked(id, env, client_count, devices);
    m.make(metrics::webhook_event::unacked, std::move(id), std::move(body), std::move(kept));
  });
}

void webhook_sender::late_ack(protocol::late_ack a) {
  auto& m = *impl_;
  std::size_t size = a.result_json.size() + a.user_id.size() + 160;
  if (!m.reserve(size)) {
    ++m.made[metrics::index(metrics::webhook_event::late_ack)];
    return;
  }
  ++m.fresh;
  asio::post(m.ioc, [&m, size, a = std::move(a)] {
    m.handed(size);
    std::string id = protocol::random_uuid_v4();
    std::string body = protocol::serialize_late_ack(id, a);
    m.make(metrics::webhook_event::late_ack, std::move(id), std::move(body));
  });
}

metrics::webhook_sample webhook_sender::sample() const {
  auto& m = *impl_;
  metrics::webhook_sample s;
  for (std::size_t i = 0; i < s.made.size(); ++i) s.made[i] = m.made[i].load();
  for (std::size_t i = 0; i < s.dropped.size(); ++i) s.dropped[i] = m.dropped[i].load();
  s.sent = m.sent;
  s.failed = m.failed;
  s.retried = m.retried;
  s.adopted = m.adopted;
  s.queued = m.queued;
  std::int64_t oldest = m.oldest_ms;
  s.oldest_seconds = oldest ? std::max<double>(0, double(unix_ms() - oldest) / 1000.0) : 0;
  return s;
}

}  // namespace hf::net
