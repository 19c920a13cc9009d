-- cachesync fence: apply many version-fenced writes in one call.
-- Entry layout (one Redis HASH per cache key):
--   v  the version of the row state held (32 lowercase hex digits)
--   d  the value (JSON of the projected row); absent in a tombstone
--   t  "1" when the entry is a tombstone
--   l  a cache-aside lease token (only on an entry no fenced write has touched since)
-- KEYS[i]: the cache keys; ARGV: for each key, op ("w" write value, "x" tombstone), version,
-- ttl seconds, value ("" for tombstones). Returns one integer per key: 1 applied, 0 fenced.
local function newer(a, b)
  -- a > b for equal-length hex strings, compared exactly in 8-digit (32-bit) chunks:
  -- Lua numbers are doubles and Redis sets LC_COLLATE, so neither whole-number nor string
  -- comparison is safe.
  for i = 1, 32, 8 do
    local x = tonumber(string.sub(a, i, i + 7), 16)
    local y = tonumber(string.sub(b, i, i + 7), 16)
    if x ~= y then return x > y end
  end
  return false
end

local out = {}
for i, key in ipairs(KEYS) do
  local base = (i - 1) * 4
  local op, version, ttl, value = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], ARGV[base + 4]
  local stored = redis.call('HGET', key, 'v')
  if stored and not newer(version, stored) then
    out[i] = 0
  else
    redis.call('DEL', key)
    if op == 'w' then
      redis.call('HSET', key, 'v', version, 'd', value)
    else
      redis.call('HSET', key, 'v', version, 't', '1')
    end
    redis.call('EXPIRE', key, ttl)
    out[i] = 1
  end
end
return out
