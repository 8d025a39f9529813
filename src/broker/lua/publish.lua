-- Numbers, records and fans out one publish, atomically (one round trip):
-- the user's epoch (epoch.lua), the next offset, the kept envelope (trimmed
-- to HISTORY_SIZE, expiring after HISTORY_TTL_MS) and the PUBLISH (SPUBLISH
-- on a Redis Cluster, where the channel shares the keys' slot) of the
-- publish message. The message is the node's `head` (cluster_wire.hpp:
-- publish_prefix) completed as wire::encode completes it: epoch, ' ', offset,
-- '\n', then the envelope text.
-- Returns the number of nodes that received the message.
local meta, stream = KEYS[1], KEYS[2]
local channel, head, envelope = ARGV[1], ARGV[2], ARGV[3]
local new_epoch, history_size, history_ttl_ms = ARGV[4], ARGV[5], ARGV[6]
local meta_ttl_ms, sharded = ARGV[7], ARGV[8]

local epoch = user_epoch(meta, stream, new_epoch, sharded)
local offset = redis.call('HINCRBY', meta, 'o', 1)
redis.call('PEXPIRE', meta, meta_ttl_ms)
if tonumber(history_size) > 0 then
  redis.call('XADD', stream, 'MAXLEN', history_size, '0-' .. offset, 'e', envelope)
  redis.call('PEXPIRE', stream, history_ttl_ms)
end
local verb = 'PUBLISH'
if sharded == '1' then verb = 'SPUBLISH' end
return redis.call(verb, channel, head .. epoch .. ' ' .. offset .. '\n' .. envelope)
