#include "protocol/envelope.hpp"

#include <openssl/rand.h>

#include <boost/json/object.hpp>
#include <cstdio>
#include <stdexcept>

#include "core/hex.hpp"
#include "core/js_json.hpp"

namespace hf::protocol {

std::string format_uuid_v4(const std::array<std::uint8_t, 16>& b) {
  std::array<std::uint8_t, 16> r = b;
  r[6] = static_cast<std::uint8_t>((r[6] & 0x0F) | 0x40);
  r[8] = static_cast<std::uint8_t>((r[8] & 0x3F) | 0x80);
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    core::append_hex(out, r[i]);
  }
  return out;
}

std::string random_uuid_v4() {
  // RAND_bytes per call costs a lock-free DRBG step; amortise it over 64 ids.
  thread_local std::array<std::uint8_t, 16 * 64> pool;
  thread_local std::size_t used = pool.size();
  if (used == pool.size()) {
    if (RAND_bytes(pool.data(), static_cast<int>(pool.size())) != 1)
      throw std::runtime_error("RAND_bytes failed");  // the CSPRNG is broken: not recoverable
    used = 0;
  }
  std::array<std::uint8_t, 16> b;
  std::copy_n(pool.begin() + static_cast<std::ptrdiff_t>(used), 16, b.begin());
  used += 16;
  return format_uuid_v4(b);
}

std::string random_hex_id() {
  std::array<std::uint8_t, 8> b;
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (std::uint8_t c : b) {
    s.push_back(digits[c >> 4]);
    s.push_back(digits[c & 15]);
  }
  return s;
}

void append_iso_timestamp(std::string& out, std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ms = floor<milliseconds>(t);
  auto sec = floor<seconds>(ms);
  // "YYYY-MM-DDTHH:MM:SS" changes once a second: made once per second per
  // thread, by hand (snprintf was a visible share of a publish).
  thread_local sys_seconds cached{seconds::min()};
  thread_local char prefix[32];
  thread_local std::size_t prefix_size = 0;
  if (sec != cached) {
    auto day = floor<days>(sec);
    year_month_day ymd{day};
    hh_mm_ss<seconds> hms{sec - day};
    int year = int(ymd.year());
    if (year < 0 || year > 9999) {
      prefix_size = static_cast<std::size_t>(
          std::snprintf(prefix, sizeof prefix, "%04d-%02u-%02uT%02d:%02d:%02d", year,
                        unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                        int(hms.minutes().count()), int(hms.seconds().count())));
    } else {
      auto two = [](char* at, unsigned v) {
        at[0] = static_cast<char>('0' + v / 10);
        at[1] = static_cast<char>('0' + v % 10);
      };
      two(prefix, unsigned(year) / 100);
      two(prefix + 2, unsigned(year) % 100);
      prefix[4] = '-';
      two(prefix + 5, unsigned(ymd.month()));
      prefix[7] = '-';
      two(prefix + 8, unsigned(ymd.day()));
      prefix[10] = 'T';
      two(prefix + 11, unsigned(hms.hours().count()));
      prefix[13] = ':';
      two(prefix + 14, unsigned(hms.minutes().count()));
      prefix[16] = ':';
      two(prefix + 17, unsigned(hms.seconds().count()));
      prefix_size = 19;
    }
    cached = sec;
  }
  out.append(prefix, prefix_size);
  unsigned milli = static_cast<unsigned>((ms - sec).count());
  char tail[5] = {'.', static_cast<char>('0' + milli / 100),
                  static_cast<char>('0' + milli / 10 % 10), static_cast<char>('0' + milli % 10),
                  'Z'};
  out.append(tail, sizeof tail);
}

std::string format_iso_timestamp(std::chrono::system_clock::time_point t) {
  std::string out;
  append_iso_timestamp(out, t);
  return out;
}

namespace {

// Everything before the timestamp's value: {"envelopeId":"…","type":…,"userId":…,"timestamp":
void append_head(std::string& out, std::string_view id, std::string_view type,
                 std::string_view user_id) {
  out.append(R"({"envelopeId":)");
  core::append_js_string(out, id);
  out.append(R"(,"type":)");
  core::append_js_string(out, type);
  out.append(R"(,"userId":)");
  core::append_js_string(out, user_id);
  out.append(R"(,"timestamp":)");
}

void append_tail(std::string& out, const boost::json::value* payload) {
  if (payload) {
    out.append(R"(,"payload":)");
    core::append_js_json(out, *payload);
  }
  out.push_back('}');
}

}  // namespace

std::string serialize_envelope(std::string_view id, std::string_view type, std::string_view user_id,
                               std::string_view timestamp, const boost::json::value* payload) {
  std::string out;
  out.reserve(128 + type.size() + user_id.size());
  append_head(out, id, type, user_id);
  core::append_js_string(out, timestamp);
  append_tail(out, payload);
  return out;
}

envelope make_envelope(std::string type, std::string user_id,
                       std::optional<boost::json::value> payload,
                       std::chrono::system_clock::time_point now) {
  envelope e;
  e.id = random_uuid_v4();
  e.type = std::move(type);
  e.user_id = std::move(user_id);
  e.payload = std::move(payload);
  // One buffer, sized for the usual small payload; the timestamp written in
  // place (it needs no escaping).
  e.text.reserve(160 + e.type.size() + e.user_id.size());
  append_head(e.text, e.id, e.type, e.user_id);
  e.text.push_back('"');
  append_iso_timestamp(e.text, now);
  e.text.push_back('"');
  append_tail(e.text, e.payload ? &*e.payload : nullptr);
  return e;
}

envelope make_envelope_from_json(std::string type, std::string user_id,
                                 std::optional<std::string_view> payload_json,
                                 std::chrono::system_clock::time_point now) {
  envelope e;
  e.id = random_uuid_v4();
  e.type = std::move(type);
  e.user_id = std::move(user_id);
  e.text.reserve(112 + e.type.size() + e.user_id.size() +
                 (payload_json ? payload_json->size() : 0));
  append_head(e.text, e.id, e.type, e.user_id);
  e.text.push_back('"');
  append_iso_timestamp(e.text, now);
  e.text.push_back('"');
  if (payload_json) {
    e.text.append(R"(,"payload":)");
    e.payload_at = static_cast<std::uint32_t>(e.text.size());
    e.text.append(*payload_json);
  }
  e.text.push_back('}');
  return e;
}

const boost::json::value* payload_dom(const envelope& e,
                                      std::optional<boost::json::value>& scratch) {
  if (e.payload) return &*e.payload;
  if (e.payload_at == 0) return nullptr;
  if (!scratch) {
    std::string_view text(e.text);
    auto parsed = core::parse_json(text.substr(e.payload_at, text.size() - 1 - e.payload_at));
    // Valid by construction (the scan checked it); a failure would be a bug
    // here, and matches nothing rather than everything.
    scratch = parsed ? std::move(*parsed) : boost::json::value();
  }
  return &*scratch;
}

std::optional<envelope> parse_envelope(std::string_view text) {
  auto parsed = core::parse_json(text);
  if (!parsed || !parsed->is_object()) return std::nullopt;
  auto& o = parsed->get_object();
  auto string_member = [&](std::string_view key) -> const boost::json::string* {
    const boost::json::value* v = o.if_contains(key);
    return v ? v->if_string() : nullptr;
  };
  const auto* id = string_member("envelopeId");
  const auto* type = string_member("type");
  const auto* user = string_member("userId");
  if (!id || !type || !user) return std::nullopt;
  envelope e;
  e.id = *id;
  e.type = *type;
  e.user_id = *user;
  if (auto it = o.find("payload"); it != o.end()) e.payload = std::move(it->value());
  e.text = text;
  return e;
}

}  // namespace hf::protocol
