// permessage-deflate (RFC 7692) for the server side: negotiating the
// extension from a client's offer, compressing server messages and inflating
// client messages, with zlib. Pure: bytes in, bytes out.
//
// The server always answers with server_no_context_takeover and
// client_no_context_takeover: every message is compressed on its own, so
// - one envelope is compressed once per publish and the same bytes go to
//   every socket that negotiated the extension (with the same window), and
// - a socket keeps no zlib state between messages: one compressor and one
//   inflater per worker thread serve all its sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace hf::ws {

// What was agreed for one socket.
struct deflate_params {
  // The LZ77 window the server compresses with: 15 unless the client asked
  // for less with server_max_window_bits (9..15; 8 is declined, zlib's raw
  // deflate cannot honour it).
  std::uint8_t server_window_bits = 15;
};

struct negotiation {
  std::optional<deflate_params> params;  // nullopt: no extension in use
  std::string response;                  // the Sec-WebSocket-Extensions value to answer with
};

// `offer` is the request's Sec-WebSocket-Extensions (the server reads the
// first such header line; an offer in a later line goes unanswered, which
// RFC 7692 allows: the socket opens without compression). The first permessage-deflate offer whose
// parameters are all understood and valid is accepted; offers with unknown, repeated or invalid
// parameters are skipped (RFC 7692 section 5.1); other extensions are ignored.
negotiation negotiate_deflate(std::string_view offer);

// A reusable raw-deflate compressor (one per thread).
class deflater {
 public:
  deflater();
  ~deflater();
  deflater(const deflater&) = delete;
  deflater& operator=(const deflater&) = delete;

  // The compressed payload of one message (RFC 7692 7.2.1: the trailing
  // 00 00 ff ff of the sync flush removed), compressed with `window_bits`.
  // Replaces `out`. False when zlib could not (out of memory): the message
  // is then sent uncompressed.
  bool compress(std::string_view message, std::uint8_t window_bits, std::string& out);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// A reusable raw inflater (one per thread).
class inflater {
 public:
  inflater();
  ~inflater();
  inflater(const inflater&) = delete;
  inflater& operator=(const inflater&) = delete;

  enum class result : std::uint8_t { ok, too_big, corrupt };

  // Inflates one compressed message into `out` (replaced), producing at most
  // `max_bytes`: a message that would inflate beyond it is `too_big` as soon
  // as that many bytes have come out (a deflate bomb costs max_bytes, no
  // more). `corrupt`: not valid deflate data.
  result inflate(std::string_view compressed, std::size_t max_bytes, std::string& out);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hf::ws
