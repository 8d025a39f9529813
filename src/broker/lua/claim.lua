-- Claims NODE_ID for one process: "hf:node:<id>" holds that process's
-- incarnation, renewed before it expires. Returns 1 when this process holds
-- it (now or already), 0 when another live process does.
local key = KEYS[1]
local incarnation, ttl_ms = ARGV[1], ARGV[2]

local holder = redis.call('GET', key)
if (not holder) or holder == incarnation then
  redis.call('SET', key, incarnation, 'PX', ttl_ms)
  return 1
end
return 0
