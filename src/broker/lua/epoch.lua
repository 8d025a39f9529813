-- The user's epoch (docs/protocol.md section 7), shared by the scripts that
-- number, read or renew a user's stream (C++ puts this text before theirs).
--
-- On a Redis Cluster (`sharded` is '1') an epoch this master starts begins
-- with its config epoch (CLUSTER INFO cluster_my_epoch) and a colon:
-- Redis gives a slot's new owner a higher config epoch than the one it
-- replaces, by a failover or a migration, so nodes can refuse what a
-- superseded master still writes (broker/epoch_fence.hpp).
local function stamped(new_epoch, sharded)
  if sharded ~= '1' then return new_epoch end
  local info = redis.call('CLUSTER', 'INFO')
  return (string.match(info, 'cluster_my_epoch:(%d+)') or '0') .. ':' .. new_epoch
end

-- Returns the epoch in Redis and false, or, when Redis knows nothing of the
-- user, `new_epoch` (stamped) and true: the offset starts again at 0 and the
-- stream of kept envelopes is emptied. On a Redis Cluster the meta hash
-- also names the master that wrote it (CLUSTER MYID): a master that finds
-- another's name took the slot over, by a failover (and may lack the last
-- envelopes its old master acknowledged but had not yet replicated) or a
-- migration, so it starts a new epoch too: a position of the old one is
-- never answered recovered:true by a shard that cannot vouch for it.
local function user_epoch(meta, stream, new_epoch, sharded)
  if sharded == '1' then
    local me = redis.call('CLUSTER', 'MYID')
    local known = redis.call('HMGET', meta, 'e', 'n')
    if known[1] and known[2] == me then return known[1], false end
    new_epoch = stamped(new_epoch, sharded)
    redis.call('HSET', meta, 'e', new_epoch, 'o', 0, 'n', me)
  else
    local epoch = redis.call('HGET', meta, 'e')
    if epoch then return epoch, false end
    redis.call('HSET', meta, 'e', new_epoch, 'o', 0)
  end
  redis.call('DEL', stream)
  return new_epoch, true
end
