-- A user's stream for a socket that recovers: {epoch, latest offset, id,
-- envelope, id, envelope, ...} with the kept envelopes above `after` when
-- `asked_epoch` is the current epoch (`after` '' asks for the position
-- only). A user Redis knows nothing of gets `new_epoch` (epoch.lua).
--
-- Bounded: at most `max_count` envelopes and `max_bytes` of envelope text,
-- oldest first, read a few at a time (a large history is never copied
-- whole). Where a bound cuts, the reply stops before the latest offset, so
-- the node answers recovered:false.
local meta, stream = KEYS[1], KEYS[2]
local new_epoch, meta_ttl_ms, after, asked_epoch, sharded =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local max_count, max_bytes = tonumber(ARGV[6]), tonumber(ARGV[7])

local epoch, made = user_epoch(meta, stream, new_epoch, sharded)
if made then redis.call('PEXPIRE', meta, meta_ttl_ms) end
local latest = tonumber(redis.call('HGET', meta, 'o'))
local out = {epoch, latest}
if after ~= '' and asked_epoch == epoch and tonumber(after) < latest then
  local from, count, budget = '(0-' .. after, 0, max_bytes
  while count < max_count do
    local batch = redis.call('XRANGE', stream, from, '+', 'COUNT', 4)
    if #batch == 0 then break end
    for _, entry in ipairs(batch) do
      local text = entry[2][2]
      if count >= max_count or #text > budget then return out end
      out[#out + 1] = entry[1]
      out[#out + 1] = text
      count = count + 1
      budget = budget - #text
      from = '(' .. entry[1]
    end
  end
end
return out
