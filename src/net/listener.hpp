// Accepts TCP connections for one worker. Every worker has its own listening
// socket on the same port (SO_REUSEPORT), so the kernel spreads new
// connections over the threads without a hand-off. An accepted connection
// goes to the worker's accept_context (TLS front first, when configured,
// then `serve`).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "net/accept_context.hpp"

namespace hf::net {

class listener {
 public:
  virtual ~listener() = default;
  // Starts accepting; runs on the worker's thread from then on.
  virtual void start() = 0;
  // Stops accepting. Call on the worker's thread.
  virtual void stop() = 0;
  virtual std::uint16_t port() const = 0;

  // Binds host:port (port 0 = any free port). Throws std::runtime_error with a
  // readable message when the address cannot be bound (start-up only).
  // `first`: the process's first listener on this port. Every listener sets
  // SO_REUSEPORT (one per worker thread), which would also let a second
  // server process bind the port and silently take half its connections;
  // the first listener refuses to start when anything else listens there.
  // `c` must outlive the listener.
  static std::shared_ptr<listener> open(accept_context& c, const std::string& host,
                                        std::uint16_t port, bool first = false);
};

}  // namespace hf::net
