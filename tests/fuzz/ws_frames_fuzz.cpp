// Fuzz target: the WebSocket frame reader, fed the input in chunks whose sizes
// come from the input itself, with permessage-deflate negotiated or not (the
// first byte's top bit). Text messages (inflated ones too) must be valid
// UTF-8 and within the size limit; nothing may be reported after a close or
// an error. Also the negotiation of the extension from the same bytes, whose
// answer must always be one of the forms the server can keep to.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/text.hpp"
#include "ws/deflate.hpp"
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
  static hf::ws::inflater inflater;
  if (data[0] & 0x80) reader.use_deflate(&inflater);
  checker h;
  for (std::size_t at = 0; at < bytes.size(); at += chunk) {
    std::size_t n = std::min(chunk, bytes.size() - at);
    reader.feed(bytes.data() + at, n, h);
  }
  auto n = hf::ws::negotiate_deflate(std::string_view(reinterpret_cast<const char*>(data), size));
  if (n.params) {
    const std::string base =
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
    unsigned bits = n.params->server_window_bits;
    if (bits < 9 || bits > 15 ||
        (n.response != base &&
         n.response != base + "; server_max_window_bits=" + std::to_string(bits)))
      std::abort();
  } else if (!n.response.empty()) {
    std::abort();
  }
  return 0;
}
