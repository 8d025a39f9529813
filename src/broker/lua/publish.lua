-- Numbers, records and fans out one publish, atomically (one round trip):
-- the user's epoch (epoch.lua), the next offset, the kept envelope and the
-- PUBLISH (SPUBLISH on a Redis Cluster, where the channel shares the keys'
-- slot) of the publish message. The message is the node's `head`
-- (cluster_wire.hpp: publish_prefix) completed as wire::encode completes it:
-- epoch, ' ', offset, '\n', then the envelope text.
--
-- The kept envelopes are bounded by count (HISTORY_SIZE) and by bytes
-- (`history_max_bytes`: a replay never sends more than a socket may queue,
-- so more is never useful), oldest first, and expire after HISTORY_TTL_MS.
-- Their total size is kept in the meta hash ('b'), counted from 0 again
-- whenever the stream is gone (expired, or emptied by a new epoch).
-- Returns the number of nodes that received the message.
local meta, stream = KEYS[1], KEYS[2]
local channel, head, envelope = ARGV[1], ARGV[2], ARGV[3]
local new_epoch, history_size, history_ttl_ms = ARGV[4], tonumber(ARGV[5]), ARGV[6]
local meta_ttl_ms, sharded, history_max_bytes = ARGV[7], ARGV[8], tonumber(ARGV[9])

local epoch = user_epoch(meta, stream, new_epoch, sharded)
local offset = redis.call('HINCRBY', meta, 'o', 1)
redis.call('PEXPIRE', meta, meta_ttl_ms)
if history_size > 0 then
  local kept = 0
  if redis.call('EXISTS', stream) == 1 then kept = tonumber(redis.call('HGET', meta, 'b') or '0') end
  redis.call('XADD', stream, '0-' .. offset, 'e', envelope)
  kept = kept + #envelope
  local count = redis.call('XLEN', stream)
  while count > 0 and (count > history_size or kept > history_max_bytes) do
    local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
    redis.call('XDEL', stream, oldest[1])
    kept = kept - #oldest[2][2]
    count = count - 1
  end
  redis.call('HSET', meta, 'b', kept)
  redis.call('PEXPIRE', stream, history_ttl_ms)
end
local verb = 'PUBLISH'
if sharded == '1' then verb = 'SPUBLISH' end
return redis.call(verb, channel, head .. epoch .. ' ' .. offset .. '\n' .. envelope)
