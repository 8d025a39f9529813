#include "http/request_parser.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "core/text.hpp"

namespace hf::http {
namespace {

// A buffer up to this size is kept from one request to the next (a
// publisher's connection reads every request into the same bytes); a larger
// one, grown for a large body, is given back when its request is done.
constexpr std::size_t kept_capacity = 16 << 10;
// The first buffer of a connection: an upgrade or a publish with its token
// fits (about 500 bytes), and a read of this size empties a typical socket.
constexpr std::size_t first_capacity = 4 << 10;
// A chunk-size line (hex digits and extensions) or a trailer line longer
// than this is refused: no client needs more, and it bounds what is kept.
constexpr std::size_t max_chunk_line = 4 << 10;

// RFC 9110 5.6.2: tchar.
constexpr auto tchar_table = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();
bool is_tchar(char c) noexcept { return tchar_table[static_cast<unsigned char>(c)]; }
// A request target's bytes: visible ASCII and anything above (not checked
// for UTF-8 here; routing decides what a target means).
bool is_target_char(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u != 0x7f;
}
// RFC 9110 5.5: field-vchar, SP and HTAB (obs-text included).
bool is_value_char(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}
bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The headers the server reads; any other is checked for form and skipped.
enum class field : std::uint8_t {
  other,
  authorization,
  content_type,
  upgrade,
  connection,
  ws_key,
  ws_version,
  ws_extensions,
  idempotency_key,
  host,
  content_length,
  transfer_encoding,
  expect
};

field field_of(std::string_view n) noexcept {
  switch (n.size()) {
    case 4:
      if (core::iequals(n, "host")) return field::host;
      break;
    case 6:
      if (core::iequals(n, "expect")) return field::expect;
      break;
    case 7:
      if (core::iequals(n, "upgrade")) return field::upgrade;
      break;
    case 10:
      if (core::iequals(n, "connection")) return field::connection;
      break;
    case 12:
      if (core::iequals(n, "content-type")) return field::content_type;
      break;
    case 13:
      if (core::iequals(n, "authorization")) return field::authorization;
      break;
    case 14:
      if (core::iequals(n, "content-length")) return field::content_length;
      break;
    case 15:
      if (core::iequals(n, "idempotency-key")) return field::idempotency_key;
      break;
    case 17:
      if (core::iequals(n, "transfer-encoding")) return field::transfer_encoding;
      if (core::iequals(n, "sec-websocket-key")) return field::ws_key;
      break;
    case 21:
      if (core::iequals(n, "sec-websocket-version")) return field::ws_version;
      break;
    case 24:
      if (core::iequals(n, "sec-websocket-extensions")) return field::ws_extensions;
      break;
    default:
      break;
  }
  return field::other;
}

// The comma-separated tokens of a Connection value, as Beast and browsers
// read them: "close" and "keep-alive" matter, case-insensitively.
void read_connection_tokens(std::string_view v, bool& close, bool& keep) noexcept {
  while (!v.empty()) {
    std::size_t comma = v.find(',');
    std::string_view token = v.substr(0, comma);
    while (!token.empty() && is_ows(token.front())) token.remove_prefix(1);
    while (!token.empty() && is_ows(token.back())) token.remove_suffix(1);
    if (core::iequals(token, "close")) close = true;
    if (core::iequals(token, "keep-alive")) keep = true;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
}

}  // namespace

std::span<char> request_parser::prepare(std::size_t want) {
  // A body of known length is read in as few reads as it takes.
  if (state_ == state::body_length) {
    std::uint64_t missing = remaining_ - std::min<std::uint64_t>(remaining_, size_ - body_end_);
    if (missing > want) want = static_cast<std::size_t>(std::min<std::uint64_t>(missing, 1 << 20));
  }
  if (want == 0) want = 1;
  if (cap_ - size_ < want) {
    std::size_t cap = std::max({cap_ * 2, size_ + want, first_capacity});
    auto grown = std::make_unique_for_overwrite<char[]>(cap);
    if (size_) std::memcpy(grown.get(), buf_.get(), size_);
    buf_ = std::move(grown);
    cap_ = cap;
  }
  return {buf_.get() + size_, cap_ - size_};
}

request_parser::status request_parser::refuse(unsigned status, std::string_view why) noexcept {
  state_ = state::refused;
  refusal_ = {status, why};
  return status::refused;
}

request_parser::status request_parser::parse() {
  switch (state_) {
    case state::head: {
      // RFC 9112 2.2: empty lines before a request line are ignored (some
      // clients send one after a POST's body). They count toward the limit.
      while (size_ - start_ >= 2 && buf_[start_] == '\r' && buf_[start_ + 1] == '\n') {
        start_ += 2;
        skipped_ += 2;
      }
      if (skipped_ > limits_.max_header_bytes)
        return refuse(431, "empty lines above the header limit");
      std::size_t from = std::max(scanned_, start_);
      std::string_view seen(buf_.get() + from, size_ - from);
      std::size_t at = seen.find("\r\n\r\n");
      if (at == std::string_view::npos) {
        if (size_ - start_ > limits_.max_header_bytes)
          return refuse(431, "headers above the limit");
        scanned_ = size_ >= 3 ? std::max(start_, size_ - 3) : start_;
        return status::need_more;
      }
      std::size_t end = from + at + 4;
      if (end - start_ > limits_.max_header_bytes) return refuse(431, "headers above the limit");
      return parse_head(end);
    }
    case state::body_length: {
      std::size_t have = size_ - body_end_;
      if (have < remaining_) return status::need_more;
      body_end_ += static_cast<std::size_t>(remaining_);
      end_ = body_end_;
      remaining_ = 0;
      state_ = state::done;
      return status::complete;
    }
    case state::chunk_size:
    case state::chunk_data:
    case state::trailers:
      return parse_chunks();
    case state::done:
      return status::complete;
    case state::refused:
      return status::refused;
  }
  return status::refused;
}

request_parser::status request_parser::parse_head(std::size_t end) {
  const char* const base = buf_.get();
  const char* p = base + start_;
  const char* const blank = base + end - 2;  // the head's final CRLF
  auto offset = [base](const char* from, const char* to) {
    return span_at{static_cast<std::uint32_t>(from - base), static_cast<std::uint32_t>(to - from)};
  };

  // Request line: method SP target SP HTTP/1.x CRLF.
  const char* m = p;
  while (is_tchar(*p)) ++p;
  if (p == m || *p != ' ') return refuse(400, "malformed request line");
  method_ = offset(m, p);
  const char* t = ++p;
  while (is_target_char(*p)) ++p;
  if (p == t || *p != ' ') return refuse(400, "malformed request line");
  target_ = offset(t, p);
  ++p;
  if (blank - p < 10 || std::memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') ||
      p[8] != '\r' || p[9] != '\n')
    return refuse(400, "not an HTTP/1.0 or HTTP/1.1 request line");
  version_ = p[7] == '1' ? 11 : 10;
  p += 10;

  // Header lines: name ":" OWS value OWS CRLF.
  unsigned hosts = 0, transfer_encodings = 0;
  bool content_length_seen = false, close = false, keep = false;
  std::uint64_t content_length = 0;
  std::string_view transfer_encoding;
  while (p < blank) {
    const char* n = p;
    while (is_tchar(*p)) ++p;
    if (p == n) return refuse(400, "malformed header line");  // obs-fold, or no name
    if (*p != ':') return refuse(400, "malformed header line");
    std::string_view name(n, static_cast<std::size_t>(p - n));
    ++p;
    while (is_ows(*p)) ++p;
    const char* v = p;
    while (is_value_char(*p)) ++p;
    if (p[0] != '\r' || p[1] != '\n') return refuse(400, "malformed header value");
    const char* ve = p;
    while (ve > v && is_ows(ve[-1])) --ve;
    std::string_view value(v, static_cast<std::size_t>(ve - v));
    p += 2;
    auto keep_first = [&](span_at& where, unsigned bit) {
      if (present_ & (1u << bit)) return;
      present_ |= static_cast<std::uint8_t>(1u << bit);
      where = offset(v, ve);
    };
    switch (field_of(name)) {
      case field::other:
        break;
      case field::authorization:
        keep_first(authorization_, 0);
        break;
      case field::content_type:
        keep_first(content_type_, 1);
        break;
      case field::upgrade:
        keep_first(upgrade_, 2);
        break;
      case field::connection:
        keep_first(connection_, 3);
        read_connection_tokens(value, close, keep);
        break;
      case field::ws_key:
        keep_first(ws_key_, 4);
        break;
      case field::ws_version:
        keep_first(ws_version_, 5);
        break;
      case field::ws_extensions:
        keep_first(ws_extensions_, 6);
        break;
      case field::idempotency_key:
        keep_first(idempotency_key_, 7);
        break;
      case field::host:
        ++hosts;
        break;
      case field::content_length: {
        // RFC 9112 6.3: more than one length (even the same one twice) makes
        // the message's end ambiguous.
        if (content_length_seen) return refuse(400, "more than one Content-Length");
        content_length_seen = true;
        if (value.empty()) return refuse(400, "malformed Content-Length");
        for (char c : value) {
          if (c < '0' || c > '9') return refuse(400, "malformed Content-Length");
          auto digit = static_cast<unsigned>(c - '0');
          if (content_length > (UINT64_MAX - digit) / 10)
            return refuse(400, "Content-Length above 2^64");
          content_length = content_length * 10 + digit;
        }
        break;
      }
      case field::transfer_encoding:
        if (transfer_encodings++ == 0) transfer_encoding = value;
        break;
      case field::expect:
        if (core::iequals(value, "100-continue")) expect_continue_ = true;
        break;
    }
  }
  head_end_ = end;
  body_end_ = end;
  keep_alive_ = version_ == 11 ? !close : keep && !close;

  // RFC 9112 6.3: a Transfer-Encoding that does not end in chunked leaves
  // the length unknowable, and codings other than chunked (gzip, ...) are
  // not decoded: only exactly "chunked" is read. With a Content-Length as
  // well, the two could be read differently by a proxy: refused.
  if (transfer_encodings) {
    if (transfer_encodings > 1 || !core::iequals(transfer_encoding, "chunked"))
      return refuse(400, "a Transfer-Encoding other than chunked");
    if (content_length_seen) return refuse(400, "both Content-Length and Transfer-Encoding");
    chunked_ = true;
  }
  if (content_length > limits_.max_body_bytes) return refuse(413, "body above the limit");
  if (target_.len > limits_.max_uri_bytes) return refuse(414, "target above the limit");
  // RFC 9112 3.2: an HTTP/1.1 request has exactly one Host header; an
  // HTTP/1.0 one at most one.
  if (hosts > 1 || (hosts == 0 && version_ == 11))
    return refuse(400, hosts ? "more than one Host header" : "no Host header");

  if (chunked_) {
    raw_ = end;
    state_ = state::chunk_size;
  } else if (content_length) {
    remaining_ = content_length;
    state_ = state::body_length;
  } else {
    end_ = end;
    state_ = state::done;
  }
  return status::head;
}

// RFC 9112 7.1: chunk-size [ext] CRLF data CRLF ... "0" [ext] CRLF
// *(trailer CRLF) CRLF. The data is moved down over the framing as it is
// read, so the decoded body sits right behind the head.
request_parser::status request_parser::parse_chunks() {
  char* const base = buf_.get();
  for (;;) {
    if (state_ == state::chunk_data) {
      if (remaining_) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, size_ - raw_));
        if (n && raw_ != body_end_) std::memmove(base + body_end_, base + raw_, n);
        body_end_ += n;
        raw_ += n;
        remaining_ -= n;
        if (remaining_) break;
      }
      if (size_ - raw_ < 2) break;
      if (base[raw_] != '\r' || base[raw_ + 1] != '\n')
        return refuse(400, "chunk data not followed by CRLF");
      raw_ += 2;
      state_ = state::chunk_size;
      continue;
    }
    // A line: a chunk size, or a trailer.
    std::string_view rest(base + raw_, size_ - raw_);
    std::size_t eol = rest.find("\r\n");
    if (eol == std::string_view::npos) {
      if (rest.size() > max_chunk_line) return refuse(400, "chunk line too long");
      break;
    }
    if (eol > max_chunk_line) return refuse(400, "chunk line too long");
    std::string_view line = rest.substr(0, eol);
    raw_ += eol + 2;
    for (char c : line)
      if (!is_value_char(c)) return refuse(400, "malformed chunk line");
    if (state_ == state::trailers) {
      if (!line.empty()) {
        trailer_bytes_ += eol + 2;
        if (trailer_bytes_ > limits_.max_header_bytes)
          return refuse(431, "trailers above the limit");
        std::size_t colon = line.find(':');
        if (colon == 0 || colon == std::string_view::npos ||
            !std::all_of(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(colon), is_tchar))
          return refuse(400, "malformed trailer line");
        continue;
      }
      end_ = raw_;
      state_ = state::done;
      return status::complete;
    }
    // chunk-size = 1*HEXDIG, then nothing, or BWS ";" and extensions.
    std::uint64_t size = 0;
    std::size_t digits = 0;
    while (digits < line.size() && hex_value(line[digits]) >= 0) {
      if (digits == 16) return refuse(400, "chunk size too large");
      size = size * 16 + static_cast<unsigned>(hex_value(line[digits]));
      ++digits;
    }
    if (digits == 0) return refuse(400, "malformed chunk size");
    std::string_view ext = line.substr(digits);
    while (!ext.empty() && is_ows(ext.front())) ext.remove_prefix(1);
    if (!ext.empty() && ext.front() != ';') return refuse(400, "malformed chunk size");
    if (size == 0) {
      state_ = state::trailers;
      continue;
    }
    if (size > limits_.max_body_bytes - (body_end_ - head_end_))
      return refuse(413, "body above the limit");
    remaining_ = size;
    state_ = state::chunk_data;
  }
  // Waiting for more: what was read of the framing is dropped, so that the
  // buffer holds the head, the decoded body and at most a line's worth more.
  if (raw_ > body_end_) {
    std::memmove(base + body_end_, base + raw_, size_ - raw_);
    size_ -= raw_ - body_end_;
    raw_ = body_end_;
  }
  return status::need_more;
}

request request_parser::view() const {
  request v;
  v.method = at(method_);
  v.target = at(target_);
  v.version = version_;
  auto optional = [this](span_at s, unsigned bit) -> std::optional<std::string_view> {
    if (!(present_ & (1u << bit))) return std::nullopt;
    return at(s);
  };
  v.authorization = optional(authorization_, 0);
  v.content_type = optional(content_type_, 1);
  v.upgrade = optional(upgrade_, 2);
  v.connection = optional(connection_, 3);
  v.sec_websocket_key = optional(ws_key_, 4);
  v.sec_websocket_version = optional(ws_version_, 5);
  v.sec_websocket_extensions = optional(ws_extensions_, 6);
  v.idempotency_key = optional(idempotency_key_, 7);
  if (state_ == state::done)
    v.body = std::string_view(buf_.get() + head_end_, body_end_ - head_end_);
  v.keep_alive = keep_alive_;
  return v;
}

void request_parser::next() noexcept {
  std::size_t rest = state_ == state::done ? size_ - end_ : 0;
  if (rest && end_) std::memmove(buf_.get(), buf_.get() + end_, rest);
  size_ = rest;
  if (cap_ > kept_capacity && rest <= first_capacity) {
    // A large body's buffer goes back; the next request starts small.
    if (rest) {
      auto small = std::make_unique_for_overwrite<char[]>(first_capacity);
      std::memcpy(small.get(), buf_.get(), rest);
      buf_ = std::move(small);
      cap_ = first_capacity;
    } else {
      buf_.reset();
      cap_ = 0;
    }
  }
  parser_limits limits = limits_;
  auto buf = std::move(buf_);
  std::size_t cap = cap_, size = size_;
  *this = request_parser(limits);
  buf_ = std::move(buf);
  cap_ = cap;
  size_ = size;
}

}  // namespace hf::http
