-- cachesync cache-aside lease (Memcache leases), for applications that fill on a miss
-- without knowing the row's version.
-- lease_get: KEYS[1] key, ARGV[1] token, ARGV[2] lease ttl seconds.
--   Returns {value} on a hit; on a miss or tombstone stores the token and returns {false, token}.
-- lease_fill (ARGV[3] == "fill"): ARGV[1] token, ARGV[2] ttl, ARGV[4] value.
--   Stores the value only if the lease is still there: any fenced write since (rewrite,
--   invalidate, fill) replaced the hash and dropped the token. The value inherits the
--   version the entry had when the lease was taken, so every later change still wins.
local key, token, ttl = KEYS[1], ARGV[1], ARGV[2]
if ARGV[3] == 'fill' then
  if redis.call('HGET', key, 'l') ~= token then return 0 end
  local version = redis.call('HGET', key, 'v') or '00000000000000000000000000000000'
  redis.call('DEL', key)
  redis.call('HSET', key, 'v', version, 'd', ARGV[4])
  redis.call('EXPIRE', key, ttl)
  return 1
end
local value = redis.call('HGET', key, 'd')
if value then return {value} end
redis.call('HSET', key, 'l', token)
if redis.call('TTL', key) < 0 or redis.call('HGET', key, 't') == false then
  redis.call('EXPIRE', key, ttl)
end
return {false, token}
