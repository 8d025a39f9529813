#include "ws/deflate.hpp"

#include <zlib.h>

#include <array>
#include <new>
#include <utility>

#include "core/text.hpp"

namespace hf::ws {
namespace {

// Level 1: chat-sized JSON gains little from harder work, and the server pays
// this once per publish (measured in docs/performance.md).
constexpr int level = 1;
constexpr int mem_level = 8;  // zlib's default: 128 KiB + the window per compressor
constexpr unsigned char sync_tail[4] = {0x00, 0x00, 0xff, 0xff};

std::string_view trim(std::string_view s) { return core::js_trim(s); }

// 1*DIGIT without a leading zero, 8..15 (RFC 7692 7.1.2).
std::optional<int> window_bits(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty() || v.size() > 2 || v[0] == '0') return std::nullopt;
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n < 8 || n > 15) return std::nullopt;
  return n;
}

// One permessage-deflate offer's parameters ("a; b=1; c"), or nullopt when
// any is unknown, repeated or invalid, or asks for what we cannot do.
std::optional<deflate_params> accept_offer(std::string_view params, bool& asked_server_bits) {
  deflate_params p;
  bool seen_snct = false, seen_cnct = false, seen_smwb = false, seen_cmwb = false;
  asked_server_bits = false;
  while (!params.empty()) {
    std::size_t semi = params.find(';');
    std::string_view param = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    std::size_t eq = param.find('=');
    std::string_view name = trim(param.substr(0, eq));
    std::optional<std::string_view> value;
    if (eq != std::string_view::npos) value = trim(param.substr(eq + 1));
    auto once = [](bool& seen) { return !std::exchange(seen, true); };
    if (name == "server_no_context_takeover") {
      if (value || !once(seen_snct)) return std::nullopt;
    } else if (name == "client_no_context_takeover") {
      if (value || !once(seen_cnct)) return std::nullopt;
    } else if (name == "server_max_window_bits") {
      if (!value || !once(seen_smwb)) return std::nullopt;
      auto bits = window_bits(*value);
      if (!bits || *bits < 9) return std::nullopt;  // zlib's raw deflate has no 256-byte window
      p.server_window_bits = static_cast<std::uint8_t>(*bits);
      asked_server_bits = true;
    } else if (name == "client_max_window_bits") {
      // We inflate with the largest window, which reads any smaller one.
      if (!once(seen_cmwb) || (value && !window_bits(*value))) return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  return p;
}

}  // namespace

negotiation negotiate_deflate(std::string_view offer) {
  negotiation n;
  while (!offer.empty()) {
    std::size_t comma = offer.find(',');
    std::string_view ext = offer.substr(0, comma);
    offer = comma == std::string_view::npos ? std::string_view{} : offer.substr(comma + 1);
    std::size_t semi = ext.find(';');
    if (!core::iequals(trim(ext.substr(0, semi)), "permessage-deflate")) continue;
    bool asked_bits = false;
    auto p = accept_offer(
        semi == std::string_view::npos ? std::string_view{} : ext.substr(semi + 1), asked_bits);
    if (!p) continue;
    n.params = p;
    n.response = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
    if (asked_bits)
      n.response += "; server_max_window_bits=" + std::to_string(p->server_window_bits);
    return n;
  }
  return n;
}

// --- compressing ---

struct deflater::impl {
  // One stream per window size, made when first needed (almost always 15).
  std::array<std::unique_ptr<z_stream>, 16> streams;
  ~impl() {
    for (auto& s : streams)
      if (s) deflateEnd(s.get());
  }
  z_stream* stream(std::uint8_t bits) {
    auto& s = streams[bits];
    if (!s) {
      auto made = std::make_unique<z_stream>();
      if (deflateInit2(made.get(), level, Z_DEFLATED, -int(bits), mem_level, Z_DEFAULT_STRATEGY) !=
          Z_OK)
        return nullptr;  // out of memory: the caller sends the message uncompressed
      s = std::move(made);
    }
    return s.get();
  }
};

deflater::deflater() : impl_(std::make_unique<impl>()) {}
deflater::~deflater() = default;

bool deflater::compress(std::string_view message, std::uint8_t window_bits, std::string& out) {
  z_stream* z = impl_->stream(window_bits < 9 || window_bits > 15 ? 15 : window_bits);
  if (!z || deflateReset(z) != Z_OK) return false;
  // deflateBound covers a finished stream; a sync flush adds at most a few bytes.
  out.resize(deflateBound(z, static_cast<uLong>(message.size())) + 16);
  z->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
  z->avail_in = static_cast<uInt>(message.size());
  z->next_out = reinterpret_cast<Bytef*>(out.data());
  z->avail_out = static_cast<uInt>(out.size());
  if (deflate(z, Z_SYNC_FLUSH) != Z_OK || z->avail_in != 0) return false;
  std::size_t n = out.size() - z->avail_out;
  if (n >= 4 && std::string_view(out.data() + n - 4, 4) ==
                    std::string_view(reinterpret_cast<const char*>(sync_tail), 4))
    n -= 4;
  out.resize(n);
  return true;
}

// --- inflating ---

struct inflater::impl {
  z_stream z{};
  bool ready = false;
  ~impl() {
    if (ready) inflateEnd(&z);
  }
};

inflater::inflater() : impl_(std::make_unique<impl>()) {}
inflater::~inflater() = default;

inflater::result inflater::inflate(std::string_view compressed, std::size_t max_bytes,
                                   std::string& out) {
  z_stream& z = impl_->z;
  if (!impl_->ready) {
    if (inflateInit2(&z, -15) != Z_OK) return result::corrupt;
    impl_->ready = true;
  } else {
    inflateReset(&z);
  }
  out.clear();
  // The message, then the tail the sender removed (RFC 7692 7.2.2).
  std::string_view parts[2] = {compressed,
                               {reinterpret_cast<const char*>(sync_tail), sizeof sync_tail}};
  std::size_t produced = 0;
  for (std::string_view in : parts) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    while (z.avail_in > 0) {
      // Grow by doubling, never past max_bytes + 1 (one byte more proves "too big").
      if (produced == out.size()) {
        std::size_t want =
            std::min<std::size_t>(std::max<std::size_t>(out.size() * 2, 4096), max_bytes + 1);
        if (want == out.size()) return out.clear(), result::too_big;
        out.resize(want);
      }
      z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
      z.avail_out = static_cast<uInt>(out.size() - produced);
      int rc = ::inflate(&z, Z_SYNC_FLUSH);
      produced = out.size() - z.avail_out;
      if (produced > max_bytes) return out.clear(), result::too_big;
      if (rc == Z_STREAM_END) break;  // a final block: whatever follows is ignored
      if (rc == Z_BUF_ERROR && z.avail_out != 0) break;  // no progress possible: input used up
      if (rc != Z_OK && rc != Z_BUF_ERROR) return out.clear(), result::corrupt;
    }
    if (z.avail_in > 0) break;  // stream ended early
  }
  out.resize(produced);
  return result::ok;
}

}  // namespace hf::ws
