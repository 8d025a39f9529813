// How a handler answers one request: the session gives each request to a
// handler together with an exchange (Beast's handle_request(req, send)
// shape), so handlers can be tested without sockets.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "http/response.hpp"
#include "net/socket.hpp"

namespace hf::http {

// One per request: answers that arrive for an older request of the same
// connection never reach a newer one. Destroying an exchange on any thread
// is safe (the session is released on its own thread).
class exchange {
 public:
  virtual ~exchange() = default;

  // Answers the request. Call exactly once per request (unless the
  // connection was taken with take_connection), from any thread: the session
  // writes the answer on its own thread. The session may turn keep_alive off
  // (the request asked to close, or the server is stopping).
  virtual void respond(response r) = 0;

  // For a WebSocket upgrade: the connection leaves the HTTP layer. Returns
  // its descriptor (no io_context watches it any more; -1 when the
  // connection is gone) and appends to `early_bytes` whatever arrived behind
  // the request. Call on the session's thread, instead of respond.
  virtual int take_connection(std::string& early_bytes) = 0;

  // A promise to answer by `by`: if respond has not been called then, the
  // session answers `fallback` itself (and runs `fired`, on its own thread),
  // and a later respond is ignored. Call on the session's thread, at most
  // once per request.
  virtual void backstop(std::chrono::steady_clock::time_point by, response fallback,
                        std::function<void()> fired) = 0;
};

using exchange_ptr = std::shared_ptr<exchange>;

}  // namespace hf::http
