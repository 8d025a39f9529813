// Optional native TLS (TLS_CERT_FILE + TLS_KEY_FILE): https and wss on the
// server's port. Each TLS connection is terminated on the accepting worker,
// and its plaintext goes through a socketpair to whatever serves plain
// connections (accept_context::serve: an ordinary HTTP session), so every
// limit, route and the WebSocket hand-off to the owning shard work as for
// plain TCP (the session's end of the pair moves to the user's shard; the TLS
// end stays here and pumps bytes). Costs one extra copy per direction;
// for many TLS connections, terminating TLS at a proxy is cheaper
// (docs/operations.md).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "net/accept_context.hpp"

namespace boost::asio::ssl {
class context;
}

namespace hf::net {

// A server TLS context from PEM files (TLS 1.2 and newer). Throws
// std::runtime_error naming the file on failure (start-up only).
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const std::string& cert_file,
                                                            const std::string& key_file);

// Runs the TLS handshake on `socket` (on c's thread, with *c.tls), then hands
// the plaintext side to c.serve. `c` must outlive the connection.
void start_tls_front(accept_context& c, boost::asio::ip::tcp::socket socket);

}  // namespace hf::net
