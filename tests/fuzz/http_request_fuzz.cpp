// Fuzz target, differential: our HTTP/1.1 request parser (http/request_parser.hpp)
// against Boost.Beast's request_parser<string_body> followed by the checks the
// Beast-based session made on the head (414 for a long target, the Host count,
// Transfer-Encoding exactly one "chunked"). Limits: 1024 header bytes, 2048
// body bytes, 256 target bytes (all reachable with -max_len=4096).
//
// Our parser gets the input three ways: in one piece, cut in two at an
// input-derived offset, and in input-derived small pieces; all three must give
// the same requests and the same end (a refusal with the same status, or
// waiting for more). Only the FIRST request of the input is compared with
// Beast:
//   - ours completes it => Beast completes it too, with the same method,
//     target, version, body, chunked(), keep_alive and the same first value of
//     each header of http/request.hpp;
//   - Beast completes it => ours completes it too;
//   - both refuse => the same status where Beast's error says it plainly
//     (header_limit 431, body_limit 413, the session's 414), else any status;
// except where the input shows one of these deliberate differences (each is
// checked on the input before it excuses anything):
//   D1 Empty lines (CRLF) before the request line: ours skips them (RFC 9112
//      2.2), Beast refuses them; Beast is given the input without them.
//   D2 obs-fold (a header line starting with SP or HTAB): ours refuses it
//      (400, RFC 9112 5.2 allows either), Beast joins the lines.
//   D3 Content-Length as a list ("1, 1") or repeated (even equal): ours
//      refuses it, Beast takes the value when all are equal.
//   D4 Connection or Proxy-Connection values that are not a token list
//      ("close;x", "@"): Beast refuses them (bad_value), ours only looks for
//      the tokens "close" and "keep-alive".
//   D5 Proxy-Connection: Beast's keep_alive() obeys it, ours ignores it.
//      (Ours reads every Connection header, like Beast's parser; the old
//      session used message::keep_alive(), which reads only the first one.)
//   D6 Chunk extensions: ours skips everything from ';' to the line's CRLF;
//      Beast checks their syntax (token [= token / quoted-string]) and allows
//      whitespace before the ';'.
//   D7 Chunk sizes of more than 16 hex digits (leading zeros): ours refuses
//      them, Beast reads them.
//   D8 Trailer fields: ours drops them; Beast parses them as header fields
//      (its own field checks, Content-Length/Transfer-Encoding conflicts,
//      Connection tokens that change keep_alive()) and adds them to the
//      message's fields.
//   D9 The header limit: ours counts the whole head (request line, header
//      lines, final CRLF) and refuses as soon as more than the limit has come;
//      Beast, given everything at once, holds the request line and the header
//      lines to the limit separately (up to about twice the limit passes) and
//      may wait for more where ours already refuses. (Ours also holds the
//      empty lines before the request line, and the trailer section, each to
//      the limit.)
//  D10 HTTP/1.0 with both "keep-alive" and "close": ours closes (RFC 9112
//      9.3), Beast's keep_alive() keeps.
// Statuses: where both refuse with different statuses, ours may name another
// fault of the same request, shown by the input (Beast stops at the first
// fault it meets and checks a chunk's size against the body limit before the
// rest of its line; the session's checks come after Beast's body_limit on
// Content-Length; ours checks Transfer-Encoding before the target's length).
// One refusing while the other still waits for more is not compared: either
// may see a fault before the other (ours looks at a head once it is
// complete, Beast line by line).
#include <algorithm>
#include <array>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_parser.hpp"

namespace {
namespace bhttp = boost::beast::http;
using hf::http::request_parser;
using st = request_parser::status;

constexpr hf::http::parser_limits limits{
    .max_header_bytes = 1024, .max_body_bytes = 2048, .max_uri_bytes = 256};

// A violated property: says which one, then aborts.
#define check(ok)                                                                             \
  do {                                                                                        \
    if (!(ok)) {                                                                              \
      std::fprintf(stderr, "http_request_fuzz.cpp:%d: property failed: %s\n", __LINE__, #ok); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

using header_values = std::array<std::optional<std::string>, 8>;
// The headers of http/request.hpp, in this order.
constexpr std::array<std::string_view, 8> header_names = {"authorization",
                                                          "content-type",
                                                          "upgrade",
                                                          "connection",
                                                          "sec-websocket-key",
                                                          "sec-websocket-version",
                                                          "sec-websocket-extensions",
                                                          "idempotency-key"};

struct seen {
  std::string method, target, body;
  unsigned version = 0;
  bool keep_alive = false, chunked = false, expects_continue = false;
  header_values headers;
  bool operator==(const seen&) const = default;
};

std::optional<std::string> copy(std::optional<std::string_view> v) {
  if (!v) return std::nullopt;
  return std::string(*v);
}

seen capture(const request_parser& p) {
  hf::http::request r = p.view();
  check(r.keep_alive == p.keep_alive() && r.version == p.version());
  seen s{std::string(r.method), std::string(r.target), std::string(r.body),  r.version,
         r.keep_alive,          p.chunked(),           p.expects_continue(), {}};
  s.headers = {copy(r.authorization),
               copy(r.content_type),
               copy(r.upgrade),
               copy(r.connection),
               copy(r.sec_websocket_key),
               copy(r.sec_websocket_version),
               copy(r.sec_websocket_extensions),
               copy(r.idempotency_key)};
  return s;
}

// --- ours ---

struct ours_outcome {
  std::vector<seen> requests;  // every complete request, in order
  bool refused = false;
  unsigned status = 0;
  bool operator==(const ours_outcome&) const = default;
};

// Feeds `in` cut at `cuts` (ascending), parsing after each piece as a session
// does, and checks the parser's own promises on the way.
ours_outcome run_ours(std::string_view in, std::vector<std::size_t> cuts) {
  request_parser p(limits);
  ours_outcome o;
  std::optional<seen> head;
  std::size_t fed = 0;
  cuts.push_back(in.size());
  for (std::size_t cut : cuts) {
    while (fed < cut) {
      std::span<char> room = p.prepare(cut - fed);
      check(!room.empty());
      std::size_t n = std::min(room.size(), cut - fed);
      std::memcpy(room.data(), in.data() + fed, n);
      p.commit(n);
      fed += n;
    }
    for (bool more = true; more;) {
      switch (p.parse()) {
        case st::need_more:
          check(p.head_done() == head.has_value());
          more = false;
          break;
        case st::head: {
          check(!head && p.head_done());
          head = capture(p);
          // The bytes behind the head are the end of what came; the head ends
          // in its blank line.
          std::string_view behind = p.after_head();
          check(behind.size() <= fed && in.substr(0, fed).ends_with(behind));
          check(in.substr(0, fed - behind.size()).ends_with("\r\n\r\n"));
          check(head->target.size() <= limits.max_uri_bytes);
          break;
        }
        case st::complete: {
          check(head.has_value());
          seen r = capture(p);
          check(r.body.size() <= limits.max_body_bytes);
          seen h = *head;
          h.body = r.body;
          check(h == r);
          o.requests.push_back(std::move(r));
          head.reset();
          p.next();
          check(!p.head_done());
          break;
        }
        case st::refused: {
          unsigned s = p.why_refused().status;
          check(s == 400 || s == 413 || s == 414 || s == 431);
          check(!p.why_refused().why.empty());
          o.refused = true;
          o.status = s;
          return o;
        }
      }
    }
  }
  return o;
}

// --- Beast, as the session used it ---

struct beast_outcome {
  enum { incomplete, complete, refused } end = incomplete;
  unsigned status = 0;
  bhttp::error ec{};        // what Beast said, when it refused
  bool by_session = false;  // refused by the session's checks on the head
  std::optional<seen> request;
  std::size_t proxy_connections = 0;
  std::size_t used = 0;  // the bytes of the complete request
};

beast_outcome run_beast(std::string_view in) {
  beast_outcome o;
  bhttp::request_parser<bhttp::string_body> p;
  p.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  p.body_limit(limits.max_body_bytes);
  boost::system::error_code ec;
  const char* at = in.data();
  std::size_t left = in.size();
  // Puts what is left, as long as Beast takes some of it.
  auto feed = [&] {
    while (!p.is_done()) {
      std::size_t used = p.put(boost::asio::const_buffer(at, left), ec);
      at += used;
      left -= used;
      if (ec == bhttp::error::need_more) ec = {};
      if (ec || used == 0 || (!p.eager() && p.is_header_done())) break;
    }
  };
  // The head first (async_read_header), then the session's checks on it,
  // then the body (async_read, eager).
  p.eager(false);
  feed();
  if (p.is_header_done()) {
    const auto& m = p.get();
    std::size_t hosts = m.count(bhttp::field::host);
    std::size_t te = m.count(bhttp::field::transfer_encoding);
    if (m.target().size() > limits.max_uri_bytes) {
      o.end = beast_outcome::refused, o.status = 414, o.by_session = true;
      return o;
    }
    if (hosts > 1 || (hosts == 0 && m.version() >= 11)) {
      o.end = beast_outcome::refused, o.status = 400, o.by_session = true;
      return o;
    }
    if (te &&
        (!p.chunked() || te > 1 || !iequals(trim(m[bhttp::field::transfer_encoding]), "chunked"))) {
      o.end = beast_outcome::refused, o.status = 400, o.by_session = true;
      return o;
    }
    p.eager(true);
    feed();
  }
  if (ec) {
    o.end = beast_outcome::refused;
    o.ec = static_cast<bhttp::error>(ec.value());
    check(ec.category() == bhttp::make_error_code(bhttp::error::need_more).category());
    o.status = o.ec == bhttp::error::header_limit ? 431
               : o.ec == bhttp::error::body_limit ? 413
                                                  : 400;
    return o;
  }
  if (!p.is_done()) return o;
  o.end = beast_outcome::complete;
  o.used = static_cast<std::size_t>(at - in.data());
  const auto& m = p.get();
  seen s;
  s.method = std::string(m.method_string());
  s.target = std::string(m.target());
  s.body = m.body();
  s.version = m.version();
  s.keep_alive = p.keep_alive();
  s.chunked = p.chunked();
  for (std::size_t i = 0; i < header_names.size(); ++i)
    if (auto it = m.find(header_names[i]); it != m.end()) s.headers[i] = std::string(it->value());
  o.request = std::move(s);
  o.proxy_connections = m.count(bhttp::field::proxy_connection);
  return o;
}

// --- what the input shows, for the deliberate differences ---

struct features {
  std::size_t head_bytes = 0;  // with the empty lines before it; to the end if unfinished
  bool head_complete = false;
  std::string_view target;           // of the request line, if it has two spaces
  bool obs_fold = false;             // D2
  bool content_length_list = false;  // D3: a list, or repeated
  bool bad_connection_list = false;  // D4
  bool proxy_connection = false;     // D5
  std::size_t expects = 0;
  bool expects_continue = false;  // the one Expect header says 100-continue
  std::size_t hosts = 0;
  bool bad_transfer_encoding = false;  // not exactly one "chunked", or with a Content-Length
  bool chunk_extension = false;        // D6: ';' or whitespace after a chunk size
  bool chunk_line_extra = false;       // anything after a chunk size
  unsigned version = 0;                // 10 or 11 from the request line, else 0
  bool close = false, keep = false;    // the tokens of every Connection header
  bool long_chunk_size = false;        // D7
  bool trailers = false;               // D8
};

features scan(std::string_view all, std::size_t skipped) {
  features f;
  std::string_view in = all.substr(skipped);
  std::size_t end = in.find("\r\n\r\n");
  f.head_complete = end != std::string_view::npos;
  std::string_view head = f.head_complete ? in.substr(0, end + 2) : in;
  f.head_bytes = skipped + (f.head_complete ? end + 4 : in.size());
  bool first = true, te = false;
  std::size_t content_lengths = 0;
  while (!head.empty()) {
    std::size_t eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 2);
    if (first) {
      first = false;
      std::size_t a = line.find(' ');
      std::size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
      if (b != std::string_view::npos) {
        f.target = line.substr(a + 1, b - a - 1);
        if (line.substr(b + 1) == "HTTP/1.1") f.version = 11;
        if (line.substr(b + 1) == "HTTP/1.0") f.version = 10;
      }
      continue;
    }
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      f.obs_fold = true;
      continue;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon), value = trim(line.substr(colon + 1));
    if (iequals(name, "host")) ++f.hosts;
    if (iequals(name, "content-length")) {
      ++content_lengths;
      if (value.find(',') != std::string_view::npos) f.content_length_list = true;
    }
    if (iequals(name, "transfer-encoding")) {
      if (te || !iequals(value, "chunked")) f.bad_transfer_encoding = true;
      te = true;
    }
    if (iequals(name, "proxy-connection")) f.proxy_connection = true;
    if ((iequals(name, "connection") || iequals(name, "proxy-connection")) &&
        !bhttp::validate_list(bhttp::opt_token_list{value}))
      f.bad_connection_list = true;
    if (iequals(name, "connection")) {
      for (std::string_view v = value;;) {
        std::size_t comma = v.find(',');
        std::string_view token = trim(v.substr(0, comma));
        if (iequals(token, "close")) f.close = true;
        if (iequals(token, "keep-alive")) f.keep = true;
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
      }
    }
    if (iequals(name, "expect")) {
      ++f.expects;
      f.expects_continue = iequals(value, "100-continue");
    }
  }
  if (content_lengths > 1) f.content_length_list = true;
  if (te && content_lengths) f.bad_transfer_encoding = true;
  if (!te || !f.head_complete) return f;
  // The chunks, as far as they go.
  std::string_view body = in.substr(end + 4);
  for (;;) {
    std::size_t eol = body.find("\r\n");
    if (eol == std::string_view::npos) break;
    std::string_view line = body.substr(0, eol);
    std::size_t digits = 0;
    std::uint64_t size = 0;
    bool huge = false;
    while (digits < line.size() && std::isxdigit(static_cast<unsigned char>(line[digits]))) {
      if (size >> 60) huge = true;
      size =
          size * 16 + (std::isdigit(static_cast<unsigned char>(line[digits]))
                           ? line[digits] - '0'
                           : (std::tolower(static_cast<unsigned char>(line[digits])) - 'a' + 10));
      ++digits;
    }
    if (digits == 0) break;
    if (digits > 16) f.long_chunk_size = true;
    if (digits < line.size()) f.chunk_line_extra = true;
    if (digits < line.size() &&
        (line[digits] == ';' || line[digits] == ' ' || line[digits] == '\t'))
      f.chunk_extension = true;
    body.remove_prefix(eol + 2);
    if (size == 0 && !huge) {
      f.trailers = !body.starts_with("\r\n");
      break;
    }
    if (huge || size + 2 > body.size()) break;
    body.remove_prefix(size + 2);
  }
  return f;
}

std::uint64_t hash(const std::uint8_t* data, std::size_t size) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::uint64_t h = hash(data, size);

  // Ours, three ways.
  ours_outcome ours = run_ours(in, {});
  check(run_ours(in, {static_cast<std::size_t>(h % (size + 1))}) == ours);
  std::vector<std::size_t> pieces;
  std::size_t piece = 1 + (h >> 32) % 97;
  for (std::size_t at = piece; at < size; at += piece) pieces.push_back(at);
  check(run_ours(in, pieces) == ours);

  // Beast, on the input without the empty lines before the request line (D1).
  std::size_t skipped = 0;
  while (in.substr(skipped).starts_with("\r\n")) skipped += 2;
  beast_outcome beast = run_beast(in.substr(skipped));
  const features f = scan(in, skipped);

  if (std::getenv("HTTP_REQUEST_FUZZ_VERBOSE")) {  // for reading a finding
    std::fprintf(stderr, "ours: %zu complete, %s %u\n", ours.requests.size(),
                 ours.refused ? "refused" : "then waiting", ours.status);
    for (const seen& r : ours.requests)
      std::fprintf(stderr, "  %s %s %u keep %d body %zu\n", r.method.c_str(), r.target.c_str(),
                   r.version, r.keep_alive, r.body.size());
    std::fprintf(stderr, "beast: %s %u (%s)%s\n",
                 beast.end == beast_outcome::complete  ? "complete"
                 : beast.end == beast_outcome::refused ? "refused"
                                                       : "waiting",
                 beast.status, bhttp::make_error_code(beast.ec).message().c_str(),
                 beast.by_session ? " by the session's checks" : "");
    std::fprintf(stderr,
                 "input: head %zu%s fold %d cl-list %d conn-list %d proxy %d ext %d long-hex %d "
                 "trailers %d\n",
                 f.head_bytes, f.head_complete ? "" : " (unfinished)", f.obs_fold,
                 f.content_length_list, f.bad_connection_list, f.proxy_connection,
                 f.chunk_extension, f.long_chunk_size, f.trailers);
    if (beast.request)
      std::fprintf(stderr, "  %s %s %u keep %d body %zu\n", beast.request->method.c_str(),
                   beast.request->target.c_str(), beast.request->version, beast.request->keep_alive,
                   beast.request->body.size());
  }

  const seen* mine = ours.requests.empty() ? nullptr : &ours.requests.front();
  const bool beast_done = beast.end == beast_outcome::complete;
  // D9: ours refuses a head above the limit (counting what came so far).
  const bool long_head = f.head_bytes > limits.max_header_bytes;
  const bool chunk_difference = f.chunk_extension || f.long_chunk_size || f.trailers;

  if (mine) {
    // The one Expect header decides expects_continue(); the Connection
    // tokens and the version decide keep_alive.
    if (f.expects == 1) check(mine->expects_continue == f.expects_continue);
    check(f.version == mine->version);
    check(mine->keep_alive == (f.version == 11 ? !f.close : f.keep && !f.close));
    if (!beast_done) {
      // D4, D6, D8 only.
      check(f.bad_connection_list || f.chunk_extension || f.trailers);
      return 0;
    }
    const seen& theirs = *beast.request;
    check(mine->method == theirs.method && mine->target == theirs.target &&
          mine->version == theirs.version && mine->body == theirs.body &&
          mine->chunked == theirs.chunked);
    if (!f.trailers) check(mine->headers == theirs.headers);  // D8: Beast keeps trailer fields
    // Both end the request at the same byte: what follows it is read by ours
    // as a fresh connection would read it.
    ours_outcome rest = run_ours(in.substr(skipped + beast.used), {});
    check(rest.refused == ours.refused && rest.status == ours.status &&
          std::equal(rest.requests.begin(), rest.requests.end(), ours.requests.begin() + 1,
                     ours.requests.end()));
    if (beast.proxy_connections == 0 && !f.trailers &&  // D5, D8
        !(f.version == 10 && f.close && f.keep))        // D10
      check(mine->keep_alive == theirs.keep_alive);
    return 0;
  }

  if (beast_done) {
    // Ours did not complete the request Beast completed.
    check(f.obs_fold || f.content_length_list || chunk_difference ||  // D2, D3, D6-D8
          (ours.refused && ours.status == 431 && long_head));         // D9
    return 0;
  }

  if (ours.refused && beast.end == beast_outcome::refused && ours.status != beast.status) {
    // Other faults of the same head that ours may name first.
    const bool other_400 = f.obs_fold || f.content_length_list || f.bad_connection_list ||
                           f.hosts != 1 || f.bad_transfer_encoding || chunk_difference ||
                           f.chunk_line_extra;
    const bool other_414 = f.target.size() > limits.max_uri_bytes;
    const bool other_431 = long_head;
    const bool other = (ours.status == 400 && other_400) || (ours.status == 414 && other_414) ||
                       (ours.status == 431 && other_431);
    if (beast.status == 431 || beast.status == 413 || beast.status == 414) check(other);
  }
  return 0;
}
