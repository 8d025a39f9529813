#include "ws/frame.hpp"

#include <cstring>

#include "core/text.hpp"
#include "ws/deflate.hpp"

namespace hf::ws {
namespace {

void unmask(char* p, std::size_t n, const unsigned char key[4]) noexcept {
  std::uint64_t k8;
  unsigned char k[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
  std::memcpy(&k8, k, 8);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    w ^= k8;
    std::memcpy(p + i, &w, 8);
  }
  for (; i < n; ++i) p[i] = static_cast<char>(p[i] ^ key[i & 3]);
}

// Close codes a peer may send (RFC 6455 7.4 and the IANA registry).
bool valid_close_code(std::uint16_t c) {
  if (c >= 3000 && c <= 4999) return true;
  switch (c) {
    case 1000:
    case 1001:
    case 1002:
    case 1003:
    case 1007:
    case 1008:
    case 1009:
    case 1010:
    case 1011:
    case 1012:
    case 1013:
    case 1014:
      return true;
    default:
      return false;
  }
}

// Inflated client messages land here: one buffer per thread, so an idle
// socket holds none (shrunk again after a large message).
thread_local std::string inflated;
constexpr std::size_t inflated_keep = 64 * 1024;

}  // namespace

frame_reader::carried& frame_reader::carry() {
  if (!carry_) carry_ = std::make_unique<carried>();
  return *carry_;
}

bool frame_reader::fail(frame_handler& h, std::uint16_t code, std::string_view why) {
  stopped_ = true;
  if (carry_) {
    // (Freed by feed, which may be reading from it.)
    carry_->pending.clear();
    carry_->message.clear();
  }
  h.on_error(code, why);
  return false;
}

bool frame_reader::feed(char* data, std::size_t size, frame_handler& h) {
  if (stopped_) return false;
  if (!carry_ || carry_->pending.empty()) {
    std::size_t used = parse(data, size, h);
    if (!stopped_ && used < size) carry().pending.assign(data + used, size - used);
  } else {
    carry_->pending.append(data, size);
    std::size_t used = parse(carry_->pending.data(), carry_->pending.size(), h);
    if (!stopped_) carry_->pending.erase(0, used);
  }
  // Idle sockets hold nothing.
  if (carry_ && carry_->pending.empty() && carry_->message.empty()) carry_.reset();
  return !stopped_;
}

std::size_t frame_reader::parse(char* data, std::size_t size, frame_handler& h) {
  std::size_t pos = 0;
  while (!stopped_ && size - pos >= 2) {
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(data[pos + i]); };
    bool fin = byte(0) & 0x80;
    unsigned op = byte(0) & 0x0F;
    bool rsv1 = byte(0) & 0x40;
    if (byte(0) & 0x30 || (rsv1 && (!inflater_ || (op != op_text && op != op_binary))))
      return fail(h, close_code::protocol_error, "reserved bits set"), pos;
    if (!(byte(1) & 0x80)) return fail(h, close_code::protocol_error, "unmasked client frame"), pos;
    bool control = op >= 8;
    if (op != op_continuation && op != op_text && op != op_binary && op != op_close &&
        op != op_ping && op != op_pong)
      return fail(h, close_code::protocol_error, "unknown opcode"), pos;
    std::uint64_t len = byte(1) & 0x7F;
    std::size_t header = 2;
    if (control && (!fin || len > 125))
      return fail(h, close_code::protocol_error, "fragmented or oversized control frame"), pos;
    if (len == 126) {
      if (size - pos < 4) break;
      len = (std::uint64_t(byte(2)) << 8) | byte(3);
      header = 4;
      if (len < 126) return fail(h, close_code::protocol_error, "non-minimal length"), pos;
    } else if (len == 127) {
      if (size - pos < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | byte(2 + i);
      header = 10;
      if (len >> 63) return fail(h, close_code::protocol_error, "length has its top bit set"), pos;
      if (len < 65536) return fail(h, close_code::protocol_error, "non-minimal length"), pos;
    }
    if (!control) {
      if (op == op_continuation && !in_message_)
        return fail(h, close_code::protocol_error, "continuation without a message"), pos;
      if (op != op_continuation && in_message_)
        return fail(h, close_code::protocol_error, "new message inside a fragmented one"), pos;
      // Refuse an oversized message from its header: never buffer it.
      if (len + (carry_ ? carry_->message.size() : 0) > max_message_)
        return fail(h, close_code::too_big, "message too big"), pos;
    }
    header += 4;  // mask key
    if (size - pos < header + len) break;
    unsigned char key[4];
    std::memcpy(key, data + pos + header - 4, 4);
    char* payload = data + pos + header;
    unmask(payload, len, key);
    std::string_view body(payload, len);
    pos += header + len;

    switch (op) {
      case op_text:
      case op_binary:
        if (fin) {
          if (!complete(h, op == op_text, rsv1, body)) return pos;
        } else {
          in_message_ = true;
          message_text_ = op == op_text;
          message_compressed_ = rsv1;
          carry().message.assign(body);
        }
        break;
      case op_continuation:
        carry().message.append(body);
        if (fin) {
          in_message_ = false;
          if (!complete(h, message_text_, message_compressed_, carry_->message)) return pos;
          carry_->message.clear();  // (freed by feed, which may be reading from carry_)
        }
        break;
      case op_ping:
        h.on_ping(body);
        break;
      case op_pong:
        h.on_pong();
        break;
      case op_close: {
        if (len == 1) return fail(h, close_code::protocol_error, "close frame of one byte"), pos;
        std::uint16_t code = close_code::no_status;
        std::string_view reason;
        if (len >= 2) {
          code = static_cast<std::uint16_t>((static_cast<unsigned char>(body[0]) << 8) |
                                            static_cast<unsigned char>(body[1]));
          reason = body.substr(2);
          if (!valid_close_code(code))
            return fail(h, close_code::protocol_error, "invalid close code"), pos;
          if (!core::valid_utf8(reason))
            return fail(h, close_code::invalid_payload, "invalid UTF-8 in close reason"), pos;
        }
        stopped_ = true;
        h.on_close(code, reason);
        return pos;
      }
    }
  }
  return pos;
}

bool frame_reader::complete(frame_handler& h, bool text, bool compressed, std::string_view body) {
  if (!text) {  // contents not kept, compressed or not
    h.on_binary();
    return true;
  }
  if (compressed) {
    switch (inflater_->inflate(body, max_message_, inflated)) {
      case inflater::result::ok:
        break;
      case inflater::result::too_big:
        return fail(h, close_code::too_big, "message too big (inflated)");
      case inflater::result::corrupt:
        return fail(h, close_code::invalid_payload, "invalid deflate data");
    }
    body = inflated;
  }
  if (!core::valid_utf8(body))
    return fail(h, close_code::invalid_payload, "invalid UTF-8 in a text message");
  h.on_text(body);
  if (compressed && inflated.capacity() > inflated_keep) {
    inflated.clear();
    inflated.shrink_to_fit();
  }
  return true;
}

std::size_t encode_header(char* out, opcode op, std::size_t length, bool compressed) noexcept {
  out[0] = static_cast<char>(0x80 | (compressed ? 0x40 : 0) | op);
  if (length < 126) {
    out[1] = static_cast<char>(length);
    return 2;
  }
  if (length < 65536) {
    out[1] = 126;
    out[2] = static_cast<char>(length >> 8);
    out[3] = static_cast<char>(length & 0xFF);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i)
    out[2 + i] = static_cast<char>((std::uint64_t(length) >> (56 - 8 * i)) & 0xFF);
  return 10;
}

std::string make_frame(opcode op, std::string_view payload) {
  char header[10];
  std::size_t n = encode_header(header, op, payload.size());
  std::string f(header, n);
  f.append(payload);
  return f;
}

std::string make_close_frame(std::uint16_t code, std::string_view reason) {
  std::string body;
  body.push_back(static_cast<char>(code >> 8));
  body.push_back(static_cast<char>(code & 0xFF));
  body.append(reason.substr(0, 123));  // a control frame carries at most 125 bytes
  return make_frame(op_close, body);
}

}  // namespace hf::ws
