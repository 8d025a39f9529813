// The server's own HTTP/1.1 request reader (http/request_parser.hpp): what it
// accepts, what it refuses and with which status, and that the way the bytes
// arrive (one piece, byte by byte, split anywhere, pipelined) changes nothing.
#include "http/request_parser.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

using namespace hf::http;
using st = request_parser::status;

namespace {

// A string literal with its NUL bytes.
template <std::size_t N>
std::string lit(const char (&s)[N]) {
  return std::string(s, N - 1);
}

// Small limits, so that each one is easy to reach.
constexpr parser_limits small{.max_header_bytes = 512, .max_body_bytes = 100, .max_uri_bytes = 64};

// Copies `s` into the parser's buffer (no parse).
void put(request_parser& p, std::string_view s) {
  while (!s.empty()) {
    std::span<char> room = p.prepare(s.size());
    ASSERT_FALSE(room.empty());
    std::size_t n = std::min(room.size(), s.size());
    std::memcpy(room.data(), s.data(), n);
    p.commit(n);
    s.remove_prefix(n);
  }
}

// A request as the view shows it, copied (the view dies with the next commit).
struct seen {
  std::string method, target, body;
  unsigned version = 0;
  bool keep_alive = false, chunked = false, expects_continue = false;
  std::optional<std::string> authorization, content_type, upgrade, connection, ws_key, ws_version,
      ws_extensions, idempotency_key;
  bool operator==(const seen&) const = default;
};

std::optional<std::string> copy(std::optional<std::string_view> v) {
  if (!v) return std::nullopt;
  return std::string(*v);
}

seen capture(const request_parser& p) {
  request r = p.view();
  seen s;
  s.method = r.method;
  s.target = r.target;
  s.body = r.body;
  s.version = r.version;
  s.keep_alive = r.keep_alive;
  EXPECT_EQ(r.keep_alive, p.keep_alive());
  EXPECT_EQ(r.version, p.version());
  s.chunked = p.chunked();
  s.expects_continue = p.expects_continue();
  s.authorization = copy(r.authorization);
  s.content_type = copy(r.content_type);
  s.upgrade = copy(r.upgrade);
  s.connection = copy(r.connection);
  s.ws_key = copy(r.sec_websocket_key);
  s.ws_version = copy(r.sec_websocket_version);
  s.ws_extensions = copy(r.sec_websocket_extensions);
  s.idempotency_key = copy(r.idempotency_key);
  return s;
}

// What a connection's bytes gave: the complete requests in order, then how it
// ended (need_more: waiting for more; refused: with that status).
struct outcome {
  std::vector<seen> requests;
  st end = st::need_more;
  unsigned status = 0;
  bool operator==(const outcome&) const = default;
};

// Parses what is buffered, as a session would: a `head` is checked against
// the complete request, a complete request is taken and next() called.
// `head` is the current request's head, once reported. Returns false once
// refused.
bool drain(request_parser& p, outcome& o, std::optional<seen>& head) {
  for (;;) {
    st s = p.parse();
    switch (s) {
      case st::need_more:
        o.end = st::need_more;
        return true;
      case st::head:
        EXPECT_FALSE(head) << "head reported twice";
        EXPECT_TRUE(p.head_done());
        head = capture(p);
        break;
      case st::complete: {
        EXPECT_TRUE(head) << "complete without head";
        seen r = capture(p);
        if (head) {
          seen h = *head;
          h.body = r.body;  // the body is the one thing the head view lacks
          EXPECT_EQ(h, r) << "the head's view differs from the complete request's";
        }
        o.requests.push_back(std::move(r));
        head.reset();
        p.next();
        break;
      }
      case st::refused:
        o.end = st::refused;
        o.status = p.why_refused().status;
        EXPECT_FALSE(p.why_refused().why.empty());
        return false;
    }
  }
}

// Feeds `bytes` cut at the given offsets (ascending), parsing after each piece.
outcome run(std::string_view bytes, std::vector<std::size_t> cuts = {},
            parser_limits limits = small) {
  request_parser p(limits);
  outcome o;
  std::optional<seen> head;
  cuts.push_back(bytes.size());
  std::size_t at = 0;
  for (std::size_t cut : cuts) {
    put(p, bytes.substr(at, cut - at));
    at = cut;
    if (!drain(p, o, head)) break;
  }
  return o;
}

// Feeds one byte at a time.
outcome run_bytewise(std::string_view bytes, parser_limits limits = small) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < bytes.size(); ++i) cuts.push_back(i);
  return run(bytes, cuts, limits);
}

unsigned refusal_of(std::string_view bytes, parser_limits limits = small) {
  outcome o = run(bytes, {}, limits);
  EXPECT_EQ(o.end, st::refused) << "accepted: " << ::testing::PrintToString(std::string(bytes));
  EXPECT_TRUE(o.requests.empty());
  return o.status;
}

// The one request in `bytes`, which must be complete with nothing after it.
seen only(std::string_view bytes, parser_limits limits = small) {
  outcome o = run(bytes, {}, limits);
  EXPECT_EQ(o.end, st::need_more) << "refused " << o.status << ": "
                                  << ::testing::PrintToString(std::string(bytes));
  EXPECT_EQ(o.requests.size(), 1u) << ::testing::PrintToString(std::string(bytes));
  return o.requests.empty() ? seen{} : o.requests.front();
}

const std::string get_request = "GET /path?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n";
const std::string post_request =
    "POST /publish HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer abc\r\n"
    "Content-Type: application/json\r\nIdempotency-Key: k-1\r\nContent-Length: 11\r\n\r\n"
    "hello world";
const std::string chunked_request =
    "POST /publish HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;name=value\r\nhello\r\n"
    "6;a;b=\"q;x\"\r\n world\r\n"
    "A\r\n0123456789\r\n"
    "0;last\r\nX-Trailer: 1\r\nAnother: two\r\n\r\n";

}  // namespace

TEST(HttpRequestParser, SimpleGet) {
  request_parser p(small);
  EXPECT_FALSE(p.got_some());
  EXPECT_FALSE(p.head_done());
  put(p, get_request);
  EXPECT_TRUE(p.got_some());
  EXPECT_FALSE(p.head_done());
  ASSERT_EQ(p.parse(), st::head);
  EXPECT_TRUE(p.head_done());
  request r = p.view();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/path?x=1");
  EXPECT_EQ(r.version, 11u);
  EXPECT_TRUE(r.keep_alive);
  EXPECT_FALSE(r.authorization);
  EXPECT_FALSE(r.content_type);
  EXPECT_FALSE(r.upgrade);
  EXPECT_FALSE(r.connection);
  EXPECT_FALSE(r.sec_websocket_key);
  EXPECT_FALSE(r.idempotency_key);
  EXPECT_FALSE(p.chunked());
  EXPECT_FALSE(p.expects_continue());
  EXPECT_TRUE(p.after_head().empty());
  ASSERT_EQ(p.parse(), st::complete);
  EXPECT_EQ(p.view().body, "");
  EXPECT_EQ(p.view().target, "/path?x=1");
  p.next();
  EXPECT_FALSE(p.got_some());
  EXPECT_FALSE(p.head_done());
  EXPECT_EQ(p.parse(), st::need_more);
}

TEST(HttpRequestParser, NothingYetNeedsMore) {
  request_parser p(small);
  EXPECT_EQ(p.parse(), st::need_more);
  put(p, "GET / HT");
  EXPECT_EQ(p.parse(), st::need_more);
  EXPECT_TRUE(p.got_some());
  EXPECT_FALSE(p.head_done());
  put(p, "TP/1.1\r\nHost: a\r\n\r");
  EXPECT_EQ(p.parse(), st::need_more);
  EXPECT_FALSE(p.head_done());
  put(p, "\n");
  EXPECT_EQ(p.parse(), st::head);
  EXPECT_EQ(p.parse(), st::complete);
}

TEST(HttpRequestParser, PrepareGivesAtLeastWhatIsAsked) {
  request_parser p(parser_limits{});
  EXPECT_GE(p.prepare(1).size(), 1u);
  EXPECT_GE(p.prepare().size(), 4096u);
  EXPECT_GE(p.prepare(10000).size(), 10000u);
}

TEST(HttpRequestParser, PostWithContentLengthInOnePiece) {
  request_parser p(small);
  put(p, post_request);
  ASSERT_EQ(p.parse(), st::head);
  request r = p.view();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/publish");
  EXPECT_EQ(r.authorization, "Bearer abc");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.idempotency_key, "k-1");
  EXPECT_EQ(p.after_head(), "hello world");
  ASSERT_EQ(p.parse(), st::complete);
  EXPECT_EQ(p.view().body, "hello world");
  EXPECT_EQ(p.view().authorization, "Bearer abc");
}

TEST(HttpRequestParser, PostWithContentLengthByteByByte) {
  request_parser p(small);
  const std::size_t head_end = post_request.find("\r\n\r\n") + 4;
  int heads = 0;
  for (std::size_t i = 0; i < post_request.size(); ++i) {
    std::span<char> room = p.prepare(1);
    ASSERT_GE(room.size(), 1u);
    room[0] = post_request[i];
    p.commit(1);
    st s = p.parse();
    if (i + 1 == head_end) {
      ASSERT_EQ(s, st::head) << "at byte " << i;
      ++heads;
      EXPECT_EQ(p.view().content_type, "application/json");
      s = p.parse();
    }
    if (i + 1 == post_request.size()) {
      ASSERT_EQ(s, st::complete);
    } else {
      ASSERT_EQ(s, st::need_more) << "at byte " << i;
      EXPECT_EQ(p.head_done(), i + 1 >= head_end) << "at byte " << i;
    }
  }
  EXPECT_EQ(heads, 1);
  EXPECT_EQ(p.view().body, "hello world");
  EXPECT_EQ(p.view().idempotency_key, "k-1");
}

TEST(HttpRequestParser, ContentLengthSplitAnywhere) {
  seen whole = only(post_request);
  EXPECT_EQ(whole.body, "hello world");
  for (std::size_t cut = 1; cut < post_request.size(); ++cut)
    EXPECT_EQ(run(post_request, {cut}), run(post_request)) << "cut at " << cut;
  EXPECT_EQ(run_bytewise(post_request), run(post_request));
}

TEST(HttpRequestParser, ContentLengthForms) {
  EXPECT_EQ(only("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").body, "");
  EXPECT_EQ(only("POST / HTTP/1.1\r\nHost: h\r\ncontent-length:  3 \t\r\n\r\nabc").body, "abc");
  EXPECT_EQ(only("POST / HTTP/1.1\r\nHost: h\r\nCONTENT-LENGTH: 003\r\n\r\nabc").body, "abc");
}

TEST(HttpRequestParser, ChunkedBodyIsDecoded) {
  request_parser p(small);
  put(p, chunked_request);
  ASSERT_EQ(p.parse(), st::head);
  EXPECT_TRUE(p.chunked());
  ASSERT_EQ(p.parse(), st::complete);
  EXPECT_EQ(p.view().body, "hello world0123456789");
  p.next();
  EXPECT_FALSE(p.got_some());  // the trailers and the final CRLF were the request's
  EXPECT_EQ(p.parse(), st::need_more);
}

TEST(HttpRequestParser, ChunkedSplitAtEveryByte) {
  outcome whole = run(chunked_request);
  ASSERT_EQ(whole.requests.size(), 1u);
  EXPECT_EQ(whole.requests[0].body, "hello world0123456789");
  EXPECT_EQ(whole.end, st::need_more);
  for (std::size_t cut = 1; cut < chunked_request.size(); ++cut)
    EXPECT_EQ(run(chunked_request, {cut}), whole) << "cut at " << cut;
  for (std::size_t a = 1; a < chunked_request.size(); a += 7)
    for (std::size_t b = a + 1; b < chunked_request.size(); b += 5)
      EXPECT_EQ(run(chunked_request, {a, b}), whole) << "cuts at " << a << ", " << b;
  EXPECT_EQ(run_bytewise(chunked_request), whole);
}

TEST(HttpRequestParser, ChunkedForms) {
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  // No trailers; upper and lower case hex; leading zeros up to 16 digits.
  EXPECT_EQ(only(head + "0\r\n\r\n").body, "");
  EXPECT_EQ(only(head + "a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n").body,
            "0123456789abcdefghij");
  EXPECT_EQ(only(head + "000000000000000a\r\n0123456789\r\n0\r\n\r\n").body, "0123456789");
  EXPECT_EQ(only(head + "3;x\r\nabc\r\n000\r\n\r\n").body, "abc");
  // The Transfer-Encoding value is trimmed and matched case-insensitively.
  EXPECT_EQ(only("POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding:  CHUNKED \r\n\r\n"
                 "3\r\nabc\r\n0\r\n\r\n")
                .body,
            "abc");
  // A chunk of the full size of the body limit.
  EXPECT_EQ(only(head + "64\r\n" + std::string(100, 'x') + "\r\n0\r\n\r\n").body,
            std::string(100, 'x'));
  EXPECT_EQ(only(head + "32\r\n" + std::string(50, 'x') + "\r\n32\r\n" + std::string(50, 'y') +
                 "\r\n0\r\n\r\n")
                .body,
            std::string(50, 'x') + std::string(50, 'y'));
}

TEST(HttpRequestParser, PipelinedRequests) {
  const std::string second = "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
  const std::string both = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n" + second;
  request_parser p(small);
  put(p, both);
  ASSERT_EQ(p.parse(), st::head);
  EXPECT_EQ(p.view().target, "/a");
  EXPECT_EQ(p.after_head(), second);
  ASSERT_EQ(p.parse(), st::complete);
  EXPECT_EQ(p.view().target, "/a");
  EXPECT_EQ(p.view().body, "");
  p.next();
  EXPECT_TRUE(p.got_some());
  EXPECT_FALSE(p.head_done());
  ASSERT_EQ(p.parse(), st::head);
  EXPECT_EQ(p.view().method, "POST");
  EXPECT_EQ(p.view().target, "/b");
  ASSERT_EQ(p.parse(), st::complete);
  EXPECT_EQ(p.view().body, "abc");
  p.next();
  EXPECT_FALSE(p.got_some());
  EXPECT_EQ(p.parse(), st::need_more);
  // And a third one, arriving later on the same parser.
  put(p, get_request);
  ASSERT_EQ(p.parse(), st::head);
  EXPECT_EQ(p.view().target, "/path?x=1");
  ASSERT_EQ(p.parse(), st::complete);
}

TEST(HttpRequestParser, PipelinedSplitAnywhere) {
  const std::string three = get_request + chunked_request + post_request;
  outcome whole = run(three);
  ASSERT_EQ(whole.requests.size(), 3u);
  EXPECT_EQ(whole.requests[0].target, "/path?x=1");
  EXPECT_EQ(whole.requests[1].body, "hello world0123456789");
  EXPECT_EQ(whole.requests[2].body, "hello world");
  EXPECT_EQ(whole.end, st::need_more);
  for (std::size_t cut = 1; cut < three.size(); ++cut)
    EXPECT_EQ(run(three, {cut}), whole) << "cut at " << cut;
  EXPECT_EQ(run_bytewise(three), whole);
}

TEST(HttpRequestParser, PipelinedRequestCutInTheMiddle) {
  request_parser p(small);
  put(p, get_request + "GET /second HTTP/1.1\r\nHo");
  ASSERT_EQ(p.parse(), st::head);
  ASSERT_EQ(p.parse(), st::complete);
  p.next();
  EXPECT_TRUE(p.got_some());
  EXPECT_EQ(p.parse(), st::need_more);
  EXPECT_FALSE(p.head_done());
  put(p, "st: h\r\n\r\n");
  ASSERT_EQ(p.parse(), st::head);
  EXPECT_EQ(p.view().target, "/second");
  ASSERT_EQ(p.parse(), st::complete);
}

// RFC 9112 2.2: empty lines before a request line are skipped (some clients
// send a CRLF after a POST body).
TEST(HttpRequestParser, EmptyLinesBeforeTheRequestLineAreSkipped) {
  EXPECT_EQ(only("\r\n\r\n" + get_request).target, "/path?x=1");
  outcome o = run(post_request + "\r\n" + get_request);
  ASSERT_EQ(o.requests.size(), 2u);
  EXPECT_EQ(o.requests[0].body, "hello world");
  EXPECT_EQ(o.requests[1].target, "/path?x=1");
}

TEST(HttpRequestParser, KeepAlive) {
  auto keep = [](std::string version, std::string headers) {
    return only("GET / HTTP/" + version + "\r\nHost: h\r\n" + headers + "\r\n").keep_alive;
  };
  // HTTP/1.1: kept unless a Connection header has the token "close".
  EXPECT_TRUE(keep("1.1", ""));
  EXPECT_TRUE(keep("1.1", "Connection: keep-alive\r\n"));
  EXPECT_TRUE(keep("1.1", "Connection: closed\r\n"));
  EXPECT_TRUE(keep("1.1", "Connection: x-close, upgrade\r\n"));
  EXPECT_FALSE(keep("1.1", "Connection: close\r\n"));
  EXPECT_FALSE(keep("1.1", "Connection: CLOSE\r\n"));
  EXPECT_FALSE(keep("1.1", "connection: keep-alive, Close\r\n"));
  EXPECT_FALSE(keep("1.1", "Connection: Upgrade\r\nConnection: close\r\n"));
  EXPECT_FALSE(keep("1.1", "Connection: a,close ,b\r\n"));
  // HTTP/1.0: kept only with the token "keep-alive".
  EXPECT_FALSE(keep("1.0", ""));
  EXPECT_FALSE(keep("1.0", "Connection: upgrade\r\n"));
  EXPECT_TRUE(keep("1.0", "Connection: keep-alive\r\n"));
  EXPECT_TRUE(keep("1.0", "Connection: Keep-Alive\r\n"));
  EXPECT_TRUE(keep("1.0", "Connection: foo, KEEP-ALIVE\r\n"));
  EXPECT_TRUE(keep("1.0", "Connection: foo\r\nConnection: keep-alive\r\n"));
  EXPECT_FALSE(keep("1.0", "Connection: keep-alives\r\n"));
  // "close" wins over "keep-alive" (RFC 9112 9.3).
  EXPECT_FALSE(keep("1.0", "Connection: keep-alive, close\r\n"));
  EXPECT_FALSE(keep("1.1", "Connection: keep-alive\r\nConnection: close\r\n"));
  // An HTTP/1.0 request needs no Host.
  seen old = only("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(old.version, 10u);
  EXPECT_FALSE(old.keep_alive);
}

TEST(HttpRequestParser, HeadersAreFoundCaseInsensitivelyAndTheFirstOneCounts) {
  seen r = only(
      "POST /publish HTTP/1.1\r\nhost: h\r\nAUTHORIZATION: Bearer first\r\n"
      "authorization: Bearer second\r\ncontent-TYPE: text/plain\r\nContent-Type: other\r\n"
      "idempotency-key: one\r\nIdempotency-Key: two\r\nContent-Length: 2\r\n\r\nhi");
  EXPECT_EQ(r.authorization, "Bearer first");
  EXPECT_EQ(r.content_type, "text/plain");
  EXPECT_EQ(r.idempotency_key, "one");
  EXPECT_EQ(r.body, "hi");
}

TEST(HttpRequestParser, ValuesAreTrimmedAndMayHoldTabsAndObsText) {
  seen r = only(
      "GET / HTTP/1.1\r\nHost: h\r\nAuthorization:  \t Bearer  a\tb \t \r\n"
      "Content-Type:\r\nX-Other: \xc3\xa9t\xc3\xa9 \x80\xff\r\nIdempotency-Key:k\r\n\r\n");
  EXPECT_EQ(r.authorization, "Bearer  a\tb");
  EXPECT_EQ(r.content_type, "");
  EXPECT_EQ(r.idempotency_key, "k");
}

TEST(HttpRequestParser, TokensAndTargets) {
  // Any RFC 9110 token is a method; any visible ASCII or obs-text is a target.
  seen r = only("M-E.T_H~O!D#$%&'*+^`| /a/b?c=d&e=%20#frag HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(r.method, "M-E.T_H~O!D#$%&'*+^`|");
  EXPECT_EQ(r.target, "/a/b?c=d&e=%20#frag");
  EXPECT_EQ(only("GET http://example.com:8080/x HTTP/1.1\r\nHost: h\r\n\r\n").target,
            "http://example.com:8080/x");
  EXPECT_EQ(only("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").target, "*");
  EXPECT_EQ(only("GET /\xc3\xa9\x80\xff HTTP/1.1\r\nHost: h\r\n\r\n").target, "/\xc3\xa9\x80\xff");
  EXPECT_EQ(only("GET / HTTP/1.1\r\nX-!#$%&'*+.^_`|~09azAZ: v\r\nHost: h\r\n\r\n").target, "/");
}

TEST(HttpRequestParser, ExpectContinue) {
  request_parser p(small);
  put(p, "POST /publish HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n");
  ASSERT_EQ(p.parse(), st::head);
  EXPECT_TRUE(p.expects_continue());
  EXPECT_EQ(p.parse(), st::need_more);
  put(p, "ok");
  ASSERT_EQ(p.parse(), st::complete);
  p.next();
  put(p, get_request);
  ASSERT_EQ(p.parse(), st::head);
  EXPECT_FALSE(p.expects_continue());
  EXPECT_TRUE(only("POST / HTTP/1.1\r\nHost: h\r\nexpect: 100-continue\r\n\r\n").expects_continue);
  EXPECT_FALSE(only("POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n").expects_continue);
}

TEST(HttpRequestParser, UpgradeKeepsTheFramesBehindTheHead) {
  const std::string head =
      "GET /ws?token=t HTTP/1.1\r\nHost: h\r\nUPGRADE: websocket\r\nConnection: keep-alive, "
      "Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
      "Sec-WebSocket-Extensions: other\r\n\r\n";
  const std::string frames = lit("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58\x88\x80\0\0\0\0");
  request_parser p(small);
  put(p, head + frames);
  ASSERT_EQ(p.parse(), st::head);
  request r = p.view();
  EXPECT_EQ(r.target, "/ws?token=t");
  EXPECT_EQ(r.upgrade, "websocket");
  EXPECT_EQ(r.connection, "keep-alive, Upgrade");
  EXPECT_EQ(r.sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(r.sec_websocket_version, "13");
  EXPECT_EQ(r.sec_websocket_extensions, "permessage-deflate; client_max_window_bits");
  EXPECT_EQ(p.after_head(), frames);
  EXPECT_EQ(p.parse(), st::complete);  // no body: the frames are not the request's
  // Byte by byte: the head comes with its last byte, nothing behind it yet.
  request_parser q(small);
  for (std::size_t i = 0; i < head.size(); ++i) {
    put(q, head.substr(i, 1));
    ASSERT_EQ(q.parse(), i + 1 == head.size() ? st::head : st::need_more) << "at byte " << i;
  }
  EXPECT_EQ(q.after_head(), "");
  EXPECT_EQ(q.view().sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
}

TEST(HttpRequestParser, GotSomeAndHeadDone) {
  request_parser p(small);
  EXPECT_FALSE(p.got_some());
  EXPECT_FALSE(p.head_done());
  put(p, "P");
  EXPECT_EQ(p.parse(), st::need_more);
  EXPECT_TRUE(p.got_some());
  EXPECT_FALSE(p.head_done());
  put(p, "OST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab");
  ASSERT_EQ(p.parse(), st::head);
  EXPECT_TRUE(p.head_done());
  EXPECT_EQ(p.parse(), st::need_more);
  EXPECT_TRUE(p.head_done());
  EXPECT_TRUE(p.got_some());
  put(p, "cdG");  // the end of the body and the first byte of the next request
  ASSERT_EQ(p.parse(), st::complete);
  EXPECT_EQ(p.view().body, "abcd");
  EXPECT_TRUE(p.head_done());
  p.next();
  EXPECT_TRUE(p.got_some());
  EXPECT_FALSE(p.head_done());
  EXPECT_EQ(p.parse(), st::need_more);
  put(p, "ET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(p.parse(), st::head);
  ASSERT_EQ(p.parse(), st::complete);
  p.next();
  EXPECT_FALSE(p.got_some());
  EXPECT_FALSE(p.head_done());
}

TEST(HttpRequestParser, BigBodyGrowsTheBuffer) {
  parser_limits limits;  // the defaults: 1 MiB bodies
  std::string body(300000, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  const std::string bytes =
      "POST /publish HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body + get_request;
  request_parser p(limits);
  std::size_t at = 0;
  bool head = false, complete = false;
  while (at < bytes.size() && !complete) {
    std::span<char> room = p.prepare(4096);
    ASSERT_GE(room.size(), 4096u);
    std::size_t n = std::min<std::size_t>(4096, bytes.size() - at);
    std::memcpy(room.data(), bytes.data() + at, n);
    p.commit(n);
    at += n;
    for (st s = p.parse(); s != st::need_more; s = p.parse()) {
      ASSERT_NE(s, st::refused) << p.why_refused().why;
      if (s == st::head) head = true;
      if (s == st::complete) {
        complete = true;
        break;
      }
    }
  }
  ASSERT_TRUE(head);
  ASSERT_TRUE(complete);
  EXPECT_TRUE(p.view().body == body);
  EXPECT_EQ(p.view().target, "/publish");
  // Then the small request behind it, from the buffered bytes and the rest.
  p.next();
  put(p, std::string_view(bytes).substr(at));
  ASSERT_EQ(p.parse(), st::head);
  EXPECT_EQ(p.view().target, "/path?x=1");
  ASSERT_EQ(p.parse(), st::complete);
  p.next();
  // And a big chunked one.
  std::string chunked = "POST /publish HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::size_t i = 0; i < body.size(); i += 7000) {
    std::size_t n = std::min<std::size_t>(7000, body.size() - i);
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", n);
    chunked += size + body.substr(i, n) + "\r\n";
  }
  chunked += "0\r\n\r\n";
  outcome o = run(chunked, {1000, 50000, 50001, 200000}, limits);
  ASSERT_EQ(o.requests.size(), 1u);
  EXPECT_TRUE(o.requests[0].body == body);
  EXPECT_EQ(o.end, st::need_more);
}

TEST(HttpRequestParser, BigHeadWithinTheLimit) {
  parser_limits limits;  // 16 KiB heads
  const std::string value(15000, 'v');
  const std::string bytes = "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: " + value + "\r\n\r\n";
  outcome o = run(bytes, {100, 5000, 9000}, limits);
  ASSERT_EQ(o.requests.size(), 1u);
  EXPECT_EQ(o.requests[0].authorization, value);
}

// --- refusals ---

TEST(HttpRequestParser, BadRequestLines) {
  const std::string rest = "\r\nHost: h\r\n\r\n";
  for (std::string line : {
           "G@T / HTTP/1.1",        // not a token
           "GE(T / HTTP/1.1",       //
           " / HTTP/1.1",           // empty method
           "GET  / HTTP/1.1",       // empty target
           "GET / HTTP/1.1 ",       // trailing space
           "GET /  HTTP/1.1",       // two spaces
           "GET\t/ HTTP/1.1",       // HTAB is not SP
           "GET /a\tb HTTP/1.1",    //
           "GET /a\x01 HTTP/1.1",   // control byte in the target
           "GET /a\x7f HTTP/1.1",   // DEL in the target
           "GET / http/1.1",        // the version is case-sensitive
           "GET / HTTP/1.2",        //
           "GET / HTTP/2.0",        //
           "GET / HTTP/0.9",        //
           "GET / HTTP/1.10",       //
           "GET / HTTP/11",         //
           "GET / HTTP/1.",         //
           "GET /",                 // no version
           "GET",                   //
           "GET / HTTP/1.1 extra",  //
       })
    EXPECT_EQ(refusal_of(line + rest), 400u) << ::testing::PrintToString(line);
  EXPECT_EQ(refusal_of(lit("GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n")), 400u);
  // Lines end in CRLF only.
  EXPECT_EQ(refusal_of("GET / HTTP/1.1\nHost: h\r\n\r\n"), 400u);
  EXPECT_EQ(refusal_of("GET / HTTP/1.1\rHost: h\r\n\r\n"), 400u);
  EXPECT_EQ(refusal_of("\n" + get_request), 400u);
}

TEST(HttpRequestParser, BadHeaderLines) {
  const std::string start = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (std::string line : {
           "NoColon",            //
           "Name : value",       // whitespace before the colon
           "Name\t: value",      //
           ": value",            // empty name
           "Na(me: value",       // not a token
           "Na\"me: value",      //
           "Na\x80me: value",    //
           "Name: a\x01z",       // control byte in a value
           "Name: a\x7fz",       // DEL
           "Name: a\rz",         // bare CR
           "Name: a\nOther: z",  // bare LF as a line end
           "Name: a\x1b[31m",    //
       })
    EXPECT_EQ(refusal_of(start + line + "\r\n\r\n"), 400u) << ::testing::PrintToString(line);
  EXPECT_EQ(refusal_of(start + lit("Name: a\0z\r\n\r\n")), 400u);
  // obs-fold (RFC 9112 5.2): refused, on the first header line too.
  EXPECT_EQ(refusal_of(start + "Name: a\r\n b\r\n\r\n"), 400u);
  EXPECT_EQ(refusal_of(start + "Name: a\r\n\tb\r\n\r\n"), 400u);
  EXPECT_EQ(refusal_of("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), 400u);
}

TEST(HttpRequestParser, HostHeaders) {
  EXPECT_EQ(refusal_of("GET / HTTP/1.1\r\n\r\n"), 400u);
  EXPECT_EQ(refusal_of("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), 400u);
  EXPECT_EQ(refusal_of("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), 400u);
  EXPECT_EQ(refusal_of("GET / HTTP/1.0\r\nHost: a\r\nHOST: a\r\n\r\n"), 400u);
  EXPECT_EQ(only("GET / HTTP/1.0\r\nHost: a\r\n\r\n").version, 10u);
  EXPECT_EQ(only("GET / HTTP/1.1\r\nhOsT:\r\n\r\n").version, 11u);  // empty, but one
}

TEST(HttpRequestParser, BadContentLength) {
  const std::string start = "POST / HTTP/1.1\r\nHost: h\r\n";
  for (std::string headers : {
           "Content-Length: abc\r\n",                              //
           "Content-Length: -1\r\n",                               //
           "Content-Length: +1\r\n",                               //
           "Content-Length: 0x1\r\n",                              //
           "Content-Length: 1 1\r\n",                              //
           "Content-Length: 1, 1\r\n",                             // a list, even of equal values
           "Content-Length: 1,1\r\n",                              //
           "Content-Length:\r\n",                                  // empty
           "Content-Length: 1\r\nContent-Length: 1\r\n",           // two headers, even equal
           "Content-Length: 1\r\ncontent-length: 2\r\n",           //
           "Content-Length: 99999999999999999999999\r\n",          // overflow
           "Content-Length: 18446744073709551616\r\n",             // 2^64
           "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n",  // both framings
           "Transfer-Encoding: chunked\r\nContent-Length: 1\r\n",  //
       })
    EXPECT_EQ(refusal_of(start + headers + "\r\nx"), 400u) << ::testing::PrintToString(headers);
}

TEST(HttpRequestParser, BadTransferEncoding) {
  const std::string start = "POST / HTTP/1.1\r\nHost: h\r\n";
  for (std::string headers : {
           "Transfer-Encoding: gzip\r\n",                                   //
           "Transfer-Encoding: gzip, chunked\r\n",                          //
           "Transfer-Encoding: chunked, chunked\r\n",                       //
           "Transfer-Encoding: chunked;q=1\r\n",                            //
           "Transfer-Encoding:\r\n",                                        //
           "Transfer-Encoding: identity\r\n",                               //
           "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",  // two headers
           "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",     //
       })
    EXPECT_EQ(refusal_of(start + headers + "\r\n0\r\n\r\n"), 400u)
        << ::testing::PrintToString(headers);
}

TEST(HttpRequestParser, BadChunks) {
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::string body : {
           "xyz\r\nabc\r\n0\r\n\r\n",                // not hex
           "\r\n0\r\n\r\n",                          // no size
           "-3\r\nabc\r\n0\r\n\r\n",                 //
           "3\r\nabcX\r\n0\r\n\r\n",                 // no CRLF after the data
           "3\r\nabc\r0\r\n\r\n",                    //
           "3\r\nabc\n0\r\n\r\n",                    //
           "3\nabc\r\n0\r\n\r\n",                    // bare LF after the size
           "3\rabc\r\n0\r\n\r\n",                    //
           "00000000000000003\r\nabc\r\n0\r\n\r\n",  // 17 hex digits
           "10000000000000000\r\n",                  // 2^64
       })
    EXPECT_EQ(refusal_of(head + body), 400u) << ::testing::PrintToString(body);
}

TEST(HttpRequestParser, UriLimit) {
  const std::string target = "/" + std::string(small.max_uri_bytes - 1, 'u');
  EXPECT_EQ(only("GET " + target + " HTTP/1.1\r\nHost: h\r\n\r\n").target, target);
  EXPECT_EQ(refusal_of("GET " + target + "u HTTP/1.1\r\nHost: h\r\n\r\n"), 414u);
  EXPECT_EQ(refusal_of("POST " + target + "u HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx"),
            414u);
}

namespace {
// A GET whose head (request line, headers, final CRLF) is exactly `size` bytes.
std::string head_of(std::size_t size) {
  std::string start = "GET / HTTP/1.1\r\nHost: h\r\nX-Fill: ";
  std::string end = "\r\n\r\n";
  return start + std::string(size - start.size() - end.size(), 'f') + end;
}
}  // namespace

TEST(HttpRequestParser, HeaderLimit) {
  EXPECT_EQ(head_of(small.max_header_bytes).size(), small.max_header_bytes);
  EXPECT_EQ(only(head_of(small.max_header_bytes)).target, "/");
  EXPECT_EQ(refusal_of(head_of(small.max_header_bytes + 1)), 431u);
  EXPECT_EQ(refusal_of(head_of(small.max_header_bytes + 1000)), 431u);
  // Also with a body behind the head, and split anywhere.
  const std::string ok = head_of(small.max_header_bytes) + get_request;
  EXPECT_EQ(run(ok).requests.size(), 2u);
  for (std::size_t cut = 400; cut < ok.size(); cut += 3) EXPECT_EQ(run(ok, {cut}), run(ok));
  // A long request line: 431 when the head is too long, 414 otherwise.
  EXPECT_EQ(refusal_of("GET /" + std::string(600, 'u') + " HTTP/1.1\r\nHost: h\r\n\r\n"), 431u);
}

// A head that never ends is refused as soon as more than the limit has come,
// without waiting for its CRLFCRLF.
TEST(HttpRequestParser, HeaderLimitBeforeTheHeadEnds) {
  const std::string endless = "GET / HTTP/1.1\r\nHost: h\r\nX-Fill: " + std::string(2000, 'f');
  request_parser p(small);
  for (std::size_t i = 0; i < endless.size(); ++i) {
    put(p, endless.substr(i, 1));
    st s = p.parse();
    if (i + 1 <= small.max_header_bytes - 4) {
      ASSERT_EQ(s, st::need_more) << "at byte " << i;
    } else if (s != st::need_more) {
      ASSERT_EQ(s, st::refused);
      EXPECT_EQ(p.why_refused().status, 431u);
      EXPECT_LE(i + 1, small.max_header_bytes + 1);
      return;
    }
    ASSERT_LE(i + 1, small.max_header_bytes) << "no refusal after more than the limit";
  }
  FAIL() << "never refused";
}

TEST(HttpRequestParser, HeaderLimitInOnePieceWithoutTheEnd) {
  std::string endless = "GET / HTTP/1.1\r\nHost: h\r\nX-Fill: " + std::string(2000, 'f');
  EXPECT_EQ(refusal_of(endless), 431u);
  // Many short header lines, no end.
  std::string lines = "GET / HTTP/1.1\r\nHost: h\r\n";
  while (lines.size() < 1000) lines += "A: b\r\n";
  EXPECT_EQ(refusal_of(lines), 431u);
}

TEST(HttpRequestParser, BodyLimit) {
  const std::string start = "POST / HTTP/1.1\r\nHost: h\r\n";
  const std::string full(small.max_body_bytes, 'b');
  EXPECT_EQ(only(start + "Content-Length: 100\r\n\r\n" + full).body, full);
  // A Content-Length above the limit is refused with the head: no body sent.
  EXPECT_EQ(refusal_of(start + "Content-Length: 101\r\n\r\n"), 413u);
  {
    request_parser p(small);
    put(p, start + "Content-Length: 101\r\n\r\n");
    EXPECT_EQ(p.parse(), st::refused);
    EXPECT_EQ(p.why_refused().status, 413u);
  }
  // A chunked body is refused once its decoded size passes the limit.
  const std::string chunked = start + "Transfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(refusal_of(chunked + "65\r\n" + full + "b\r\n0\r\n\r\n"), 413u);
  EXPECT_EQ(refusal_of(chunked + "64\r\n" + full + "\r\n1\r\nb\r\n0\r\n\r\n"), 413u);
  EXPECT_EQ(refusal_of(chunked + "32\r\n" + full.substr(50) + "\r\n33\r\n" + full.substr(49) +
                       "\r\n0\r\n\r\n"),
            413u);
  EXPECT_EQ(refusal_of(chunked + "ffffffffffffffff\r\n"), 413u);
  // Byte by byte, the refusal comes no later than the byte that passes it.
  outcome o = run_bytewise(chunked + "65\r\n" + full + "b\r\n0\r\n\r\n");
  EXPECT_EQ(o.end, st::refused);
  EXPECT_EQ(o.status, 413u);
}

// Content-Length is 1*DIGIT: only a value beyond 2^64 - 1 is an overflow
// (400); a long value that fits is a length like any other (413 above the
// limit), and leading zeros do not count.
TEST(HttpRequestParser, LongContentLengthValues) {
  const std::string start = "POST / HTTP/1.1\r\nHost: h\r\n";
  EXPECT_EQ(refusal_of(start + "Content-Length: 1000000000000000000\r\n\r\n"), 413u);
  EXPECT_EQ(refusal_of(start + "Content-Length: 18446744073709551615\r\n\r\n"), 413u);
  EXPECT_EQ(refusal_of(start + "Content-Length: 18446744073709551616\r\n\r\n"), 400u);
  EXPECT_EQ(only(start + "Content-Length: 0000000000000000000003\r\n\r\nabc").body, "abc");
}

TEST(HttpRequestParser, RefusalSticks) {
  request_parser p(small);
  put(p, "GET / HTTP/9.9\r\nHost: h\r\n\r\n" + get_request);
  EXPECT_EQ(p.parse(), st::refused);
  EXPECT_EQ(p.why_refused().status, 400u);
  EXPECT_FALSE(p.why_refused().why.empty());
}
