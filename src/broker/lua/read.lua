-- A user's stream for a socket that recovers: {epoch, latest offset, id,
-- envelope, id, envelope, ...} with the kept envelopes above `after` when
-- `asked_epoch` is the current epoch (`after` '' asks for the position
-- only). A user Redis knows nothing of gets `new_epoch` (epoch.lua).
local meta, stream = KEYS[1], KEYS[2]
local new_epoch, meta_ttl_ms, after, asked_epoch, sharded =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

local epoch, made = user_epoch(meta, stream, new_epoch, sharded)
if made then redis.call('PEXPIRE', meta, meta_ttl_ms) end
local latest = tonumber(redis.call('HGET', meta, 'o'))
local out = {epoch, latest}
if after ~= '' and asked_epoch == epoch and tonumber(after) < latest then
  for _, entry in ipairs(redis.call('XRANGE', stream, '(0-' .. after, '+')) do
    out[#out + 1] = entry[1]
    out[#out + 1] = entry[2][2]
  end
end
return out
