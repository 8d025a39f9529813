#include "broker/run_script.hpp"

#include <hiredis/hiredis.h>

#include <memory>

namespace hf::broker {

bool run_script(redis_backend& redis, store::call c, redis_backend::reply_fn done) {
  std::vector<std::string> v;  // moved from the call: the envelope is not copied
  v.reserve(c.args.size() + 2);
  v.emplace_back("EVALSHA");
  v.push_back(c.s->sha);
  for (auto& a : c.args) v.push_back(std::move(a));
  auto argv = std::make_shared<const std::vector<std::string>>(std::move(v));
  std::string_view key = (*argv)[3];  // EVALSHA, sha, numkeys, then the first key
  return redis.command(argv, key,
                       [&redis, s = c.s, argv, done = std::move(done)](redisReply* r) mutable {
                         if (store::error_of(r).starts_with("NOSCRIPT")) {
                           auto full = std::make_shared<std::vector<std::string>>(*argv);
                           (*full)[0] = "EVAL";
                           (*full)[1] = s->text;
                           std::string_view key = (*full)[3];
                           if (!redis.command(std::move(full), key, done)) done(nullptr);
                           return;
                         }
                         done(r);
                       });
}

}  // namespace hf::broker
