#include "protocol/idempotency.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <boost/json/value.hpp>
#include <charconv>

#include "core/hex.hpp"
#include "core/js_json.hpp"
#include "core/text.hpp"

namespace hf::protocol {
namespace {

// JSON.stringify of `v` with every object's members in name order.
void append_canonical(std::string& out, const boost::json::value& v) {
  if (const boost::json::object* o = v.if_object()) {
    std::vector<const boost::json::key_value_pair*> members;
    members.reserve(o->size());
    for (const auto& kv : *o) members.push_back(&kv);
    std::sort(members.begin(), members.end(), [](auto* a, auto* b) { return a->key() < b->key(); });
    out.push_back('{');
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i) out.push_back(',');
      core::append_js_string(out, members[i]->key());
      out.push_back(':');
      append_canonical(out, members[i]->value());
    }
    out.push_back('}');
  } else if (const boost::json::array* a = v.if_array()) {
    out.push_back('[');
    for (std::size_t i = 0; i < a->size(); ++i) {
      if (i) out.push_back(',');
      append_canonical(out, (*a)[i]);
    }
    out.push_back(']');
  } else {
    core::append_js_json(out, v);
  }
}

}  // namespace

bool valid_idempotency_key(std::string_view key) noexcept {
  if (key.empty() || key.size() > 255) return false;
  return std::all_of(key.begin(), key.end(), [](char c) { return c >= ' ' && c <= '~'; });
}

std::optional<std::string> body_fingerprint(std::string_view body) {
  bool changed = false;
  std::string decoded;
  if (!core::valid_utf8(body) || body.starts_with("\xEF\xBB\xBF")) {
    decoded = core::whatwg_utf8_decode(body, changed);
    body = decoded;
  }
  auto v = core::parse_json(body);
  if (!v) return std::nullopt;
  std::string canonical;
  append_canonical(canonical, *v);
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), md);
  std::string hex;
  for (unsigned char c : md) core::append_hex(hex, c);
  return hex;
}

std::string encode(const idempotency_record& r) {
  if (!r.answered) return "F" + r.fingerprint;
  std::string out = "D" + r.fingerprint + " " + std::to_string(r.status) + " ";
  out += r.degraded ? std::to_string(static_cast<unsigned>(*r.degraded)) : "-";
  out.push_back('\n');
  out.append(r.body);
  return out;
}

std::optional<idempotency_record> decode_idempotency_record(std::string_view in) {
  if (in.size() < 65) return std::nullopt;
  idempotency_record r;
  char kind = in[0];
  r.fingerprint = std::string(in.substr(1, 64));
  if (!std::all_of(r.fingerprint.begin(), r.fingerprint.end(),
                   [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }))
    return std::nullopt;
  in.remove_prefix(65);
  if (kind == 'F') return in.empty() ? std::optional(r) : std::nullopt;
  if (kind != 'D' || !in.starts_with(" ")) return std::nullopt;
  in.remove_prefix(1);
  std::size_t sp = in.find(' '), nl = in.find('\n');
  if (sp == std::string_view::npos || nl == std::string_view::npos || nl < sp) return std::nullopt;
  auto [p, ec] = std::from_chars(in.data(), in.data() + sp, r.status);
  if (ec != std::errc{} || p != in.data() + sp || r.status < 100 || r.status > 599)
    return std::nullopt;
  std::string_view d = in.substr(sp + 1, nl - sp - 1);
  if (d != "-") {
    unsigned idx = 0;
    auto [q, e2] = std::from_chars(d.data(), d.data() + d.size(), idx);
    if (e2 != std::errc{} || q != d.data() + d.size() || idx >= degraded_values.size())
      return std::nullopt;
    r.degraded = static_cast<degradation>(idx);
  }
  r.answered = true;
  r.body = std::string(in.substr(nl + 1));
  return r;
}

}  // namespace hf::protocol
