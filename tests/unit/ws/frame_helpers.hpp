// Test helpers for the WebSocket frame reader: a handler that records what it
// is told, and masked client frames built by hand.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ws/frame.hpp"

namespace hf::ws::testing {

struct recorder : frame_handler {
  std::vector<std::string> events;
  void on_text(std::string_view m) override { events.push_back("text:" + std::string(m)); }
  void on_binary() override { events.push_back("binary"); }
  void on_ping(std::string_view p) override { events.push_back("ping:" + std::string(p)); }
  void on_pong() override { events.push_back("pong"); }
  void on_close(std::uint16_t code, std::string_view reason) override {
    events.push_back("close:" + std::to_string(code) + ":" + std::string(reason));
  }
  void on_error(std::uint16_t code, std::string_view) override {
    events.push_back("error:" + std::to_string(code));
  }
};

// A masked client frame.
inline std::string frame(unsigned first_byte, std::string_view payload,
                         std::string mask = "\x37\xfa\x21\x3d") {
  std::string f(1, static_cast<char>(first_byte));
  std::size_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n < 65536) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xFF));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  }
  f.append(mask);
  for (std::size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}

}  // namespace hf::ws::testing
