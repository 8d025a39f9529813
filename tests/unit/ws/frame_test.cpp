#include "ws/frame.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "frame_helpers.hpp"

using namespace hf::ws;
using namespace hf::ws::testing;

namespace {

std::vector<std::string> feed_all(std::string bytes, std::size_t max = 1 << 20) {
  frame_reader r(max);
  recorder h;
  r.feed(bytes.data(), bytes.size(), h);
  return h.events;
}

using V = std::vector<std::string>;

}  // namespace

TEST(FrameReader, Rfc6455MaskedHello) {
  std::string bytes = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
  EXPECT_EQ(feed_all(bytes), V{"text:Hello"});
}

TEST(FrameReader, SplitAtEveryByteGivesTheSameMessages) {
  std::string bytes = frame(0x81, "first") + frame(0x89, "p") + frame(0x81, std::string(300, 'x'));
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    frame_reader r(1 << 20);
    recorder h;
    std::string a = bytes.substr(0, cut), b = bytes.substr(cut);
    r.feed(a.data(), a.size(), h);
    r.feed(b.data(), b.size(), h);
    EXPECT_EQ(h.events, (V{"text:first", "ping:p", "text:" + std::string(300, 'x')})) << cut;
    EXPECT_TRUE(r.idle());
  }
}

TEST(FrameReader, HoldsPartialFramesOnlyWhileIncomplete) {
  frame_reader r(1 << 20);
  recorder h;
  std::string f = frame(0x81, "abc");
  r.feed(f.data(), 3, h);
  EXPECT_FALSE(r.idle());
  EXPECT_TRUE(h.events.empty());
  r.feed(f.data() + 3, f.size() - 3, h);
  EXPECT_TRUE(r.idle());
  EXPECT_EQ(h.events, V{"text:abc"});
}

TEST(FrameReader, FragmentsWithInterleavedControlFrames) {
  std::string bytes = frame(0x01, "Hel") + frame(0x89, "mid") + frame(0x80, "lo");
  EXPECT_EQ(feed_all(bytes), (V{"ping:mid", "text:Hello"}));
  EXPECT_EQ(feed_all(frame(0x02, "a") + frame(0x80, "b")), V{"binary"});
  EXPECT_EQ(feed_all(frame(0x8A, "")), V{"pong"});
}

TEST(FrameReader, ProtocolErrorsClose1002) {
  EXPECT_EQ(feed_all(std::string("\x81\x05Hello", 7)), V{"error:1002"});      // unmasked
  EXPECT_EQ(feed_all(frame(0xC1, "x")), V{"error:1002"});                     // RSV1
  EXPECT_EQ(feed_all(frame(0x83, "x")), V{"error:1002"});                     // opcode 3
  EXPECT_EQ(feed_all(frame(0x8B, "x")), V{"error:1002"});                     // opcode 11
  EXPECT_EQ(feed_all(frame(0x09, "x")), V{"error:1002"});                     // fragmented ping
  EXPECT_EQ(feed_all(frame(0x89, std::string(126, 'x'))), V{"error:1002"});   // control > 125
  EXPECT_EQ(feed_all(frame(0x80, "x")), V{"error:1002"});                     // lone continuation
  EXPECT_EQ(feed_all(frame(0x01, "a") + frame(0x81, "b")), V{"error:1002"});  // text inside text
  // Non-minimal 16-bit length for 5 bytes.
  EXPECT_EQ(feed_all(std::string("\x81\xFE\x00\x05", 4) + "MASK" + "Hello"), V{"error:1002"});
  // Nothing after an error is looked at.
  EXPECT_EQ(feed_all(frame(0x83, "x") + frame(0x81, "after")), V{"error:1002"});
}

TEST(FrameReader, TooBigIsRefusedFromTheHeader) {
  // A header announcing 1 GiB, and no payload at all: refused at once.
  std::string header = "\x81\xFF";
  for (int i = 7; i >= 0; --i)
    header.push_back(static_cast<char>(((1ull << 30) >> (8 * i)) & 0xFF));
  EXPECT_EQ(feed_all(header, 65536), V{"error:1009"});
  EXPECT_EQ(feed_all(frame(0x81, std::string(101, 'x')), 100), V{"error:1009"});
  EXPECT_EQ(feed_all(frame(0x01, std::string(60, 'x')) + frame(0x80, std::string(60, 'x')), 100),
            V{"error:1009"});
  EXPECT_EQ(feed_all(frame(0x81, std::string(100, 'x')), 100), V{"text:" + std::string(100, 'x')});
}

TEST(FrameReader, InvalidUtf8Closes1007) {
  EXPECT_EQ(feed_all(frame(0x81, "\xC3\x28")), V{"error:1007"});
  EXPECT_EQ(feed_all(frame(0x01, "\xE2\x82") + frame(0x80, "\xAC")),
            V{"text:\xE2\x82\xAC"});                      // split sequence is fine
  EXPECT_EQ(feed_all(frame(0x82, "\xFF")), V{"binary"});  // binary is not checked
}

TEST(FrameReader, CloseFrames) {
  EXPECT_EQ(feed_all(frame(0x88, "")), V{"close:1005:"});
  EXPECT_EQ(feed_all(frame(0x88, std::string("\x03\xE8", 2) + "bye") + frame(0x81, "ignored")),
            V{"close:1000:bye"});
  EXPECT_EQ(feed_all(frame(0x88, "\x03")), V{"error:1002"});
  EXPECT_EQ(feed_all(frame(0x88, std::string("\x03\xED", 2))),
            V{"error:1002"});  // 1005 may not be sent
  EXPECT_EQ(feed_all(frame(0x88, std::string("\x0F\xA0", 2))), V{"close:4000:"});
  EXPECT_EQ(feed_all(frame(0x88, std::string("\x03\xE8\xFF", 3))), V{"error:1007"});
}

TEST(FrameWriter, HeaderSizes) {
  char h[10];
  EXPECT_EQ(encode_header(h, op_text, 125), 2u);
  EXPECT_EQ(static_cast<unsigned char>(h[0]), 0x81);
  EXPECT_EQ(h[1], 125);
  EXPECT_EQ(encode_header(h, op_text, 126), 4u);
  EXPECT_EQ(encode_header(h, op_text, 65535), 4u);
  EXPECT_EQ(encode_header(h, op_text, 65536), 10u);
  EXPECT_EQ(static_cast<unsigned char>(h[1]), 127);
  EXPECT_EQ(make_close_frame(1001, "bye"), std::string("\x88\x05\x03\xE9"
                                                       "bye",
                                                       7));
  EXPECT_EQ(make_frame(op_pong, "p"), std::string("\x8A\x01p", 3));
}
