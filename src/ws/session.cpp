#include "ws/session.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/smart_ptr/intrusive_ptr.hpp>
#include <boost/smart_ptr/intrusive_ref_counter.hpp>
#include <cerrno>
#include <cstring>
#include <span>
#include <vector>

#include "broker/broker.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "hub/connection.hpp"
#include "hub/shard.hpp"
#include "metrics/metrics.hpp"
#include "net/ready_set.hpp"
#include "net/socket.hpp"
#include "protocol/vocabulary.hpp"
#include "ws/frame.hpp"
#include "ws/handshake.hpp"
#include "ws/outbox.hpp"

namespace hf::ws {
namespace asio = boost::asio;
using metrics::close_reason;
using metrics::limit_kind;

namespace {

// Every close is bounded: from the moment a socket starts closing (our close
// frame, the peer's, a protocol error, a refused upgrade), it has this long
// to finish (the peer's answer read, or our last frame written) before the
// TCP connection is dropped: a peer that stops reading cannot keep the fd
// and the unsent frames. The deadlines are kept by the worker's ready set
// (within its 100 ms tick), not by a timer per socket.
constexpr auto close_timeout = std::chrono::seconds(5);
// An upgrade waits this long for the cluster subscription of its user (one
// Redis round trip when healthy) before it is refused with 503.
constexpr auto subscribe_timeout = std::chrono::seconds(10);
// Longest a peer may keep sending after our last frame (see linger()).
constexpr auto linger_time = std::chrono::seconds(1);

// Every socket of a worker reads into this buffer (one per thread), so no
// socket holds a read buffer of its own.
constexpr std::size_t read_chunk = 64 * 1024;
thread_local std::array<char, read_chunk> read_buffer;
// Bytes one socket may have handled per turn of its worker's event loop
// before it yields (as Redis bounds the work per client per event): 16 KiB
// is a few hundred small messages, a millisecond or two of work at most.
constexpr std::size_t read_budget = 16 * 1024;

// permessage-deflate, per worker thread: one inflater for every socket's
// compressed messages, and one compressor with the last envelope it
// compressed, so a publish is compressed once for all the sockets of this
// thread that negotiated the extension (they are sent to one after another).
thread_local inflater thread_inflater;
struct compressed_envelope {
  deflater compressor;
  hub::shared_text source;  // the text last compressed (kept: a pointer alone could be reused)
  std::uint8_t bits = 0;
  hub::shared_text result;
};
thread_local compressed_envelope last_compressed;

// Null when zlib could not compress it (out of memory): sent uncompressed.
hub::shared_text compressed_of(const hub::shared_text& text, std::uint8_t bits) {
  auto& c = last_compressed;
  if (c.source != text || c.bits != bits) {
    std::string out;
    if (!c.compressor.compress(*text, bits, out)) return nullptr;
    c.result = std::make_shared<const std::string>(std::move(out));
    c.source = text;
    c.bits = bits;
  }
  return c.result;
}

// The close frame of a server-initiated close, by reason.
constexpr protocol::close_frame server_close(close_reason why) {
  switch (why) {
    case close_reason::shutdown:
      return protocol::close_going_away;
    case close_reason::slow_consumer:
      return protocol::close_slow_consumer;
    case close_reason::token_expired:
      return protocol::close_token_expired;
    case close_reason::replaced:
      return protocol::close_replaced;
    default:
      return {close_code::internal_error, ""};
  }
}

// One WebSocket. Lives on the owning shard's thread. Idle, it holds: its
// descriptor in the worker's ready set (net/ready_set.hpp: no Asio state,
// no pending operation, no read buffer), the reader (empty strings), and
// its filters; nothing else.
class session final : public hub::connection,
                      public frame_handler,
                      public net::ready_set::watcher,
                      // An intrusive count (atomic: the cluster's `ready`
                      // callback copies a reference on another thread):
                      // no control block, no weak pointer.
                      public boost::intrusive_ref_counter<session> {
 public:
  session(session_context& c, int fd) : c_(c), fd_(fd), reader_(c.cfg.max_message_bytes) {
    ++c_.live_sessions;
  }
  ~session() override {
    if (fd_ >= 0) ::close(fd_);                            // never added to the set (add failed)
    if (announced_) c_.presence.socket_closed(user_id());  // shutdown: abandoned
    --c_.live_sessions;
  }

  void run(upgrade up) {
    // In the set from the start: a refusal may need to wait for room to
    // write, and bytes that arrive before open() are remembered (read_ready_).
    // While in the set, the session holds itself (released by drop()).
    if (!c_.ready.add(fd_, *this)) {
      core::log_refusal(spdlog::level::warn, "upgrade dropped: epoll refused the socket ({})",
                        std::strerror(errno));
      return;
    }
    self_ = ref();
    opening_ = std::make_unique<upgrade>(std::move(up));
    if (over_user_limit()) return;
    if (opening_->deflate) {
      deflate_bits_ = opening_->deflate->server_window_bits;
      reader_.use_deflate(&thread_inflater);
    }
    announced_ = true;
    // In a cluster, the 101 waits until publishes from any node will find
    // this socket (the node's subscription to the user is confirmed), for at
    // most subscribe_timeout. `ready` may run on any thread: it only posts.
    auto ready = [self = ref()] { asio::post(self->c_.ioc, [self] { self->open(); }); };
    if (c_.presence.socket_opening(user_id(), std::move(ready))) return open();
    deadline_in(subscribe_timeout);
  }

  void open() {
    if (fd_ < 0 || closing_) return;  // refused meanwhile (timeout)
    c_.ready.clear_deadline(*this);
    // Checked again now that the socket is about to count: parallel upgrades
    // of one user all passed run() while their subscriptions were pending.
    if (over_user_limit()) return;
    // What the handshake needed is released here: an open socket keeps none of it.
    std::unique_ptr<upgrade> up = std::move(opening_);
    // Corked: the 101 and what answers the frames that came with the
    // upgrade (a pong, a refusal) leave in one write.
    writing_ = true;
    enqueue_raw(std::make_shared<const std::string>(
        switching_protocols_response(up->accept, up->extensions)));
    if (c_.stopping) {
      leave(up->user_id);  // never attached: the id goes with `up`
      close(close_reason::shutdown);
    } else {
      // From here on the shard's copy of the id is the socket's (user_id()).
      std::int64_t since = c_.shard.attach(*this, up->user_id, up->expires_at, up->device);
      if (!up->device.empty()) c_.presence.device_opened(up->user_id, up->device, since);
      ++c_.metrics.ws_connects;
      opened_ = true;
      // false: a close or an error, no more reads
      reading_ = up->early_bytes.empty() ||
                 reader_.feed(up->early_bytes.data(), up->early_bytes.size(), *this);
    }
    writing_ = false;
    do_write();
    // Bytes that came while the upgrade waited: read now.
    if (reading_ && read_ready_ && fd_ >= 0) read_more(read_budget);
  }

  // net::ready_set::watcher
  void on_ready(std::uint32_t events) override {
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) peer_gone_ = true;
    if (box_.in_flight() && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))) continue_write();
    if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) || fd_ < 0) return;
    if (!reading_) {
      read_ready_ = true;  // before open(): read there
      return;
    }
    if (read_queued_) return;  // the posted continuation reads it (one chain of reads)
    read_more(read_budget);
  }
  void on_deadline() override {
    if (opening_ && !closing_) {  // still waiting for the cluster subscription
      core::log_refusal(spdlog::level::warn,
                        "upgrade refused: 503 (no cluster subscription for user {} within {} s)",
                        core::printable(user_id()), subscribe_timeout.count());
      return refuse(503, "Service Unavailable");
    }
    drop();  // a close that did not finish in time
  }
  void on_flush() override {
    if (!writing_) do_write();
  }
  void abandon() override {
    // Shutdown: the worker's io_context runs no more. The set has let go.
    ::close(fd_);
    fd_ = -1;
    auto last = std::move(self_);  // may destroy this session: last statement
  }

  // hub::connection
  hub::send_status send_text(hub::shared_text text) override {
    if (closing_ || fd_ < 0) return hub::send_status::closed;
    auto over_limit = [&] {
      return box_.bytes() + text->size() > c_.cfg.max_queued_bytes ||
             box_.frames() >= c_.cfg.max_queued_messages;
    };
    // The limits are on what the kernel has not taken: frames waiting for
    // the end of the turn (a replay of many envelopes, a burst) are written
    // now, as far as the kernel takes them, rather than counted against them.
    if (over_limit()) write_now();
    if (over_limit()) {
      core::log_refusal(spdlog::level::warn,
                        "closing socket of user {}: slow consumer ({} bytes, {} frames queued)",
                        core::printable(user_id()), box_.bytes(), box_.frames());
      c_.metrics.refused(limit_kind::slow_consumer_1008);
      close(close_reason::slow_consumer);
      return hub::send_status::dropped;
    }
    bool behind = writing_;
    hub::shared_text compressed;
    if (deflate_bits_ && text->size() >= c_.cfg.compression_min_bytes)
      compressed = compressed_of(text, deflate_bits_);
    if (compressed)
      enqueue(op_text, std::move(compressed), true);
    else
      enqueue(op_text, std::move(text));
    return behind ? hub::send_status::queued : hub::send_status::sent;
  }

  // Server-initiated close: drop what is not yet on the wire, send the close
  // frame, stop being a target, and wait (bounded) for the peer's close.
  void close(close_reason why) override {
    if (closing_) return;
    reason_ = why;
    begin_closing();
    drop_queue();
    auto frame = server_close(why);
    enqueue_raw(std::make_shared<const std::string>(make_close_frame(frame.code, frame.reason)));
    // Retire is posted: the hub may be iterating this user's sockets now.
    asio::post(c_.ioc, [self = ref()] { self->c_.shard.retire(*self); });
  }

  bool heartbeat() override {
    if (closing_) return true;  // the close deadline bounds a closing socket
    if (heard_) {
      heard_ = false;
      ping_out_ = false;
      return true;
    }
    if (ping_out_) return false;  // silent through a whole interval after our ping
    static const hub::shared_text ping =
        std::make_shared<const std::string>(make_frame(op_ping, {}));
    enqueue_raw(ping);
    ping_out_ = true;
    return true;
  }

  void abort() override {
    reason_ = close_reason::heartbeat;
    core::log_refusal(spdlog::level::info, "closing socket of user {}: no answer to heartbeat ping",
                      core::printable(user_id()));
    drop();
  }

  // ws::frame_handler
  void on_text(std::string_view message) override { c_.shard.on_text(*this, message); }
  void on_ping(std::string_view payload) override {
    if (closing_) return;
    hub::shared_text pong = std::make_shared<const std::string>(make_frame(op_pong, payload));
    if (box_.replace_pong(pong)) return;  // one unsent pong answers them all
    push(outbox::raw(std::move(pong)), true);
  }
  void on_close(std::uint16_t code, std::string_view) override {
    if (!closing_) reason_ = close_reason::client_close;
    // The peer's close: answer it (unless ours crossed it) and hang up after.
    // The socket counts until its fd is closed (linger or drop: detach).
    c_.shard.retire(*this);
    hang_up_after_write_ = true;
    if (!closing_) {
      // Frames already queued (answers to earlier messages) go out first,
      // within the close deadline.
      begin_closing();
      std::uint16_t echo = code == close_code::no_status ? close_code::normal : code;
      enqueue_raw(std::make_shared<const std::string>(make_close_frame(echo, {})));
    } else if (!writing_ && !box_.queued()) {  // our close is out (else: after_write)
      drop();
    }
  }
  void on_error(std::uint16_t code, std::string_view why) override {
    reason_ = code == close_code::too_big ? close_reason::too_big : close_reason::protocol_error;
    if (code == close_code::too_big) c_.metrics.refused(limit_kind::message_1009);
    core::log_refusal(spdlog::level::info, "closing socket of user {}: {} ({})",
                      core::printable(user_id()), why, code);
    c_.shard.retire(*this);
    hang_up_after_write_ = true;
    bool close_sent = closing_;  // our close frame is queued or sent: one is enough
    begin_closing();
    drop_queue();
    if (!close_sent)
      return enqueue_raw(std::make_shared<const std::string>(make_close_frame(code, why)));
    if (!writing_ && !box_.queued()) linger();  // it is out already: nothing to wait for
  }

 private:
  boost::intrusive_ptr<session> ref() { return boost::intrusive_ptr<session>(this); }

  // The user, without a copy of its own: the upgrade's until open(), then
  // the shard's while attached; empty after (nothing asks then).
  const std::string& user_id() const noexcept {
    if (opening_) return opening_->user_id;
    return hub::shard::user_of(*this);
  }

  // The socket stops counting: its presence (socket_opening's pair, while
  // the id is still at hand) and its place in the shard.
  void leave(const std::string& id) {
    if (announced_) c_.presence.socket_closed(id);
    announced_ = false;
  }
  void leave() {
    leave(user_id());
    c_.shard.detach(*this);
  }

  // MAX_SOCKETS_PER_USER, checked before the handshake completes: a refusal
  // is a plain HTTP answer a client can show, rather than an
  // opened-then-closed socket (which browsers would retry at once).
  bool over_user_limit() {
    if (c_.shard.sockets_of(user_id()) < c_.cfg.max_sockets_per_user) return false;
    c_.metrics.refused(limit_kind::sockets_per_user_429);
    core::log_refusal(spdlog::level::warn, "upgrade refused: 429 (user {} holds {} sockets)",
                      core::printable(user_id()), c_.cfg.max_sockets_per_user);
    refuse(429, "Too Many Requests");
    return true;
  }

  // Answers the upgrade with an HTTP error instead of 101, then hangs up.
  void refuse(unsigned status, std::string_view text) {
    hang_up_after_write_ = true;
    begin_closing();
    enqueue_raw(std::make_shared<const std::string>(refusal_response(status, text)));
  }

  // Reads what is there into the worker's buffer, up to `budget` bytes in
  // this turn, and feeds it to the reader (or, lingering, throws it away).
  // Edge-triggered, the socket is read until the kernel has no more: a
  // read shorter than asked means it is drained (a later arrival is a new
  // edge), unless the peer has hung up, whose end must still be read. A
  // socket that sends faster than the budget yields the thread after each
  // budget (the rest is read in a posted continuation), so one flooding
  // client cannot hold up the other sockets and publishes of its worker.
  void read_more(std::size_t budget) {
    for (;;) {
      if (budget == 0) return queue_read();
      std::size_t want = std::min(budget, read_buffer.size());
      boost::system::error_code ec;
      std::size_t n = net::receive_now(fd_, read_buffer.data(), want, ec);
      if (ec == asio::error::would_block) return;
      if (ec) {  // EOF, reset: the peer is gone
        // What answers its last messages still goes (after a FIN, the
        // peer may read), rather than wait for a flush the drop cancels.
        if (ec == asio::error::eof && flush_asked() && !writing_) do_write();
        return drop();
      }
      budget -= n;
      if (lingering_) continue;  // thrown away
      heard_ = true;
      c_.metrics.ws_bytes_in += n;
      if (!reader_.feed(read_buffer.data(), n, *this)) {
        // A close or an error: no more frames. (Unless the close's answer
        // went out at once and the linger began: it reads from now on.)
        if (!lingering_) reading_ = false;
        return;
      }
      if (fd_ < 0) return;  // dropped while handling a message
      if (n < want && !peer_gone_) return;
    }
  }

  // The socket starts closing (once): no more data frames, and the close
  // deadline is set (replacing the upgrade's, if any).
  void begin_closing() {
    if (closing_) return;
    closing_ = true;
    deadline_in(close_timeout);
  }
  // The one deadline of an upgrading or closing socket (on_deadline), kept
  // by the worker's ready set: a later one replaces it.
  void deadline_in(std::chrono::seconds after) {
    c_.ready.set_deadline(*this, net::ready_set::clock::now() + after);
  }

  // Forgets every data frame not yet handed to the kernel (the in-flight
  // write finishes; raw bytes stay: outbox::drop_data).
  void drop_queue() { box_.drop_data(); }

  void enqueue(opcode op, hub::shared_text text, bool compressed = false) {
    push(outbox::data(op, std::move(text), compressed));
  }
  void enqueue_raw(hub::shared_text bytes) { push(outbox::raw(std::move(bytes))); }

  // Frames are written at the end of the turn (on_flush), not one by one:
  // every frame a socket is given during a turn (the envelopes of several
  // publishes, the answers to the messages of one read) leaves in one
  // sendmsg, and a publish's answer leaves before its deliveries. The queue's
  // memory is the thread's spare (outbox::sent_all), so this costs no
  // allocation per frame.
  void push(outbox::frame f, bool pong = false) {
    box_.push(std::move(f), pong);
    if (!writing_ && fd_ >= 0) c_.ready.flush_later(*this);
  }

  // Everything queued goes out in one gathered write: several envelopes for
  // one socket cost one sendmsg. The kernel usually takes it all, and then
  // nothing is kept. What it does not take waits, as the outbox's flight,
  // for the set to say there is room again (continue_write).
  void do_write() {
    if (!box_.queued() || fd_ < 0) return;
    std::size_t total = 0;
    std::vector<asio::const_buffer>& buffers = box_.gather(total);
    boost::system::error_code ec;
    std::size_t n = net::send_now(fd_, buffers, ec);
    settle(buffers, total, n, ec);
  }

  // After a send of the queue's `buffers` (`total` bytes) that took `n`.
  void settle(std::vector<asio::const_buffer>& buffers, std::size_t total, std::size_t n,
              boost::system::error_code ec) {
    if (ec == asio::error::would_block) n = 0, ec = {};
    if (ec) {
      // Handled later: this may run inside the hub's delivery loop, which a
      // detach must not change under it. The failed flight stays until
      // then: nothing else may finish it (continue_write leaves it alone).
      writing_ = true;
      box_.start_flight({}, 0, true);
      asio::post(c_.ioc, [self = ref(), ec] { self->on_write(ec); });
      return;
    }
    c_.metrics.ws_bytes_out += n;
    if (n == total) {
      box_.sent_all();
      return after_write();
    }
    writing_ = true;
    box_.start_flight(buffers, n, false);
    // More than one sendmsg's buffers were queued, or the kernel is full:
    // either way the next call says which.
    if (n) asio::post(c_.ioc, [self = ref()] { self->continue_write(); });
  }

  // Writes what is queued as far as the kernel takes it, now (inside the
  // hub's delivery loop: nothing here detaches the socket; a failed send is
  // handled in a posted turn, as in settle).
  void write_now() {
    if (fd_ < 0) return;
    if (!writing_) do_write();
    while (writing_ && box_.in_flight() && !box_.flight_failed()) {
      boost::system::error_code ec;
      if (!send_flight(ec)) {
        if (ec) {
          box_.fail_flight();
          asio::post(c_.ioc, [self = ref(), ec] { self->on_write(ec); });
        }
        return;  // blocked: the next EPOLLOUT edge
      }
      writing_ = false;  // the flight is out: what queued behind it goes next
      box_.end_flight();
      if (box_.queued()) do_write();
    }
  }

  // The write in flight goes on: called when the set reports room (or after
  // a partial write). Posted, not called in place, where it may run inside
  // the hub's delivery loop.
  void continue_write() {
    if (!box_.in_flight() || box_.flight_failed() || fd_ < 0) return;
    boost::system::error_code ec;
    if (send_flight(ec)) return on_write({});
    if (ec) on_write(ec);  // (else blocked: the next EPOLLOUT edge)
  }

  // Sends the flight until it is out (true) or the kernel takes no more
  // (false; `ec` set when the send failed rather than would block).
  bool send_flight(boost::system::error_code& ec) {
    while (!box_.flight_done()) {
      std::size_t n = net::send_now(fd_, box_.unsent(), ec);
      if (ec == asio::error::would_block) {
        ec = {};
        return false;
      }
      if (ec) return false;
      c_.metrics.ws_bytes_out += n;
      box_.advance(n);
    }
    return true;
  }

  void on_write(boost::system::error_code ec) {
    if (!box_.in_flight()) return;  // finished already
    writing_ = false;
    box_.end_flight();
    if (ec) return drop();  // broken connection: no close frame can reach the peer
    if (box_.queued()) return do_write();
    after_write();
  }

  void after_write() {
    if (hang_up_after_write_) return linger();
  }

  // After the last frame (a close, or a refusal): the socket is done here.
  // A lingering close (as nginx does, and net::linger_close for HTTP) lets
  // the peer read that frame before the descriptor is closed: FIN now, then
  // what the peer still sends is read and thrown away until it closes, for
  // at most linger_time. Closing at once would turn unread bytes into a
  // reset, and the peer could lose the frame. The session stays in the set
  // meanwhile, and still counts in live_sessions (the drain waits for it).
  void linger() {
    if (fd_ < 0 || lingering_) return;
    count_close();
    leave();
    if (::shutdown(fd_, SHUT_WR) != 0) return drop();
    lingering_ = true;
    reading_ = true;
    deadline_in(linger_time);
    // What came meanwhile (the peer's FIN may have, unread): read in a turn
    // of its own, as this may run inside a read whose buffer is being parsed.
    queue_read();
  }

  // Reading goes on in a posted turn. One at a time: edges that come
  // meanwhile leave it to that turn (else each would start a chain of its
  // own, and a flooding socket would get a share per edge).
  void queue_read() {
    if (read_queued_) return;
    read_queued_ = true;
    asio::post(c_.ioc, [self = ref()] {
      self->read_queued_ = false;
      if (self->reading_ && self->fd_ >= 0) self->read_more(read_budget);
    });
  }

  // Closes the TCP connection and releases everything the socket held.
  void drop() {
    count_close();
    leave();
    if (fd_ < 0) return;
    reading_ = false;
    c_.ready.remove(fd_, *this, true);
    ::close(fd_);  // sends FIN (or RST with unread data); no shutdown() needed
    fd_ = -1;
    // The set's hold ends after this call (which may run inside one of the
    // session's own functions): posted.
    if (self_) asio::post(c_.ioc, [last = std::move(self_)] {});
  }

  // Counts this socket's close once, by reason (an opened socket only).
  void count_close() {
    if (!opened_) return;
    opened_ = false;
    c_.metrics.closed(reason_);
  }

  session_context& c_;
  // Bounded by cfg.max_queued_bytes and cfg.max_queued_messages. The
  // descriptor after it lives in its tail padding.
  [[no_unique_address]] outbox box_;
  int fd_;  // -1 once dropped
  frame_reader reader_;
  boost::intrusive_ptr<session> self_;  // while in the ready set: the set's hold
  std::unique_ptr<upgrade> opening_;    // the handshake's leftovers, until open()
  bool writing_ = false;
  std::uint8_t deflate_bits_ = 0;  // permessage-deflate: the server's window; 0: not negotiated
  bool opened_ = false;            // counted in ws_connects; its close is counted once
  close_reason reason_ = close_reason::network;
  bool heard_ = true;                 // something arrived since the last heartbeat sweep
  bool ping_out_ = false;             // the last sweep sent a ping
  bool closing_ = false;              // a close frame is queued or sent: no more data frames
  bool hang_up_after_write_ = false;  // close handshake done (or failed): drop after the write
  bool reading_ = false;              // open and reading (or lingering); false after a close
  bool read_ready_ = false;           // bytes arrived before open(): read them there
  bool peer_gone_ = false;            // the peer hung up: read until the end, not a short read
  bool lingering_ = false;            // after the last frame: reading only to throw away
  bool read_queued_ = false;          // a read continues in a posted turn: edges wait for it
  bool announced_ = false;            // socket_opening was called: socket_closed is owed
};

}  // namespace

limits limits_of(const config::config& cfg) {
  return {.max_message_bytes = cfg.max_message_bytes,
          .max_queued_bytes = cfg.max_queued_bytes,
          .max_queued_messages = cfg.max_queued_messages,
          .compression_min_bytes = cfg.compression_min_bytes,
          .max_sockets_per_user = cfg.max_sockets_per_user};
}

void start_session(session_context& c, int fd, upgrade up) {
  boost::intrusive_ptr<session>(new session(c, fd))->run(std::move(up));
}

void after_heartbeat_sweep() noexcept { outbox::sweep_spares(); }

}  // namespace hf::ws
