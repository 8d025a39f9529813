// Fuzz target: the WebSocket frame reader, fed the input in chunks whose sizes
// come from the input itself. Text messages must be valid UTF-8 and within
// the size limit; nothing may be reported after a close or an error.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/text.hpp"
#include "ws/frame.hpp"

namespace {
struct checker : hf::ws::frame_handler {
  bool stopped = false;
  void on_text(std::string_view m) override {
    if (stopped || m.size() > 1024 || !hf::core::valid_utf8(m)) std::abort();
  }
  void on_binary() override {
    if (stopped) std::abort();
  }
  void on_ping(std::string_view p) override {
    if (stopped || p.size() > 125) std::abort();
  }
  void on_close(std::uint16_t, std::string_view) override {
    if (stopped) std::abort();
    stopped = true;
  }
  void on_error(std::uint16_t, std::string_view) override {
    if (stopped) std::abort();
    stopped = true;
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::size_t chunk = 1 + data[0] % 64;
  std::vector<char> bytes(data + 1, data + size);
  hf::ws::frame_reader reader(1024);
  checker h;
  for (std::size_t at = 0; at < bytes.size(); at += chunk) {
    std::size_t n = std::min(chunk, bytes.size() - at);
    reader.feed(bytes.data() + at, n, h);
  }
  return 0;
}
