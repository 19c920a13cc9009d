-- cachesync fence: apply many version-fenced writes in one call, atomically and in order.
-- Entry layout (one Redis HASH per cache key; see consumers/store.py):
--   v  the version of the row state held (32 lowercase hex digits)
--   d  the value (JSON of the projected row); absent in a tombstone
--   t  "1" when the entry is a tombstone
--   l  a cache-aside lease token (only on an entry no fenced write has touched since)
-- KEYS[i]: the cache keys; ARGV[i]: the action on KEYS[i], packed into one string (one
-- argument per action keeps the client's encoding cost down):
--   byte 1       op: "w" write the value, "x" write a tombstone
--   bytes 2-33   version
--   bytes 34-43  ttl seconds, 10 decimal digits
--   bytes 44-    the value (empty for a tombstone)
-- Returns one reply per key: 1 applied, 0 fenced (the stored version is the same or newer),
-- or an error text when Redis refused that key (e.g. WRONGTYPE: it holds a foreign value);
-- a refused key does not stop the others.
local function newer(a, b)
  -- a > b for 32-digit hex strings, compared exactly in 8-digit (32-bit) chunks:
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
  local action = ARGV[i]
  local op, version = string.sub(action, 1, 1), string.sub(action, 2, 33)
  local stored = redis.pcall('HGET', key, 'v')
  if type(stored) == 'table' then
    out[i] = stored['err']
  elseif stored and (#stored ~= 32 or string.find(stored, '[^0-9a-f]')) then
    out[i] = 'stored version is not 32 lowercase hex digits'
  elseif stored and not newer(version, stored) then
    out[i] = 0
  else
    redis.call('DEL', key)
    if op == 'w' then
      redis.call('HSET', key, 'v', version, 'd', string.sub(action, 44))
    else
      redis.call('HSET', key, 'v', version, 't', '1')
    end
    redis.call('EXPIRE', key, tonumber(string.sub(action, 34, 43)))
    out[i] = 1
  end
end
return out
