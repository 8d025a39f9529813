#include "protocol/publish_scan.hpp"

#include <array>
#include <cstdint>

#include "core/text.hpp"

namespace hf::protocol {
namespace {

// How deep a payload may nest here (the DOM path allows more: deeper
// payloads are simply left to it).
constexpr int max_depth = 32;
// How many members of one payload object are compared for repeats; an
// object with more goes the DOM way.
constexpr std::size_t max_members = 32;
// Integers of at most this many digits are exact doubles, printed back the
// same by JSON.stringify.
constexpr std::size_t max_digits = 15;

class scanner {
 public:
  explicit scanner(std::string_view s) : s_(s) {}

  bool at_end() const noexcept { return i_ == s_.size(); }
  std::size_t pos() const noexcept { return i_; }
  std::string_view since(std::size_t from) const noexcept { return s_.substr(from, i_ - from); }

  void skip_space() noexcept {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool eat(char c) noexcept {
    if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
    return false;
  }
  char peek() const noexcept { return i_ < s_.size() ? s_[i_] : '\0'; }

  // A string without any escape: its raw contents (control bytes refused).
  std::optional<std::string_view> plain_string() noexcept {
    if (!eat('"')) return std::nullopt;
    std::size_t start = i_;
    for (; i_ < s_.size(); ++i_) {
      unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') return s_.substr(start, i_++ - start);
      if (c == '\\' || c < 0x20) return std::nullopt;
    }
    return std::nullopt;
  }

  // A string as JSON.stringify would write it back. `escaped` tells whether
  // it had an escape (its raw text is then not its value).
  bool canonical_string(bool& escaped) noexcept {
    escaped = false;
    if (!eat('"')) return false;
    for (; i_ < s_.size(); ++i_) {
      unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') return ++i_, true;
      if (c < 0x20) return false;
      if (c == '\\') {
        if (++i_ == s_.size()) return false;
        char e = s_[i_];
        if (e != '"' && e != '\\' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't')
          return false;
        escaped = true;
      }
    }
    return false;
  }

  // -?(0|[1-9][0-9]*) of at most max_digits digits, not -0.
  bool canonical_integer() noexcept {
    bool minus = eat('-');
    std::size_t start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    std::size_t digits = i_ - start;
    if (digits == 0 || digits > max_digits) return false;
    if (s_[start] == '0' && (digits > 1 || minus)) return false;
    char next = peek();
    return next != '.' && next != 'e' && next != 'E';
  }

  bool literal(std::string_view word) noexcept {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  // A JSON value already in canonical form, no whitespace.
  bool canonical_value(int depth) noexcept {
    switch (peek()) {
      case '{':
        return depth < max_depth && canonical_object(depth + 1);
      case '[':
        return depth < max_depth && canonical_array(depth + 1);
      case '"': {
        bool escaped;
        return canonical_string(escaped);
      }
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return canonical_integer();
    }
  }

  bool canonical_array(int depth) noexcept {
    eat('[');
    if (eat(']')) return true;
    do {
      if (!canonical_value(depth)) return false;
    } while (eat(','));
    return eat(']');
  }

  bool canonical_object(int depth) noexcept {
    eat('{');
    if (eat('}')) return true;
    std::array<std::string_view, max_members> keys;
    std::size_t n = 0;
    do {
      std::size_t key_at = i_;
      bool escaped;
      if (!canonical_string(escaped) || escaped) return false;
      std::string_view key = s_.substr(key_at + 1, i_ - key_at - 2);
      // An array index ("0", "17") is moved first by JSON.stringify.
      if (!key.empty() && key.find_first_not_of("0123456789") == std::string_view::npos)
        return false;
      if (n == max_members) return false;
      for (std::size_t k = 0; k < n; ++k)
        if (keys[k] == key) return false;  // JSON.parse keeps the last: DOM path
      keys[n++] = key;
      if (!eat(':') || !canonical_value(depth)) return false;
    } while (eat(','));
    return eat('}');
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

std::optional<publish_request> scan_publish(std::string_view body) {
  scanner in(body);
  in.skip_space();
  if (!in.eat('{')) return std::nullopt;
  publish_request req;
  std::optional<std::string_view> user, type;
  bool seen_payload = false, seen_ack = false;
  in.skip_space();
  if (in.peek() != '}') {
    for (;;) {
      in.skip_space();
      auto key = in.plain_string();
      if (!key) return std::nullopt;
      in.skip_space();
      if (!in.eat(':')) return std::nullopt;
      in.skip_space();
      if (*key == "userId") {
        if (user) return std::nullopt;
        user = in.plain_string();
        if (!user) return std::nullopt;
      } else if (*key == "type") {
        if (type) return std::nullopt;
        type = in.plain_string();
        if (!type) return std::nullopt;
      } else if (*key == "payload") {
        if (seen_payload) return std::nullopt;
        seen_payload = true;
        std::size_t at = in.pos();
        if (!in.canonical_value(0)) return std::nullopt;
        req.payload_json.emplace(in.since(at));
      } else if (*key == "ackTimeoutMs") {
        if (seen_ack) return std::nullopt;
        seen_ack = true;
        std::size_t at = in.pos();
        if (in.peek() == '-' || !in.canonical_integer()) return std::nullopt;
        std::int64_t ms = 0;
        for (char c : in.since(at)) ms = ms * 10 + (c - '0');
        req.ack_timeout_ms = ms;
      } else {
        return std::nullopt;  // any other member: the DOM path reads it
      }
      in.skip_space();
      if (in.eat(',')) continue;
      if (in.eat('}')) break;
      return std::nullopt;
    }
  } else {
    in.eat('}');
  }
  in.skip_space();
  if (!in.at_end()) return std::nullopt;
  if (!user) return std::nullopt;
  std::string_view trimmed = core::js_trim(*user);
  if (trimmed.empty()) return std::nullopt;  // the DOM path answers it
  req.user_id.assign(trimmed);
  std::string_view t = type ? core::js_trim(*type) : std::string_view{};
  req.type.assign(t.empty() ? std::string_view("message") : t);
  return req;
}

}  // namespace hf::protocol
