-- A new epoch for a user a node delivered to alone while its part of Redis
-- was unreachable: the offset starts again at 0 and the kept envelopes go,
-- so no position across the outage is answered recovered:true. (epoch.lua
-- comes first: `stamped`.)
local meta, stream = KEYS[1], KEYS[2]
local new_epoch, meta_ttl_ms, sharded = ARGV[1], ARGV[2], ARGV[3]

redis.call('DEL', stream)
if sharded == '1' then
  redis.call('HSET', meta, 'e', stamped(new_epoch, sharded), 'o', 0, 'n', redis.call('CLUSTER', 'MYID'))
else
  redis.call('HSET', meta, 'e', new_epoch, 'o', 0)
end
redis.call('PEXPIRE', meta, meta_ttl_ms)
return 1
