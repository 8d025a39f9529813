// RFC 6455 framing for the server side: an incremental reader of client
// frames (masked, possibly fragmented, interleaved with control frames) and
// the header of the unmasked frames the server sends. Pure: bytes in,
// callbacks out; no sockets. Not thread-safe: one reader per socket, used by
// the socket's thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace hf::ws {

class inflater;

enum opcode : std::uint8_t {
  op_continuation = 0,
  op_text = 1,
  op_binary = 2,
  op_close = 8,
  op_ping = 9,
  op_pong = 10
};

// Close codes the server sends (RFC 6455 section 7.4.1).
namespace close_code {
inline constexpr std::uint16_t normal = 1000, going_away = 1001, protocol_error = 1002,
                               no_status = 1005, invalid_payload = 1007, policy = 1008,
                               too_big = 1009, internal_error = 1011;
}

// What the reader reports. Views point into the reader's or the caller's
// buffer and are valid only during the call.
class frame_handler {
 public:
  virtual ~frame_handler() = default;
  virtual void on_text(std::string_view message) = 0;  // complete, valid UTF-8
  virtual void on_binary() {}                          // complete; contents not kept
  virtual void on_ping(std::string_view payload) = 0;
  virtual void on_pong() {}
  // A close frame: `code` is close_code::no_status when it carried none.
  virtual void on_close(std::uint16_t code, std::string_view reason) = 0;
  // The peer broke the protocol or a limit: close with `code` and stop reading.
  virtual void on_error(std::uint16_t code, std::string_view why) = 0;
};

class frame_reader {
 public:
  // Messages (all fragments together) larger than `max_message_bytes` are
  // refused with 1009 as soon as a frame header announces them, before their
  // payload arrives.
  explicit frame_reader(std::size_t max_message_bytes)
      : max_message_(
            static_cast<std::uint32_t>(std::min<std::size_t>(max_message_bytes, UINT32_MAX))) {}

  // permessage-deflate was negotiated: messages whose first frame has RSV1
  // set are inflated with `inf` (the thread's; not owned) before they are
  // reported, at most max_message_bytes of output (more: 1009; not deflate
  // data: 1007). Without it, RSV1 is a protocol error as before.
  void use_deflate(inflater* inf) noexcept { inflater_ = inf; }

  // Parses `data` (unmasked in place, hence mutable) and reports each
  // complete message or control frame in order. Keeps an incomplete frame
  // for the next call. Returns false once on_close or on_error has been
  // called; the reader then ignores everything.
  bool feed(char* data, std::size_t size, frame_handler& h);

  // No partial frame or fragmented message is held (nothing allocated).
  bool idle() const noexcept { return !carry_ && !in_message_; }
  bool stopped() const noexcept { return stopped_; }

 private:
  // Parses frames from data[0..size); returns bytes consumed (complete frames only).
  std::size_t parse(char* data, std::size_t size, frame_handler& h);
  bool fail(frame_handler& h, std::uint16_t code, std::string_view why);
  // A complete message: inflated when compressed, checked, reported.
  bool complete(frame_handler& h, bool text, bool compressed, std::string_view body);

  // What one feed leaves for the next: allocated only while there is any,
  // so that an idle socket's reader is a pointer, not two strings.
  struct carried {
    std::string pending;  // an incomplete frame carried to the next feed
    std::string message;  // fragments of a message in progress
  };
  carried& carry();

  std::unique_ptr<carried> carry_;
  inflater* inflater_ = nullptr;
  std::uint32_t max_message_;  // MAX_MESSAGE_BYTES is at most 1 GiB
  bool in_message_ = false;
  bool message_text_ = false;
  bool message_compressed_ = false;
  bool stopped_ = false;
};

// Writes the header of an unmasked, final server frame of `length` bytes into
// `out` (room for 10 bytes); returns the header size (2, 4 or 10).
// `compressed`: RSV1 set (a permessage-deflate message).
std::size_t encode_header(char* out, opcode op, std::size_t length,
                          bool compressed = false) noexcept;

// A complete unmasked server frame (header + payload), for rare frames
// (pong, close).
std::string make_frame(opcode op, std::string_view payload);
std::string make_close_frame(std::uint16_t code, std::string_view reason);

}  // namespace hf::ws
