#include "broker/redis_single.hpp"

#include <hiredis/hiredis.h>

namespace hf::broker {
namespace {
std::string_view reply_str(const redisReply* r) {
  return r && r->type == REDIS_REPLY_STRING ? std::string_view(r->str, r->len) : std::string_view{};
}
}  // namespace

redis_single::redis_single(boost::asio::io_context& ioc, config::redis_endpoint where, handlers h)
    : h_(std::move(h)), conn_(ioc, std::move(where), h_.up, h_.down) {
  on_sub_ = [this](redisReply* r) { on_subscription(r); };
}

bool redis_single::command(argv_ptr argv, std::string_view, reply_fn done) {
  redis_link* cmd = conn_.commands();
  return cmd && cmd->command(*argv, std::move(done));
}

void redis_single::subscribe(const std::string& channel) {
  if (redis_link* sub = conn_.subscriber()) sub->command_with({"SUBSCRIBE", channel}, &on_sub_);
}

void redis_single::unsubscribe(const std::string& channel) {
  // No callback: hiredis routes the confirmation to the channel's own.
  if (redis_link* sub = conn_.subscriber()) sub->command({"UNSUBSCRIBE", channel}, nullptr);
}

std::string redis_single::describe() const {
  return "Redis " + conn_.endpoint().host + ":" + std::to_string(conn_.endpoint().port);
}

void redis_single::on_subscription(redisReply* r) {
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
  std::string_view kind = reply_str(r->element[0]);
  if (kind == "subscribe") return h_.subscribed(reply_str(r->element[1]));
  if (kind == "message") h_.message(reply_str(r->element[1]), reply_str(r->element[2]));
}

}  // namespace hf::broker
