#include "broker/redis_link.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

#include "broker/resp_reader.hpp"

namespace hf::broker {
namespace asio = boost::asio;

// Per-context event state. hiredis owns the fd; the descriptor only waits on
// it and is released (not closed) at cleanup. Kept alive by the handlers
// that reference it, so a wait completing after cleanup finds `attached`
// false and does nothing.
struct redis_link::events : std::enable_shared_from_this<redis_link::events> {
  events(asio::io_context& ioc, redisAsyncContext* c) : ac(c), sd(ioc, c->c.fd) {}
  redisAsyncContext* ac;
  asio::posix::stream_descriptor sd;
  bool attached = true, reading = false, writing = false, read_armed = false, write_armed = false;
  std::shared_ptr<events> self;  // held while attached to the context

  void arm_read() {
    if (read_armed || !reading || !attached) return;
    read_armed = true;
    sd.async_wait(asio::posix::stream_descriptor::wait_read, [e = shared_from_this()](
                                                                 boost::system::error_code ec) {
      e->read_armed = false;
      if (ec || !e->attached || !e->reading) return;
      redisAsyncHandleRead(e->ac);  // may free the context (cleanup clears `attached`)
      e->arm_read();
    });
  }
  void arm_write() {
    if (write_armed || !writing || !attached) return;
    write_armed = true;
    sd.async_wait(asio::posix::stream_descriptor::wait_write,
                  [e = shared_from_this()](boost::system::error_code ec) {
                    e->write_armed = false;
                    if (ec || !e->attached || !e->writing) return;
                    redisAsyncHandleWrite(e->ac);
                    e->arm_write();
                  });
  }
  static events* of(void* p) { return static_cast<events*>(p); }
  static void add_read(void* p) { of(p)->reading = true, of(p)->arm_read(); }
  static void del_read(void* p) { of(p)->reading = false; }
  static void add_write(void* p) { of(p)->writing = true, of(p)->arm_write(); }
  static void del_write(void* p) { of(p)->writing = false; }
  static void cleanup(void* p) {
    auto* e = of(p);
    e->attached = e->reading = e->writing = false;
    e->sd.release();  // hiredis closes the fd itself
    e->self.reset();  // may destroy *e once no wait references it
  }
};

redis_link::redis_link(asio::io_context& ioc, std::string host, int port)
    : ioc_(ioc), host_(std::move(host)), port_(port) {}

redis_link::~redis_link() {
  *alive_ = false;
  if (ac_) {
    ac_->data = nullptr;
    redisAsyncContext* ac = ac_;
    ac_ = nullptr;
    redisAsyncFree(ac);  // replies still pending get their callbacks with nullptr
  }
}

void redis_link::connect(std::function<void()> on_up, std::function<void(std::string)> on_down) {
  on_up_ = std::move(on_up);
  on_down_ = std::move(on_down);
  ac_ = redisAsyncConnect(host_.c_str(), port_);
  if (!ac_ || ac_->err) {
    std::string why = ac_ ? ac_->errstr : "out of memory";
    if (ac_) redisAsyncFree(ac_);
    ac_ = nullptr;
    asio::post(ioc_, [d = on_down_, why, alive = alive_] {
      if (*alive) d(why);
    });
    return;
  }
  ac_->data = this;
  bound_reader(ac_->c.reader);
  auto e = std::make_shared<events>(ioc_, ac_);
  e->self = e;
  ac_->ev.data = e.get();
  ac_->ev.addRead = events::add_read;
  ac_->ev.delRead = events::del_read;
  ac_->ev.addWrite = events::add_write;
  ac_->ev.delWrite = events::del_write;
  ac_->ev.cleanup = events::cleanup;
  redisAsyncSetConnectCallback(ac_, &redis_link::on_connect);
  redisAsyncSetDisconnectCallback(ac_, &redis_link::on_disconnect);
}

void redis_link::on_connect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<redis_link*>(ac->data);
  if (!self) return;
  if (status != REDIS_OK) {
    std::string why = ac->errstr ? ac->errstr : "connect failed";
    self->ac_ = nullptr;  // hiredis frees the context after this callback
    if (self->on_down_)
      asio::post(self->ioc_, [d = self->on_down_, why, alive = self->alive_] {
        if (*alive) d(why);
      });
    return;
  }
  self->up_ = true;
  if (self->on_up_) self->on_up_();
}

void redis_link::on_disconnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<redis_link*>(ac->data);
  if (!self) return;
  std::string why = status == REDIS_OK ? "closed" : (ac->errstr ? ac->errstr : "connection lost");
  self->up_ = false;
  self->ac_ = nullptr;  // freed by hiredis after this callback
  if (self->on_down_)
    asio::post(self->ioc_, [d = self->on_down_, why, alive = self->alive_] {
      if (*alive) d(why);
    });
}

namespace {

// One command's callback, freed after its single reply (or nullptr when the
// connection goes first).
struct pending_reply {
  redis_link::reply_fn fn;
};

int send_argv(redisAsyncContext* ac, const std::vector<std::string>& argv, redisCallbackFn* cb,
              void* privdata) {
  std::vector<const char*> args;
  std::vector<std::size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  return redisAsyncCommandArgv(ac, cb, privdata, static_cast<int>(args.size()), args.data(),
                               lens.data());
}

}  // namespace

void redis_link::on_reply(redisAsyncContext*, void* reply, void* privdata) {
  std::unique_ptr<pending_reply> p(static_cast<pending_reply*>(privdata));
  if (p) p->fn(static_cast<redisReply*>(reply));
}

bool redis_link::command(const std::vector<std::string>& argv, reply_fn done) {
  if (!ac_ || !up_) return false;
  // No callback (UNSUBSCRIBE: its replies go to the channel's own callback).
  auto* p = done ? new pending_reply{std::move(done)} : nullptr;
  if (send_argv(ac_, argv, p ? &redis_link::on_reply : nullptr, p) != REDIS_OK) {
    delete p;
    return false;
  }
  return true;
}

void redis_link::on_persistent_reply(redisAsyncContext*, void* reply, void* privdata) {
  if (privdata) (*static_cast<reply_fn*>(privdata))(static_cast<redisReply*>(reply));
}

bool redis_link::command_with(const std::vector<std::string>& argv, reply_fn* handler) {
  return ac_ && up_ && send_argv(ac_, argv, &redis_link::on_persistent_reply, handler) == REDIS_OK;
}

}  // namespace hf::broker
