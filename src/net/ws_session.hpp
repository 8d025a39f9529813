// One WebSocket of an authenticated user, living on the thread of the shard
// that owns the user.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>

namespace hf::net {

struct worker;

using upgrade_request = boost::beast::http::request<boost::beast::http::string_body>;

// Completes the WebSocket handshake for `req` on `socket` and attaches the
// socket to w's shard as `user_id`. Call on w's thread; `socket` must belong
// to w's io_context.
void start_websocket(worker& w, boost::asio::ip::tcp::socket socket, upgrade_request req,
                     std::string user_id);

}  // namespace hf::net
