// The load tool's clients: a WebSocket client and a keep-alive HTTP publisher,
// both hand-rolled on Asio so that their CPU cost stays small next to the
// server's (client frames use the all-zero mask key, which RFC 6455 permits
// on the wire; the server cannot tell). Each client lives on one io_context
// and is driven only from its thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hfb {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// A masked client frame (mask key 0) carrying `payload` with `opcode`.
std::string client_frame(std::string_view payload, unsigned opcode = 0x1);

class ws_client : public std::enable_shared_from_this<ws_client> {
 public:
  // `subscribe` is the JSON sent after the upgrade (several messages: one a line); `ack_result` is
  // the JSON sent as `result` in an ack for every envelope (nullopt: never ack).
  ws_client(asio::io_context& ioc, std::string token, std::string subscribe,
            std::optional<std::string> ack_result);

  // Connects (from `source` when given), upgrades, subscribes and waits for
  // the pong that proves the subscription is in place; then `on_ready(true)`.
  // On any failure `on_ready(false)`.
  void start(const tcp::endpoint& server, std::optional<asio::ip::address> source,
             std::function<void(bool)> on_ready);

  // Sends a close frame and closes the TCP connection once it is written.
  void close();

  std::uint64_t envelopes() const { return envelopes_; }
  // permessage-deflate offered in the handshake (set before start()).
  void set_compression(bool on) { compression_ = on; }
  std::uint64_t bytes_in() const { return bytes_in_; }      // from the server, on the wire
  std::uint64_t compressed() const { return compressed_; }  // envelopes that came compressed
  bool open() const { return open_; }

  // Recovery (docs/protocol.md section 7): sends `recover_json` right after the
  // subscribe (before the ping); from then on the client keeps its position
  // (the epoch of the last `recovered` frame and the last offset seen).
  void set_recover(std::string recover_json) { recover_ = std::move(recover_json); }
  const std::string& epoch() const { return epoch_; }
  std::uint64_t offset() const { return offset_; }
  std::uint64_t replayed() const { return replayed_; }  // envelopes before the recovered frame
  int recovered() const { return recovered_; }          // -1 no frame yet, 0 false, 1 true
  // Drops the TCP connection without a close frame (a network that goes).
  void drop();
  // Acks this long after each envelope arrives (a device that takes a
  // while), rather than at once (set before start()).
  void set_ack_delay(std::chrono::milliseconds d) { ack_delay_ = d; }

 private:
  void do_read();
  void on_data(std::size_t n);
  void handle_text(std::string_view text);
  void flush();
  void fail();

  tcp::socket socket_;
  std::string token_, subscribe_;
  std::optional<std::string> ack_result_;
  std::function<void(bool)> on_ready_;
  std::vector<char> rbuf_;
  std::size_t have_ = 0;
  bool upgraded_ = false, ready_ = false, open_ = false, writing_ = false, closing_ = false;
  std::string pending_, inflight_;
  std::uint64_t envelopes_ = 0, bytes_in_ = 0, compressed_ = 0;
  bool compression_ = false;
  std::string recover_, epoch_;
  std::uint64_t offset_ = 0, replayed_ = 0;
  int recovered_ = -1;
  std::chrono::milliseconds ack_delay_{0};
};

// One keep-alive HTTP/1.1 connection sending one request at a time.
class http_publisher : public std::enable_shared_from_this<http_publisher> {
 public:
  struct answer {
    bool ok = false;  // a 200 with a parseable body
    int status = 0;
    long client_count = -1;
    long results = -1;
  };
  using done_fn = std::function<void(const answer&)>;

  explicit http_publisher(asio::io_context& ioc);
  void connect(const tcp::endpoint& server, std::function<void(bool)> done);
  // `request` must stay alive until `done` runs.
  void send(const std::string& request, done_fn done);

 private:
  void do_read();
  bool parse();

  tcp::socket socket_;
  std::vector<char> rbuf_;
  std::size_t have_ = 0;
  done_fn done_;
};

// A full POST /publish request for `body`, authorised by `token`.
std::string publish_request(const std::string& host, const std::string& token,
                            const std::string& body);

}  // namespace hfb
