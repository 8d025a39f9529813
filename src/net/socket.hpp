// The connected socket every session works on, and the few things done to a
// socket outside a session: handing it to another worker's thread, and the
// lingering close after a final answer.
//
// Sessions use a generic stream socket, so a TCP connection and the
// AF_UNIX end of a TLS front's socketpair are the same type to them, and a
// socket keeps its real address family when it changes thread.
#pragma once

#include <atomic>
#include <boost/asio/generic/stream_protocol.hpp>

namespace boost::asio {
class io_context;
}

namespace hf::net {

using stream_socket = boost::asio::generic::stream_protocol::socket;

// A socket between two threads: the descriptor and its protocol, owned by
// nobody's io_context. Whoever holds one must adopt() it or close the fd.
struct detached_socket {
  int fd = -1;
  boost::asio::generic::stream_protocol protocol{0, 0};
};

// Releases `s` from its io_context (call on s's thread). On failure the
// socket is closed and the result has fd -1.
detached_socket detach(stream_socket& s);

// Wraps `d` as a socket of `ioc` (call on ioc's thread). On failure the
// descriptor is closed and the returned socket is not open.
stream_socket adopt(boost::asio::io_context& ioc, detached_socket d);

// Lingering close (as nginx does), after the last bytes of a connection are
// queued: sends FIN, then reads and discards what the peer still sends (the
// rest of a refused body, frames behind a close) until it closes, for at most
// a second, then closes. Closing at once would turn unread bytes into a
// reset, and the peer could lose the answer it was sent. Takes the socket and
// returns at once; `live`, when given, counts the connection until it is
// closed (the drain on shutdown waits for it). Call on the socket's thread.
void linger_close(stream_socket socket, std::atomic<long>* live);

}  // namespace hf::net
