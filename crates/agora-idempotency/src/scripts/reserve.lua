-- Reserves an idempotency key, or says why not: record.rs's `judge`, atomically.
-- KEYS[1] record hash. ARGV: fingerprint, token, lease_ms, ttl_ms.
-- Returns {"proceed"} | {"mismatch"} | {"in_progress"} | {"replay", status, headers, body}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local r = redis.call('HMGET', KEYS[1], 'fp', 'state', 'lease', 'status', 'headers', 'body')
local free = r[1] == false or (r[2] == 'in_progress' and tonumber(r[3]) <= now)
if free then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'state', 'in_progress', 'token', ARGV[2],
    'lease', string.format('%.0f', now + tonumber(ARGV[3])))
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {'proceed'}
end
if r[1] ~= ARGV[1] then
  return {'mismatch'}
end
if r[2] == 'in_progress' then
  return {'in_progress'}
end
return {'replay', r[4], r[5], r[6]}
