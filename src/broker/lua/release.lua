-- Gives NODE_ID back on shutdown, if this process still holds it.
local key = KEYS[1]
local incarnation = ARGV[1]

if redis.call('GET', key) == incarnation then return redis.call('DEL', key) end
return 0
