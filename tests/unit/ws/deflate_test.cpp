#include "ws/deflate.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "frame_helpers.hpp"
#include "ws/frame.hpp"

using namespace hf::ws;
using namespace hf::ws::testing;

namespace {

std::string deflated(std::string_view text, std::uint8_t bits = 15) {
  deflater d;
  std::string out;
  EXPECT_TRUE(d.compress(text, bits, out));
  return out;
}

std::vector<std::string> feed(std::string bytes, bool negotiated, std::size_t max = 1 << 16) {
  inflater inf;
  frame_reader r(max);
  if (negotiated) r.use_deflate(&inf);
  recorder h;
  r.feed(bytes.data(), bytes.size(), h);
  return h.events;
}

using V = std::vector<std::string>;
const std::string both =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

}  // namespace

TEST(DeflateNegotiation, AcceptsPlainOffersAsBrowsersAndNodeSendThem) {
  EXPECT_FALSE(negotiate_deflate("").params);
  EXPECT_EQ(negotiate_deflate("permessage-deflate").response, both);
  // Chromium and npm ws.
  auto n = negotiate_deflate("permessage-deflate; client_max_window_bits");
  ASSERT_TRUE(n.params);
  EXPECT_EQ(n.params->server_window_bits, 15);
  EXPECT_EQ(n.response, both);
  // Python websockets.
  EXPECT_EQ(negotiate_deflate("permessage-deflate; client_max_window_bits=12").response, both);
  EXPECT_EQ(negotiate_deflate("PerMessage-Deflate ; server_no_context_takeover").response, both);
}

TEST(DeflateNegotiation, HonoursAServerWindowItCanAndDeclinesOneItCannot) {
  auto n = negotiate_deflate("permessage-deflate; server_max_window_bits=10");
  ASSERT_TRUE(n.params);
  EXPECT_EQ(n.params->server_window_bits, 10);
  EXPECT_EQ(n.response, both + "; server_max_window_bits=10");
  EXPECT_EQ(negotiate_deflate("permessage-deflate; server_max_window_bits=\"12\"")
                .params->server_window_bits,
            12);
  // zlib's raw deflate cannot keep to a 256-byte window: that offer is declined.
  EXPECT_FALSE(negotiate_deflate("permessage-deflate; server_max_window_bits=8").params);
  // ... and the next offer taken instead.
  n = negotiate_deflate("permessage-deflate; server_max_window_bits=8, permessage-deflate");
  ASSERT_TRUE(n.params);
  EXPECT_EQ(n.params->server_window_bits, 15);
}

TEST(DeflateNegotiation, SkipsOffersWithUnknownRepeatedOrInvalidParameters) {
  for (const char* bad :
       {"permessage-deflate; foo", "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "x-webkit-deflate-frame", "deflate-frame; permessage-deflate"})
    EXPECT_FALSE(negotiate_deflate(bad).params) << bad;
  EXPECT_TRUE(
      negotiate_deflate("x-webkit-deflate-frame, permessage-deflate; foo, permessage-deflate")
          .params);
}

TEST(Deflate, RoundTripsAndDropsTheSyncTail) {
  std::string text =
      R"({"envelopeId":"1b4e28ba-2fa1-11d2-883f-0016d3cca427","type":"chat_message","payload":{"text":")" +
      std::string(400, 'a') + R"("}})";
  for (std::uint8_t bits : {9, 12, 15}) {
    std::string c = deflated(text, bits);
    EXPECT_LT(c.size(), text.size() / 3);
    ASSERT_GE(c.size(), 4u);
    EXPECT_NE(c.substr(c.size() - 4), std::string("\x00\x00\xff\xff", 4));
    inflater inf;
    std::string out;
    ASSERT_EQ(inf.inflate(c, 1 << 20, out), inflater::result::ok);
    EXPECT_EQ(out, text);
    // The same inflater again (reset between messages: no context kept).
    ASSERT_EQ(inf.inflate(deflated("second"), 1 << 20, out), inflater::result::ok);
    EXPECT_EQ(out, "second");
  }
  inflater inf;
  std::string out = "x";
  ASSERT_EQ(inf.inflate(deflated(""), 10, out), inflater::result::ok);
  EXPECT_EQ(out, "");
}

TEST(Deflate, ABombStopsAtTheBoundAndGarbageIsCorrupt) {
  std::string zeros(8 << 20, '\0');
  std::string bomb = deflated(zeros);
  EXPECT_LT(bomb.size(), 64u << 10);
  inflater inf;
  std::string out;
  EXPECT_EQ(inf.inflate(bomb, 64 << 10, out), inflater::result::too_big);
  // Never grew past the bound (std::string may round a growth up to twice its size).
  EXPECT_LE(out.capacity(), 2 * ((64u << 10) + 1));
  EXPECT_EQ(inf.inflate(deflated(std::string(64 << 10, 'z')), 64 << 10, out), inflater::result::ok);
  EXPECT_EQ(inf.inflate(deflated(std::string((64 << 10) + 1, 'z')), 64 << 10, out),
            inflater::result::too_big);
  std::mt19937 rng(7);
  std::string junk(300, '\0');
  for (char& c : junk) c = static_cast<char>(rng());
  junk[0] = '\x07';  // BTYPE 11: reserved, always invalid
  EXPECT_EQ(inf.inflate(junk, 1 << 20, out), inflater::result::corrupt);
}

TEST(FrameReaderDeflate, InflatesCompressedMessagesWholeOrFragmented) {
  std::string c = deflated(R"({"type":"ack","envelopeId":"e1","result":"read"})");
  EXPECT_EQ(feed(frame(0xC1, c), true),
            V{R"(text:{"type":"ack","envelopeId":"e1","result":"read"})"});
  // Fragmented: RSV1 on the first frame only.
  std::string half1 = c.substr(0, c.size() / 2), half2 = c.substr(c.size() / 2);
  EXPECT_EQ(feed(frame(0x41, half1) + frame(0x89, "p") + frame(0x80, half2), true),
            (V{"ping:p", R"(text:{"type":"ack","envelopeId":"e1","result":"read"})"}));
  // Compressed and plain messages mix freely.
  EXPECT_EQ(feed(frame(0x81, "ping") + frame(0xC1, deflated("pong?")) + frame(0x81, "x"), true),
            (V{"text:ping", "text:pong?", "text:x"}));
  EXPECT_EQ(feed(frame(0xC2, deflated("bin")), true), V{"binary"});
}

TEST(FrameReaderDeflate, RefusesRsv1WhereItDoesNotBelongBombsAndBadData) {
  std::string c = deflated("hello");
  EXPECT_EQ(feed(frame(0xC1, c), false), V{"error:1002"}) << "not negotiated";
  EXPECT_EQ(feed(frame(0x41, c) + frame(0xC0, ""), true), V{"error:1002"})
      << "RSV1 on a continuation";
  EXPECT_EQ(feed(frame(0xC9, ""), true), V{"error:1002"}) << "RSV1 on a ping";
  EXPECT_EQ(feed(frame(0xA1, "x"), true), V{"error:1002"}) << "RSV2";
  std::string bomb = deflated(std::string(4 << 20, '{'));
  ASSERT_LT(bomb.size(), 65536u);
  EXPECT_EQ(feed(frame(0xC1, bomb), true, 1 << 16), V{"error:1009"});
  EXPECT_EQ(feed(frame(0xC1, "\x07garbage"), true), V{"error:1007"});
  EXPECT_EQ(feed(frame(0xC1, deflated("\xff\xfe")), true), V{"error:1007"})
      << "inflated, not UTF-8";
}
