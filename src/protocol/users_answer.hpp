// The answer of a publish to many users (docs/protocol.md section 15,
// `userIds`): each user's own answer, and their sum. Pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/receipts.hpp"

namespace hf::protocol {

// One user's part of the answer: what its envelope's delivery returned.
// The views name strings that outlive the serialisation (the request's
// envelopes).
struct user_answer {
  std::string_view user_id;
  std::string_view envelope_id;
  std::size_t client_count = 0;
  std::vector<std::string> results;  // each already JSON text, in arrival order
  std::size_t dropped = 0;           // results left out by the result limits
  std::vector<receipt> devices;      // written only when the publish asked for receipts
};

// {"clientCount":<sum>,"results":[<every user's results, in `users` order>],
//  "users":{"<U>":{"clientCount":n,"results":[...],"envelopeId":"<id>"},...}}
// with the users in the given order (the body's `userIds` order). With
// `receipts`, each user's entry has "devices" after its "results" (there is
// no top-level "devices"). When results were left out, the user's entry has
// "resultsDropped":n before "envelopeId", and the answer ends with
// "resultsDropped":<sum> after "users"; neither is present otherwise.
std::string serialize_users_answer(const std::vector<user_answer>& users, bool receipts);

}  // namespace hf::protocol
