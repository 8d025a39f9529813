-- The user's epoch (docs/protocol.md section 7), shared by the scripts that
-- number or read a user's stream (C++ puts this text before theirs).
--
-- Returns the epoch in Redis and false, or, when Redis knows nothing of the
-- user, `new_epoch` and true: the offset starts again at 0 and the stream of
-- kept envelopes is emptied. On a Redis Cluster (`sharded` is '1') the meta
-- hash also names the master that wrote it (CLUSTER MYID): a master that
-- finds another's name took the slot over, by a failover (and may lack the
-- last envelopes its old master acknowledged but had not yet replicated) or
-- a migration, so it starts a new epoch too: a position of the old one is
-- never answered recovered:true by a shard that cannot vouch for it.
local function user_epoch(meta, stream, new_epoch, sharded)
  if sharded == '1' then
    local me = redis.call('CLUSTER', 'MYID')
    local known = redis.call('HMGET', meta, 'e', 'n')
    if known[1] and known[2] == me then return known[1], false end
    redis.call('HSET', meta, 'e', new_epoch, 'o', 0, 'n', me)
  else
    local epoch = redis.call('HGET', meta, 'e')
    if epoch then return epoch, false end
    redis.call('HSET', meta, 'e', new_epoch, 'o', 0)
  end
  redis.call('DEL', stream)
  return new_epoch, true
end
