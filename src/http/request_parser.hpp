// HTTP/1.1 request reading (RFC 9112), for the server's own sessions: the
// bytes of one connection go in, complete requests come out, each as the
// handlers' view (http/request.hpp), or one refusal with its status. The
// parser owns the connection's input buffer, so that a request is read with
// one buffer, no copy of its headers and no allocation once the buffer has
// grown to the connection's usual request. Pure: no I/O; fuzzed
// (tests/fuzz/http_request_fuzz.cpp) against Boost.Beast's parser.
//
// What it accepts (docs/protocol.md section C, where it differs from the
// original; the limits are section B's):
//   - a request line `method SP target SP HTTP/1.x CRLF` (empty lines before
//     it are skipped), then header lines `name: value CRLF`, then CRLF;
//     lines end in CRLF only;
//   - a body by Content-Length (one header, digits only) or by
//     `Transfer-Encoding: chunked` (exactly one such header with exactly
//     that coding; extensions and trailers are read and dropped), never both;
//   - HTTP/1.1 with exactly one Host header, HTTP/1.0 with at most one.
// Everything else is refused: see `refusal`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "http/request.hpp"

namespace hf::http {

struct parser_limits {
  std::size_t max_header_bytes = 16 << 10;  // request line + header lines + CRLF: 431 above
  std::size_t max_body_bytes = 1 << 20;     // decoded body: 413 above
  std::size_t max_uri_bytes = 8 << 10;      // request target: 414 above
};

// Why a request was refused: the status it gets, and a short reason for the
// log (static storage). After a refusal the connection's bytes cannot be
// trusted to delimit another request: the session answers and closes.
struct refusal {
  unsigned status = 400;  // 400, 413, 414 or 431
  std::string_view why;
};

class request_parser {
 public:
  enum class status {
    need_more,  // read more bytes, then call parse again
    head,       // the request's head is complete (once per request): head() is valid
    complete,   // the whole request is here: request() is valid until next()
    refused     // refusal() says why; nothing more is parsed
  };

  explicit request_parser(parser_limits limits) noexcept : limits_(limits) {}
  request_parser(request_parser&&) noexcept = default;
  request_parser& operator=(request_parser&&) noexcept = default;

  // Room for the next read: at least `want` bytes (fewer only when the
  // limits would refuse more anyway; never empty). Fill it, then commit.
  std::span<char> prepare(std::size_t want = 4096);
  void commit(std::size_t n) noexcept { size_ += n; }

  // Reads what was committed. Returns `head` once per request when its head
  // is complete (call again to go on with the body), `complete` when its
  // body is complete too (or right after `head` for a request without one,
  // on the next call), `need_more`, or `refused`.
  status parse();

  // The request as the handlers see it: views into the buffer, valid until
  // the next prepare, commit or next(). From `head` on: everything but the
  // body; from `complete` on: the body too.
  request view() const;
  bool chunked() const noexcept { return chunked_; }
  bool expects_continue() const noexcept { return expect_continue_; }
  unsigned version() const noexcept { return version_; }
  bool keep_alive() const noexcept { return keep_alive_; }
  const refusal& why_refused() const noexcept { return refusal_; }

  // True when any byte of the current request has arrived (a request cut by
  // the deadline after that gets 408; an idle connection just closes).
  bool got_some() const noexcept { return size_ > start_; }
  // True once the current request's head is complete (it may have been
  // refused after that, by its contents).
  bool head_done() const noexcept { return head_end_ != 0; }

  // The bytes that arrived behind the current request's head (an upgrade's
  // first frames). Valid like view().
  std::string_view after_head() const noexcept {
    return {buf_.get() + head_end_, size_ - head_end_};
  }

  // Drops the complete request and starts on the next one (whose first bytes
  // may be buffered already). Frees a buffer grown beyond the usual size.
  void next() noexcept;

 private:
  enum class state : std::uint8_t {
    head,
    body_length,
    chunk_size,
    chunk_data,
    trailers,
    done,
    refused
  };
  struct span_at {  // a part of the buffer by offset, stable across growth
    std::uint32_t at = 0, len = 0;
  };
  status refuse(unsigned status, std::string_view why) noexcept;
  status parse_head(std::size_t end);
  status parse_chunks();
  std::string_view at(span_at s) const noexcept { return {buf_.get() + s.at, s.len}; }

  parser_limits limits_;
  std::unique_ptr<char[]> buf_;
  std::size_t cap_ = 0;
  std::size_t size_ = 0;      // bytes in buf_
  std::size_t start_ = 0;     // where the current request begins
  std::size_t scanned_ = 0;   // head: where the search for CRLFCRLF resumes
  std::size_t head_end_ = 0;  // one past the head's blank line
  std::size_t body_end_ = 0;  // one past the (decoded) body so far
  std::size_t end_ = 0;       // done: one past the request's last byte
  std::size_t raw_ = 0;       // chunked: the next raw byte to read
  std::size_t skipped_ = 0;   // empty lines before the request line
  std::size_t trailer_bytes_ = 0;
  std::uint64_t remaining_ = 0;  // body_length / chunk_data: bytes still to come
  state state_ = state::head;
  refusal refusal_;

  // The head, as offsets.
  span_at method_, target_;
  unsigned version_ = 11;
  span_at authorization_, content_type_, upgrade_, connection_, ws_key_, ws_version_,
      ws_extensions_, idempotency_key_;
  std::uint8_t present_ = 0;  // bit per optional header above
  bool chunked_ = false;
  bool expect_continue_ = false;
  bool keep_alive_ = true;
};

}  // namespace hf::http
