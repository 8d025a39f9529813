// Words the server puts on the wire outside envelopes, defined once: the
// close codes and reasons of the closes it starts (docs/protocol.md
// section B), the reasons of a refresh_failed frame (section 8) and the
// values of the `hopeflow-degraded` header (section 6). Metrics count these
// (metrics/metrics.hpp takes its labels from here); renaming a metric never
// changes the wire. Pure, header-only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hf::protocol {

// The words of enum E (which ends with `count_`), one per value, in order:
// refuses to compile unless every value has one.
template <class E, std::size_t N>
consteval std::array<std::string_view, N> words_of(const char* const (&words)[N]) {
  static_assert(N == static_cast<std::size_t>(E::count_), "one word per enum value");
  std::array<std::string_view, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = words[i];
  return out;
}

template <class E>
constexpr std::size_t word_index(E e) noexcept {
  return static_cast<std::size_t>(e);
}

// A close frame the server sends on its own initiative.
struct close_frame {
  std::uint16_t code;
  std::string_view reason;
};
inline constexpr close_frame close_going_away{1001, "server shutting down"};
inline constexpr close_frame close_slow_consumer{1008, "slow consumer"};
inline constexpr close_frame close_token_expired{4001, "token expired"};
// Another socket of the user opened with the same device (section 11).
inline constexpr close_frame close_replaced{4002, "replaced"};

// Why a `refresh` was refused: the `reason` of its refresh_failed frame.
enum class refresh_failure : std::uint8_t {
  missing_token,  // no string `token`
  invalid_token,  // does not verify (bad signature, malformed, unknown key, ...)
  expired,        // exp already passed
  wrong_user,     // a valid token of another user
  publisher,      // a publisher token: sockets belong to users
  rate_limited,   // more refreshes than the socket may send (see hub/shard)
  count_
};
inline constexpr auto refresh_failure_reasons = words_of<refresh_failure>(
    {"missing_token", "invalid_token", "expired", "wrong_user", "publisher_token", "rate_limited"});

// Why a publish's answer may be missing part of the picture: the value of
// its `hopeflow-degraded` response header (the JSON body keeps its shape).
enum class degradation : std::uint8_t {
  local_only,  // Redis unreachable (or not yet resubscribed): this node's sockets only
  partial,     // some nodes that received the publish did not answer by the deadline
  unknown,     // the publish's fate below is unknown (Redis lost with it in flight, or
               // the session's backstop answered because nothing else did)
  count_
};
inline constexpr auto degraded_values = words_of<degradation>({"local-only", "partial", "unknown"});

}  // namespace hf::protocol
