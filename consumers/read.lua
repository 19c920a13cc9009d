-- cachesync batch read: for each KEYS[i], its version, value and tombstone flag
-- (false where absent), flattened: {v1, d1, t1, v2, d2, t2, ...}. One call instead of a
-- pipeline of HMGETs: the client's per-command cost is what limits a reconcile's reads.
local out = {}
for i, key in ipairs(KEYS) do
  local entry = redis.call('HMGET', key, 'v', 'd', 't')
  out[3 * i - 2] = entry[1]
  out[3 * i - 1] = entry[2]
  out[3 * i] = entry[3]
end
return out
