#include "core/js_json.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value_stack.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/hex.hpp"
#include "core/text.hpp"

namespace hf::core {

namespace {

// Builds the DOM like Boost.JSON's own parser does, except for numbers with a
// fraction or exponent: those are converted from their text with
// std::from_chars, which rounds correctly as JSON.parse does (Boost 1.81's
// fast conversion can be off by one unit in the last place for long inputs).
struct js_handler {
  static constexpr std::size_t max_object_size = boost::json::object::max_size();
  static constexpr std::size_t max_array_size = boost::json::array::max_size();
  static constexpr std::size_t max_key_size = boost::json::string::max_size();
  static constexpr std::size_t max_string_size = boost::json::string::max_size();

  explicit js_handler(boost::json::storage_ptr sp) : st(std::move(sp)) {}

  using ec_t = boost::system::error_code;
  using sv = boost::json::string_view;
  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_object_begin(ec_t&) { return true; }
  bool on_object_end(std::size_t n, ec_t&) { return st.push_object(n), true; }
  bool on_array_begin(ec_t&) { return true; }
  bool on_array_end(std::size_t n, ec_t&) { return st.push_array(n), true; }
  bool on_key_part(sv s, std::size_t, ec_t&) { return st.push_chars(s), true; }
  bool on_key(sv s, std::size_t, ec_t&) { return st.push_key(s), true; }
  bool on_string_part(sv s, std::size_t, ec_t&) { return st.push_chars(s), true; }
  bool on_string(sv s, std::size_t, ec_t&) { return st.push_string(s), true; }
  bool on_number_part(sv s, ec_t&) { return number.append(s.data(), s.size()), true; }
  bool on_int64(std::int64_t i, sv, ec_t&) { return number.clear(), st.push_int64(i), true; }
  bool on_uint64(std::uint64_t u, sv, ec_t&) { return number.clear(), st.push_uint64(u), true; }
  bool on_double(double d, sv s, ec_t&) {
    std::string_view text(s.data(), s.size());
    if (!number.empty()) text = number.append(s.data(), s.size());
    double exact = d;
    auto r = std::from_chars(text.data(), text.data() + text.size(), exact);
    if (r.ec != std::errc{}) exact = d;  // out of range: Boost's inf or 0, as JS
    number.clear();
    return st.push_double(exact), true;
  }
  bool on_bool(bool b, ec_t&) { return st.push_bool(b), true; }
  bool on_null(ec_t&) { return st.push_null(), true; }
  bool on_comment_part(sv, ec_t&) { return true; }
  bool on_comment(sv, ec_t&) { return true; }

  boost::json::value_stack st;
  std::string number;  // a number split across input buffers
};

}  // namespace

boost::system::result<boost::json::value> parse_json(std::string_view text,
                                                     boost::json::storage_ptr sp) {
  boost::json::parse_options opt;
  opt.max_depth = max_json_depth;
  boost::json::basic_parser<js_handler> p(opt, sp);
  p.handler().st.reset(sp);
  boost::system::error_code ec;
  std::size_t n = p.write_some(false, text.data(), text.size(), ec);
  if (!ec && n != text.size()) ec = boost::json::error::extra_data;
  if (!ec && !p.done()) ec = boost::json::error::incomplete;
  if (ec) return ec;
  return p.handler().st.release();
}

std::optional<double> json_number(const boost::json::value& v) noexcept {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

std::optional<std::string_view> trimmed_string_member(const boost::json::object& obj,
                                                      std::string_view key) noexcept {
  const boost::json::value* v = obj.if_contains(key);
  if (!v || !v->is_string()) return std::nullopt;
  std::string_view s = js_trim(v->get_string());
  if (s.empty()) return std::nullopt;
  return s;
}

void append_js_string(std::string& out, std::string_view s) {
  out.push_back('"');
  std::size_t run = 0;  // start of the pending run of bytes that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        out.append("\\u00");
        core::append_hex(out, c);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void append_js_number(std::string& out, double d) {
  if (!std::isfinite(d)) {  // JSON.stringify(Infinity) is null (1e400 parses to Infinity)
    out.append("null");
    return;
  }
  if (d == 0) {  // also -0, which JS prints as "0"
    out.push_back('0');
    return;
  }
  if (d < 0) {
    out.push_back('-');
    d = -d;
  }
  // Shortest round-trip digits, the same choice ECMAScript's Number::toString
  // makes; then laid out with its rules for where the point and exponent go.
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, r.ptr - buf);
  std::size_t epos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, epos))
    if (c != '.') digits.push_back(c);
  int e = std::atoi(std::string(sci.substr(epos + 1)).c_str());
  int k = static_cast<int>(digits.size());
  int n = e + 1;
  if (k <= n && n <= 21) {
    out.append(digits);
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, n);
    out.push_back('.');
    out.append(digits, n);
  } else if (-6 < n && n <= 0) {
    out.append("0.");
    out.append(static_cast<std::size_t>(-n), '0');
    out.append(digits);
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out.append(digits, 1);
    }
    out.push_back('e');
    out.push_back(n - 1 >= 0 ? '+' : '-');
    out.append(std::to_string(std::abs(n - 1)));
  }
}

namespace {

// ECMAScript array index: canonical decimal of an integer in [0, 2^32 - 2].
bool array_index(std::string_view key, std::uint32_t& index) {
  if (key.empty() || key.size() > 10 || (key.size() > 1 && key[0] == '0')) return false;
  std::uint64_t v = 0;
  for (char c : key) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 0xFFFFFFFEull) return false;
  index = static_cast<std::uint32_t>(v);
  return true;
}

constexpr std::int64_t max_safe = (std::int64_t{1} << 53);

void append_member(std::string& out, bool& first, const boost::json::key_value_pair& kv) {
  if (!first) out.push_back(',');
  first = false;
  append_js_string(out, kv.key());
  out.push_back(':');
  append_js_json(out, kv.value());
}

}  // namespace

void append_js_json(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out.append("null");
      return;
    case boost::json::kind::bool_:
      out.append(v.get_bool() ? "true" : "false");
      return;
    case boost::json::kind::int64: {
      std::int64_t i = v.get_int64();
      if (i >= -max_safe && i <= max_safe)
        out.append(std::to_string(i));
      else
        append_js_number(out, static_cast<double>(i));
      return;
    }
    case boost::json::kind::uint64: {
      std::uint64_t u = v.get_uint64();
      if (u <= static_cast<std::uint64_t>(max_safe))
        out.append(std::to_string(u));
      else
        append_js_number(out, static_cast<double>(u));
      return;
    }
    case boost::json::kind::double_:
      append_js_number(out, v.get_double());
      return;
    case boost::json::kind::string:
      append_js_string(out, v.get_string());
      return;
    case boost::json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        append_js_json(out, e);
      }
      out.push_back(']');
      return;
    }
    case boost::json::kind::object: {
      const auto& obj = v.get_object();
      out.push_back('{');
      bool first = true;
      // Integer-like keys come first, ascending (rare: only collected when seen).
      std::vector<std::pair<std::uint32_t, const boost::json::key_value_pair*>> indexed;
      std::uint32_t idx;
      for (const auto& kv : obj)
        if (array_index(kv.key(), idx)) indexed.emplace_back(idx, &kv);
      if (!indexed.empty()) {
        std::sort(indexed.begin(), indexed.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        for (const auto& [i, kv] : indexed) append_member(out, first, *kv);
      }
      for (const auto& kv : obj)
        if (indexed.empty() || !array_index(kv.key(), idx)) append_member(out, first, kv);
      out.push_back('}');
      return;
    }
  }
}

}  // namespace hf::core
