#include "broker/device_wire.hpp"

#include <charconv>
#include <cstdint>

#include "broker/cluster_wire.hpp"

namespace hf::broker::wire {
namespace {

// A decimal number without sign or leading zeros, ending at `stop`
// (consumed with it).
std::optional<std::uint64_t> number(std::string_view& in, char stop) {
  std::size_t end = in.find(stop);
  if (end == 0 || end == std::string_view::npos || end > 19) return std::nullopt;
  if (in[0] == '0' && end > 1) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(in.data(), in.data() + end, v);
  if (ec != std::errc{} || p != in.data() + end) return std::nullopt;
  in.remove_prefix(end + 1);
  return v;
}

std::optional<std::string_view> token(std::string_view& in, char stop) {
  std::size_t end = in.find(stop);
  std::string_view w = in.substr(0, end);
  if (!valid_token(w)) return std::nullopt;
  in.remove_prefix(end == std::string_view::npos ? in.size() : end + 1);
  return w;
}

}  // namespace

std::string encode(const device_opened& m) {
  return "R1 " + m.incarnation + " " + std::to_string(m.since_ms) + " " + m.device;
}

std::string encode(const roster_query& m) {
  return "Q1 " + m.node + " " + m.incarnation + " " + std::to_string(m.request);
}

std::string encode(const roster_answer& m) {
  std::string out = "D1 " + m.incarnation + " " + std::to_string(m.request) + " " +
                    std::to_string(m.entries.size()) + "\n";
  for (const auto& e : m.entries) {
    out.append(std::to_string(e.since_ms)).push_back(' ');
    if (e.device)
      out.append("d").append(*e.device);
    else
      out.push_back('-');
    out.push_back('\n');
  }
  return out;
}

std::optional<device_opened> decode_device_opened(std::string_view in) {
  if (!in.starts_with("R1 ")) return std::nullopt;
  in.remove_prefix(3);
  auto inc = token(in, ' ');
  auto since = inc ? number(in, ' ') : std::nullopt;
  if (!since || *since > INT64_MAX || !protocol::valid_device(in)) return std::nullopt;
  return device_opened{std::string(*inc), static_cast<std::int64_t>(*since), std::string(in)};
}

std::optional<roster_query> decode_roster_query(std::string_view in) {
  if (!in.starts_with("Q1 ")) return std::nullopt;
  in.remove_prefix(3);
  auto node = token(in, ' ');
  auto inc = node ? token(in, ' ') : std::nullopt;
  if (!inc || in.empty() || in.size() > 19 || (in[0] == '0' && in.size() > 1)) return std::nullopt;
  std::uint64_t request = 0;
  auto [p, ec] = std::from_chars(in.data(), in.data() + in.size(), request);
  if (ec != std::errc{} || p != in.data() + in.size()) return std::nullopt;
  return roster_query{std::string(*node), std::string(*inc), request};
}

std::optional<roster_answer> decode_roster_answer(std::string_view in) {
  if (!in.starts_with("D1 ")) return std::nullopt;
  in.remove_prefix(3);
  auto inc = token(in, ' ');
  auto request = inc ? number(in, ' ') : std::nullopt;
  auto n = request ? number(in, '\n') : std::nullopt;
  // Each entry takes at least 4 bytes ("0 -\n"): n is bounded first.
  if (!n || *n > in.size() / 4) return std::nullopt;
  roster_answer a{std::string(*inc), *request, {}};
  a.entries.reserve(*n);
  for (std::uint64_t i = 0; i < *n; ++i) {
    auto since = number(in, ' ');
    std::size_t nl = in.find('\n');
    if (!since || *since > INT64_MAX || nl == std::string_view::npos) return std::nullopt;
    std::string_view dev = in.substr(0, nl);
    in.remove_prefix(nl + 1);
    protocol::roster_entry e{std::nullopt, static_cast<std::int64_t>(*since)};
    if (dev != "-") {
      if (dev.size() < 2 || dev[0] != 'd' || !protocol::valid_device(dev.substr(1)))
        return std::nullopt;
      e.device = std::string(dev.substr(1));
    }
    a.entries.push_back(std::move(e));
  }
  if (!in.empty()) return std::nullopt;
  return a;
}

}  // namespace hf::broker::wire
