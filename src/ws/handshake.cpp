#include "ws/handshake.hpp"

#include <openssl/evp.h>

#include "core/digest.hpp"
#include "core/text.hpp"

namespace hf::ws {
namespace {

// True when the comma-separated header `list` holds `token` (any case).
bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    if (core::iequals(core::js_trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::string base64(const unsigned char* data, int n) {
  std::string out(static_cast<std::size_t>(4 * ((n + 2) / 3)), '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, n);
  out.resize(static_cast<std::size_t>(len));
  return out;
}

// A Sec-WebSocket-Key must be base64 of 16 bytes: 22 characters and "==".
bool valid_key(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (char c : key.substr(0, 22))
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') return false;
  return true;
}

}  // namespace

std::string accept_key(std::string_view key) {
  static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  auto digest = core::sha1(key, guid);
  if (!digest) return {};  // (OpenSSL failed: a client refuses the empty accept)
  return base64(digest->data(), static_cast<int>(digest->size()));
}

handshake_result check_handshake(const handshake_request& req) {
  handshake_result r;
  auto refuse = [&](unsigned status, std::string why) {
    r.status = status;
    r.reason = std::move(why);
    return r;
  };
  if (req.method != "GET") return refuse(400, "WebSocket handshake method must be GET");
  if (req.http_version < 11) return refuse(400, "WebSocket handshake needs HTTP/1.1");
  if (!req.connection || !has_token(*req.connection, "upgrade"))
    return refuse(400, "WebSocket handshake needs Connection: Upgrade");
  if (!req.upgrade || !has_token(*req.upgrade, "websocket"))
    return refuse(400, "WebSocket handshake needs Upgrade: websocket");
  if (!req.key || !valid_key(core::js_trim(*req.key)))
    return refuse(400, "WebSocket handshake needs a valid Sec-WebSocket-Key");
  if (!req.version || core::js_trim(*req.version) != "13")
    return refuse(426, "WebSocket version 13 is required");
  r.accept = accept_key(core::js_trim(*req.key));
  return r;
}

std::string switching_protocols_response(std::string_view accept, std::string_view extensions) {
  std::string out =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  out.append(accept);
  if (!extensions.empty()) {
    out.append("\r\nSec-WebSocket-Extensions: ");
    out.append(extensions);
  }
  out.append("\r\n\r\n");
  return out;
}

std::string refusal_response(unsigned status, std::string_view reason) {
  std::string out = "HTTP/1.1 ";
  out.append(std::to_string(status));
  out.push_back(' ');
  out.append(reason);
  out.append("\r\ncontent-type: text/plain;charset=UTF-8\r\nconnection: close\r\ncontent-length: ");
  out.append(std::to_string(reason.size()));
  out.append("\r\n\r\n");
  out.append(reason);
  return out;
}

}  // namespace hf::ws
