// The connected socket the HTTP sessions work on, a socket no io_context
// watches yet (an accepted connection, an upgrade's descriptor on its way to
// the WebSocket layer), the sends and receives that never wait, and the
// lingering close after a final answer.
//
// Sessions use a generic stream socket, so a TCP connection and the
// AF_UNIX end of a TLS front's socketpair are the same type to them.
#pragma once

#include <atomic>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <span>

namespace hf::net {

// Bound to its worker's io_context by type (not a type-erased executor): the
// socket is 48 bytes smaller, and each pending operation too, which an idle
// WebSocket holds one of; and an operation's completion needs no work
// counting through the erased executor.
using stream_socket = boost::asio::basic_stream_socket<boost::asio::generic::stream_protocol,
                                                       boost::asio::io_context::executor_type>;

// A connected socket that no io_context watches: the descriptor and its
// protocol. Accepted connections start as this (an io_context registers a
// socket only when a session first has to wait on it: a WebSocket upgrade
// whose request came whole never is). Whoever holds one must adopt() it or
// close the fd.
struct detached_socket {
  int fd = -1;
  boost::asio::generic::stream_protocol protocol{0, 0};
};

// Releases `s` from its io_context (call on s's thread) and returns its
// descriptor, now the caller's to close. On failure the socket is closed
// and the result is -1.
int release(stream_socket& s);

// Wraps `d` as a socket of `ioc` (call on ioc's thread). On failure the
// descriptor is closed and the returned socket is not open.
stream_socket adopt(boost::asio::io_context& ioc, detached_socket d);

// One send that never waits, whatever mode the socket is in (MSG_DONTWAIT,
// and MSG_NOSIGNAL: a closed peer is an error, not a signal): returns the
// bytes the kernel took, with `ec` would_block when it took none for lack of
// room. At most the first 1,024 buffers are sent (IOV_MAX).
// No ioctl is needed to make the socket non-blocking first, which saves one
// per connection.
std::size_t send_now(int fd, std::span<const boost::asio::const_buffer> buffers,
                     boost::system::error_code& ec);

// One receive that never waits: the bytes read, or 0 with `ec` would_block
// (nothing there yet), eof (the peer closed) or the error.
std::size_t receive_now(int fd, void* data, std::size_t size, boost::system::error_code& ec);

// Lingering close (as nginx does), after the last bytes of a connection are
// queued: sends FIN, then reads and discards what the peer still sends (the
// rest of a refused body, frames behind a close) until it closes, for at most
// a second, then closes. Closing at once would turn unread bytes into a
// reset, and the peer could lose the answer it was sent. Takes the socket and
// returns at once; `live`, when given, counts the connection until it is
// closed (the drain on shutdown waits for it). Call on the socket's thread.
void linger_close(stream_socket socket, std::atomic<long>* live);

}  // namespace hf::net
