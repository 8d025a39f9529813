#include "broker/cluster_wire.hpp"

#include <algorithm>
#include <charconv>

#include "core/text.hpp"

namespace hf::broker::wire {
namespace {

constexpr std::string_view user_prefix = "hf:u:";
constexpr std::string_view publish_tag = "P1 ";
constexpr std::string_view options_tag = "P2 ";
constexpr std::string_view answer_tag = "A1 ";
constexpr std::string_view receipts_tag = "A2 ";
constexpr std::string_view end_tag = "C1 ";

void append_number(std::string& out, std::uint64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

// Reads a decimal number ending at `stop` from the front of `in`, and
// consumes it and the stop character.
std::optional<std::uint64_t> take_number(std::string_view& in, char stop) {
  std::size_t end = in.find(stop);
  if (end == 0 || end == std::string_view::npos || end > 20) return std::nullopt;
  if (in[0] == '0' && end > 1) return std::nullopt;  // no leading zeros: one spelling per number
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(in.data(), in.data() + end, v);
  if (ec != std::errc{} || p != in.data() + end) return std::nullopt;
  in.remove_prefix(end + 1);
  return v;
}

// Reads a token (valid_token) ending at `stop`, and consumes it and `stop`.
std::optional<std::string_view> take_token(std::string_view& in, char stop) {
  std::size_t end = in.find(stop);
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view w = in.substr(0, end);
  if (!valid_token(w)) return std::nullopt;
  in.remove_prefix(end + 1);
  return w;
}

}  // namespace

bool valid_token(std::string_view s) noexcept { return core::printable_token(s, max_token); }

std::string user_channel(std::string_view user_id) {
  std::string c;
  c.reserve(user_prefix.size() + user_id.size());
  c.append(user_prefix).append(user_id);
  return c;
}

std::optional<std::string_view> user_of_channel(std::string_view channel) noexcept {
  if (!channel.starts_with(user_prefix)) return std::nullopt;
  return channel.substr(user_prefix.size());
}

std::string reply_channel(std::string_view node_id, std::string_view incarnation) {
  std::string c;
  c.reserve(reply_prefix.size() + node_id.size() + 1 + incarnation.size());
  c.append(reply_prefix).append(node_id).append(":").append(incarnation);
  return c;
}

std::string publish_prefix(const publish_message& m) {
  std::string out;
  out.reserve(64 + m.node.size() + m.incarnation.size());
  bool options = m.options.any();
  out.append(options ? options_tag : publish_tag)
      .append(m.node)
      .append(" ")
      .append(m.incarnation)
      .push_back(' ');
  append_number(out, m.request);
  out.push_back(' ');
  append_number(out, m.wait_ms);
  out.push_back(' ');
  if (options) {
    // The first number: receipts (1) and webhook (2, section 14) as bits.
    out.push_back(
        static_cast<char>('0' + (m.options.receipts ? 1 : 0) + (m.options.webhook ? 2 : 0)));
    out.push_back(' ');
    out.append(m.options.cancel ? "1 " : "0 ");
    append_number(out, m.options.until);
    out.push_back(' ');
    append_number(out, m.elapsed_ms);
    out.push_back(' ');
  }
  return out;
}

std::string meta_key(std::string_view user_id) {
  std::string k = "hf:{";
  k.append(user_id).append("}:m");
  return k;
}

std::string stream_key(std::string_view user_id) {
  std::string k = "hf:{";
  k.append(user_id).append("}:s");
  return k;
}

namespace {
constexpr std::string_view sharded_prefix = "hf:{u:";
std::string sharded_name(std::string_view user_id, std::string_view suffix) {
  std::string k;
  k.reserve(sharded_prefix.size() + user_id.size() + suffix.size());
  k.append(sharded_prefix).append(user_id).append(suffix);
  return k;
}
}  // namespace

std::string names::user_channel(std::string_view user_id) const {
  return sharded ? sharded_name(user_id, "}:c") : wire::user_channel(user_id);
}

std::optional<std::string_view> names::user_of_channel(std::string_view channel) const noexcept {
  if (!sharded) return wire::user_of_channel(channel);
  if (!channel.starts_with(sharded_prefix) || !channel.ends_with("}:c") ||
      channel.size() < sharded_prefix.size() + 3)
    return std::nullopt;
  return channel.substr(sharded_prefix.size(), channel.size() - sharded_prefix.size() - 3);
}

std::string names::meta_key(std::string_view user_id) const {
  return sharded ? sharded_name(user_id, "}:m") : wire::meta_key(user_id);
}

std::string names::stream_key(std::string_view user_id) const {
  return sharded ? sharded_name(user_id, "}:s") : wire::stream_key(user_id);
}

std::optional<std::uint64_t> offset_of_entry(std::string_view id) noexcept {
  if (!id.starts_with("0-")) return std::nullopt;
  id.remove_prefix(2);
  if (id.empty() || id.size() > 20 || id[0] == '0') return std::nullopt;
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(id.data(), id.data() + id.size(), n);
  if (ec != std::errc{} || p != id.data() + id.size()) return std::nullopt;
  return n;
}

std::string encode(const publish_message& m) {
  std::string out = publish_prefix(m);
  out.reserve(out.size() + m.epoch.size() + 24 + m.envelope.size());
  out.append(m.epoch).push_back(' ');
  append_number(out, m.offset);
  out.push_back('\n');
  out.append(m.envelope);
  return out;
}

std::optional<publish_message> decode_publish(std::string_view in) {
  bool options = in.starts_with(options_tag);
  if (!options && !in.starts_with(publish_tag)) return std::nullopt;
  in.remove_prefix(publish_tag.size());
  auto node = take_token(in, ' ');
  auto incarnation = node ? take_token(in, ' ') : std::nullopt;
  auto request = incarnation ? take_number(in, ' ') : std::nullopt;
  auto wait = request ? take_number(in, ' ') : std::nullopt;
  protocol::publish_options o;
  std::uint64_t elapsed = 0;
  if (wait && options) {
    auto receipts = take_number(in, ' ');
    auto cancel = receipts ? take_number(in, ' ') : std::nullopt;
    auto until = cancel ? take_number(in, ' ') : std::nullopt;
    auto since = until ? take_number(in, ' ') : std::nullopt;
    if (!since || *receipts > 3 || *cancel > 1 || *until > UINT32_MAX || *since > max_wait_ms)
      return std::nullopt;
    o = {static_cast<std::uint32_t>(*until), (*receipts & 1) != 0, *cancel == 1,
         (*receipts & 2) != 0};
    if (!o.any()) return std::nullopt;  // one spelling: a publish without options is P1
    elapsed = *since;
  }
  auto epoch = wait ? take_token(in, ' ') : std::nullopt;
  auto offset = epoch ? take_number(in, '\n') : std::nullopt;
  if (!offset || *wait > max_wait_ms || *offset == 0) return std::nullopt;
  return publish_message{std::string(*node),
                         std::string(*incarnation),
                         *request,
                         *wait,
                         std::string(*epoch),
                         *offset,
                         std::string(in),
                         o,
                         elapsed};
}

namespace {
constexpr char state_chars[] = {'a', 'p', 'g'};

void append_receipt(std::string& out, const protocol::receipt& r) {
  out.push_back(state_chars[static_cast<std::size_t>(r.state)]);
  append_number(out, static_cast<std::uint64_t>(std::max<std::int64_t>(r.ack_ms, 0)));
  out.push_back(' ');
  if (r.device)
    out.append("d").append(*r.device);
  else
    out.push_back('-');
  out.push_back(' ');
  if (r.result) {
    append_number(out, r.result->size());
    out.push_back(':');
    out.append(*r.result);
  } else {
    out.push_back('-');
  }
}

std::optional<protocol::receipt> take_receipt(std::string_view& in) {
  if (in.empty()) return std::nullopt;
  protocol::receipt r;
  char s = in[0];
  if (s == 'a')
    r.state = protocol::receipt_state::acked;
  else if (s == 'p')
    r.state = protocol::receipt_state::pending;
  else if (s == 'g')
    r.state = protocol::receipt_state::gone;
  else
    return std::nullopt;
  in.remove_prefix(1);
  auto ms = take_number(in, ' ');
  if (!ms || *ms > max_wait_ms) return std::nullopt;
  r.ack_ms = static_cast<std::int64_t>(*ms);
  std::size_t sp = in.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  std::string_view dev = in.substr(0, sp);
  if (dev != "-") {
    if (dev.size() < 2 || dev[0] != 'd' || !protocol::valid_device(dev.substr(1)))
      return std::nullopt;
    r.device = std::string(dev.substr(1));
  }
  in.remove_prefix(sp + 1);
  if (in.starts_with("-")) {
    in.remove_prefix(1);
  } else {
    auto len = take_number(in, ':');
    if (!len || *len == 0 || *len > in.size() || r.state != protocol::receipt_state::acked)
      return std::nullopt;
    r.result = std::string(in.substr(0, *len));
    in.remove_prefix(*len);
  }
  return r;
}

// "<tag><incarnation> <request> <envelopeId> <count> <dropped> ": the head
// both answer versions share.
void append_answer_head(std::string& out, std::string_view tag, const node_answer& a) {
  out.append(tag).append(a.incarnation).push_back(' ');
  append_number(out, a.request);
  out.append(" ").append(a.envelope_id).push_back(' ');
  append_number(out, a.count);
  out.push_back(' ');
  append_number(out, a.dropped);
  out.push_back(' ');
}

std::string encode_receipts(const node_answer& a) {
  std::string out;
  out.reserve(128 + a.entries.size() * 32);
  append_answer_head(out, receipts_tag, a);
  append_number(out, static_cast<std::uint64_t>(a.step));
  out.push_back(' ');
  append_number(out, a.entries.size());
  out.push_back('\n');
  for (const auto& r : a.entries) append_receipt(out, r);
  return out;
}

// Reads the head append_answer_head writes (after the tag), consuming it.
std::optional<node_answer> take_answer_head(std::string_view& in) {
  auto incarnation = take_token(in, ' ');
  auto request = incarnation ? take_number(in, ' ') : std::nullopt;
  auto envelope_id = request ? take_token(in, ' ') : std::nullopt;
  auto count = envelope_id ? take_number(in, ' ') : std::nullopt;
  auto dropped = count ? take_number(in, ' ') : std::nullopt;
  if (!dropped) return std::nullopt;
  node_answer a;
  a.incarnation = *incarnation;
  a.request = *request;
  a.envelope_id = *envelope_id;
  a.count = *count;
  a.dropped = *dropped;
  return a;
}

std::optional<node_answer> decode_receipts(std::string_view in) {
  in.remove_prefix(receipts_tag.size());
  auto head = take_answer_head(in);
  auto step = head ? take_number(in, ' ') : std::nullopt;
  auto n = step ? take_number(in, '\n') : std::nullopt;
  // Each receipt takes at least 6 bytes ("p0 - -"): n is bounded before
  // anything is allocated; an answer other than an ack has at most one per
  // target.
  if (!n || *step > 3 || *n > in.size() / 6 || (*step != 1 && *n > head->count) ||
      head->dropped > head->count)
    return std::nullopt;
  node_answer a = std::move(*head);
  a.receipts = true;
  a.step = static_cast<node_answer::phase>(*step);
  a.entries.reserve(*n);
  for (std::uint64_t i = 0; i < *n; ++i) {
    auto r = take_receipt(in);
    if (!r) return std::nullopt;
    a.entries.push_back(std::move(*r));
  }
  if (!in.empty()) return std::nullopt;
  return a;
}
}  // namespace

std::string encode_end(std::string_view envelope_id) {
  std::string out(end_tag);
  out.append(envelope_id);
  return out;
}

std::optional<std::string_view> decode_end(std::string_view in) noexcept {
  if (!in.starts_with(end_tag)) return std::nullopt;
  in.remove_prefix(end_tag.size());
  if (!valid_token(in)) return std::nullopt;
  return in;
}

std::string encode(const node_answer& a) {
  if (a.receipts) return encode_receipts(a);
  std::size_t size = 128 + a.incarnation.size() + a.envelope_id.size();
  for (const auto& r : a.results) size += r.size() + 12;
  std::string out;
  out.reserve(size);
  append_answer_head(out, answer_tag, a);
  append_number(out, a.results.size());
  out.push_back('\n');
  for (const auto& r : a.results) {
    append_number(out, r.size());
    out.push_back(':');
    out.append(r);
  }
  return out;
}

std::optional<node_answer> decode_answer(std::string_view in) {
  if (in.starts_with(receipts_tag)) return decode_receipts(in);
  if (!in.starts_with(answer_tag)) return std::nullopt;
  in.remove_prefix(answer_tag.size());
  auto head = take_answer_head(in);
  auto n = head ? take_number(in, '\n') : std::nullopt;
  // A node reports at most one result per socket it sent the envelope to,
  // and each result takes at least 3 bytes ("1:x"): n is bounded by both
  // before anything is allocated.
  if (!n || *n > head->count || head->dropped > head->count - *n || *n > in.size() / 3)
    return std::nullopt;
  node_answer a = std::move(*head);
  a.results.reserve(*n);
  for (std::uint64_t i = 0; i < *n; ++i) {
    auto len = take_number(in, ':');
    if (!len || *len == 0 || *len > in.size()) return std::nullopt;
    a.results.emplace_back(in.substr(0, *len));
    in.remove_prefix(*len);
  }
  if (!in.empty()) return std::nullopt;
  return a;
}

}  // namespace hf::broker::wire
