#include "clients.hpp"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <cstring>

#include "ws/deflate.hpp"

namespace hfb {
namespace {
// Compressed envelopes are inflated by one inflater per load-tool thread.
thread_local hf::ws::inflater inflater;
thread_local std::string inflated;
}  // namespace

std::string client_frame(std::string_view payload, unsigned opcode) {
  std::string f;
  f.reserve(payload.size() + 14);
  f.push_back(static_cast<char>(0x80 | opcode));
  std::size_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n < 65536) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xFF));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  }
  f.append(4, '\0');  // mask key 0: payload bytes go out unchanged
  f.append(payload);
  return f;
}

ws_client::ws_client(asio::io_context& ioc, std::string token, std::string subscribe,
                     std::optional<std::string> ack_result)
    : socket_(ioc),
      token_(std::move(token)),
      subscribe_(std::move(subscribe)),
      ack_result_(std::move(ack_result)),
      rbuf_(4096) {}

void ws_client::start(const tcp::endpoint& server, std::optional<asio::ip::address> source,
                      std::function<void(bool)> on_ready) {
  on_ready_ = std::move(on_ready);
  boost::system::error_code ec;
  socket_.open(server.protocol(), ec);
  if (!ec && source) {
    // Let connect() pick the port for the full 4-tuple, so each source
    // address offers its whole ephemeral range.
    int one = 1;
    ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    socket_.bind(tcp::endpoint(*source, 0), ec);
  }
  if (ec) return fail();
  socket_.async_connect(server, [self = shared_from_this(), server](boost::system::error_code e) {
    if (e) return self->fail();
    self->socket_.set_option(tcp::no_delay(true), e);
    self->open_ = true;
    self->pending_ =
        "GET / HTTP/1.1\r\nHost: " + server.address().to_string() +
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
        std::string(self->compression_ ? "Sec-WebSocket-Extensions: permessage-deflate; "
                                         "client_max_window_bits\r\n"
                                       : "") +
        "Authorization: Bearer " + self->token_ + "\r\n\r\n";
    // Subscribe and ping right behind the handshake: the server reads them in order.
    // One frame per line (a subscribe carries at most 50 filters).
    for (std::size_t at = 0; at < self->subscribe_.size();) {
      std::size_t nl = std::min(self->subscribe_.find('\n', at), self->subscribe_.size());
      self->pending_ += client_frame(std::string_view(self->subscribe_).substr(at, nl - at));
      at = nl + 1;
    }
    if (!self->recover_.empty()) self->pending_ += client_frame(self->recover_);
    self->pending_ += client_frame("ping");
    self->flush();
    self->do_read();
  });
}

void ws_client::close() {
  if (!open_ || closing_) return;
  closing_ = true;
  pending_ += client_frame(std::string_view("\x03\xE8", 2), 0x8);
  flush();
}

void ws_client::drop() {
  boost::system::error_code ec;
  open_ = false;
  socket_.close(ec);
}

void ws_client::fail() {
  boost::system::error_code ec;
  bool was_ready = ready_;
  open_ = false;
  socket_.close(ec);
  if (!was_ready && on_ready_) {
    auto cb = std::move(on_ready_);
    on_ready_ = nullptr;
    cb(false);
  }
}

void ws_client::flush() {
  if (writing_ || pending_.empty() || !open_) return;
  writing_ = true;
  inflight_.swap(pending_);
  pending_.clear();
  asio::async_write(socket_, asio::buffer(inflight_),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      self->writing_ = false;
                      self->inflight_.clear();
                      if (ec) return self->fail();
                      if (self->closing_ && self->pending_.empty()) {
                        boost::system::error_code e;
                        self->socket_.shutdown(tcp::socket::shutdown_send, e);
                        return;
                      }
                      self->flush();
                    });
}

void ws_client::do_read() {
  if (rbuf_.size() - have_ < 2048) rbuf_.resize(rbuf_.size() * 2);
  socket_.async_read_some(asio::buffer(rbuf_.data() + have_, rbuf_.size() - have_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            if (ec) {
                              self->open_ = false;
                              boost::system::error_code e;
                              self->socket_.close(e);
                              if (!self->ready_) self->fail();
                              return;
                            }
                            self->on_data(n);
                          });
}

void ws_client::on_data(std::size_t n) {
  have_ += n;
  bytes_in_ += n;
  std::size_t pos = 0;
  if (!upgraded_) {
    std::string_view view(rbuf_.data(), have_);
    std::size_t end = view.find("\r\n\r\n");
    if (end == std::string_view::npos) return do_read();
    if (view.substr(0, 12) != "HTTP/1.1 101") return fail();
    upgraded_ = true;
    pos = end + 4;
  }
  for (;;) {
    if (have_ - pos < 2) break;
    auto b = [&](std::size_t i) { return static_cast<unsigned char>(rbuf_[pos + i]); };
    unsigned opcode = b(0) & 0x0F;
    bool compressed = b(0) & 0x40;
    std::size_t len = b(1) & 0x7F, header = 2;
    if (len == 126) {
      if (have_ - pos < 4) break;
      len = (std::size_t(b(2)) << 8) | b(3);
      header = 4;
    } else if (len == 127) {
      if (have_ - pos < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | b(2 + i);
      header = 10;
    }
    if (have_ - pos < header + len) {
      if (rbuf_.size() < header + len + 2048) rbuf_.resize(header + len + 2048);
      break;
    }
    std::string_view payload(rbuf_.data() + pos + header, len);
    pos += header + len;
    if (opcode == 0x1 && compressed) {
      if (inflater.inflate(payload, 1 << 24, inflated) != hf::ws::inflater::result::ok)
        return fail();
      ++compressed_;
      handle_text(inflated);
    } else if (opcode == 0x1)
      handle_text(payload);
    else if (opcode == 0x8) {
      open_ = false;
      boost::system::error_code e;
      socket_.close(e);
      return;
    }
  }
  std::memmove(rbuf_.data(), rbuf_.data() + pos, have_ - pos);
  have_ -= pos;
  flush();
  do_read();
}

void ws_client::handle_text(std::string_view text) {
  if (text == "pong") {
    if (!ready_) {
      ready_ = true;
      if (on_ready_) {
        auto cb = std::move(on_ready_);
        on_ready_ = nullptr;
        cb(true);
      }
    }
    return;
  }
  if (!recover_.empty()) {
    // {"type":"recovered","epoch":"E","offset":N,"recovered":B}, or an
    // envelope ending in ,"offset":N}
    static constexpr std::string_view frame = "{\"type\":\"recovered\",\"epoch\":\"";
    if (text.starts_with(frame)) {
      std::size_t end = text.find('"', frame.size());
      epoch_ = std::string(text.substr(frame.size(), end - frame.size()));
      std::size_t at = text.find("\"offset\":", end);
      offset_ = std::strtoull(text.data() + at + 9, nullptr, 10);
      recovered_ = text.find("\"recovered\":true") != std::string_view::npos ? 1 : 0;
      return;
    }
    std::size_t at = text.rfind(",\"offset\":");
    if (at != std::string_view::npos) offset_ = std::strtoull(text.data() + at + 10, nullptr, 10);
    if (recovered_ < 0) ++replayed_;
  }
  ++envelopes_;
  if (!ack_result_) return;
  // Envelopes start with {"envelopeId":"<36 chars>" (the contract's key order).
  static constexpr std::string_view key = "\"envelopeId\":\"";
  std::size_t at = text.find(key);
  if (at == std::string_view::npos || text.size() < at + key.size() + 36) return;
  std::string ack = "{\"type\":\"ack\",\"envelopeId\":\"";
  ack.append(text.substr(at + key.size(), 36));
  ack.append("\",\"result\":");
  ack.append(*ack_result_);
  ack.push_back('}');
  if (ack_delay_.count() == 0) {
    pending_ += client_frame(ack);
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(socket_.get_executor(), ack_delay_);
  timer->async_wait(
      [self = shared_from_this(), timer, frame = client_frame(ack)](boost::system::error_code ec) {
        if (ec) return;
        self->pending_ += frame;
        self->flush();
      });
}

http_publisher::http_publisher(asio::io_context& ioc) : socket_(ioc), rbuf_(4096) {}

void http_publisher::connect(const tcp::endpoint& server, std::function<void(bool)> done) {
  socket_.async_connect(server, [self = shared_from_this(), done](boost::system::error_code ec) {
    if (!ec) self->socket_.set_option(tcp::no_delay(true), ec);
    done(!ec);
  });
}

void http_publisher::send(const std::string& request, done_fn done) {
  done_ = std::move(done);
  have_ = 0;
  asio::async_write(socket_, asio::buffer(request),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      if (ec) {
                        auto cb = std::move(self->done_);
                        return cb(answer{});
                      }
                      self->do_read();
                    });
}

void http_publisher::do_read() {
  if (rbuf_.size() - have_ < 1024) rbuf_.resize(rbuf_.size() * 2);
  socket_.async_read_some(asio::buffer(rbuf_.data() + have_, rbuf_.size() - have_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            if (ec) {
                              auto cb = std::move(self->done_);
                              return cb(answer{});
                            }
                            self->have_ += n;
                            if (!self->parse()) self->do_read();
                          });
}

// Returns true when a whole response was consumed (and done_ was called).
bool http_publisher::parse() {
  std::string_view v(rbuf_.data(), have_);
  std::size_t end = v.find("\r\n\r\n");
  if (end == std::string_view::npos) return false;
  std::string_view head = v.substr(0, end);
  answer a;
  if (head.size() > 12) a.status = std::atoi(std::string(head.substr(9, 3)).c_str());
  std::size_t cl = 0;
  for (std::string_view name : {"Content-Length: ", "content-length: "}) {
    std::size_t at = head.find(name);
    if (at != std::string_view::npos)
      cl = std::strtoul(head.data() + at + name.size(), nullptr, 10);
  }
  if (have_ < end + 4 + cl) return false;
  std::string_view body = v.substr(end + 4, cl);
  std::size_t cc = body.find("\"clientCount\":");
  std::size_t rs = body.find("\"results\":[");
  if (a.status == 200 && cc != std::string_view::npos && rs != std::string_view::npos) {
    a.client_count = std::strtol(body.data() + cc + 14, nullptr, 10);
    std::string_view list = body.substr(rs + 11);
    list = list.substr(0, list.find(']'));
    a.results = list.empty() ? 0 : 1 + static_cast<long>(std::count(list.begin(), list.end(), ','));
    a.ok = true;
  }
  have_ = 0;
  auto cb = std::move(done_);
  cb(a);
  return true;
}

std::string publish_request(const std::string& host, const std::string& token,
                            const std::string& body) {
  return "POST /publish HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + token +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

}  // namespace hfb
