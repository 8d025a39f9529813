-- Section 14 in cluster mode (broker/webhook_redis.hpp): keeps a webhook
-- event in the outbox stream as the calling node's, atomically: XADD, then
-- XREADGROUP for that node, which hands it the entry just added (every
-- entry is read by the script that added it, so none other is waiting; any
-- that is, from a stream written by other means, is handed over too).
-- KEYS[1]: the stream. ARGV: group, consumer, most entries, event id, body,
-- made (ms since the Unix epoch).
-- Returns false when the stream is full, else {entry id, entries read}.
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return false
end
local function add()
  return redis.call('XADD', KEYS[1], '*', 'i', ARGV[4], 'b', ARGV[5], 't', ARGV[6])
end
local function read()
  return redis.pcall('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', '100',
                     'STREAMS', KEYS[1], '>')
end
local ref = add()
local got = read()
if type(got) == 'table' and got.err then
  -- No group yet (a new stream, or Redis lost it): made after the entry,
  -- which is then added again behind it.
  redis.call('XDEL', KEYS[1], ref)
  redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], '$', 'MKSTREAM')
  ref = add()
  got = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', '100',
                   'STREAMS', KEYS[1], '>')
end
return {ref, got}
