-- agora-ratelimit: give back one request committed by check.lua at time ARGV[1] (µs).
-- Used only in a Redis Cluster when one request's policies live in different hash slots and a
-- later slot's policies denied the request after an earlier slot's were committed.
--
-- KEYS[i]            state key of policy i
-- ARGV[1]            the "now" the commit used
-- ARGV[2 + 5(i-1)..] per policy: algorithm code, limit, window µs, interval µs, marker

if redis.replicate_commands then pcall(redis.replicate_commands) end

local function f(n) return string.format('%.0f', n) end
local function idiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then q = q - 1 elseif (q + 1) * b <= a then q = q + 1 end
  return q
end

local now = tonumber(ARGV[1])
for i = 1, #KEYS do
  local b = 2 + (i - 1) * 5
  local key, alg = KEYS[i], ARGV[b]
  local L, W, T, marker = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]),
      tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])
  if alg == 'fw' then
    local w = redis.call('HGET', key, 'w')
    if w and tonumber(w) == marker then redis.call('HINCRBY', key, 'c', -1) end
  elseif alg == 'swl' then
    redis.call('ZREM', key, f(now) .. ':' .. f(marker))
  elseif alg == 'swc' then
    local w = redis.call('HGET', key, 'w')
    if w then
      w = tonumber(w)
      if w == marker then redis.call('HINCRBY', key, 'c', -1)
      elseif w == marker + 1 then redis.call('HINCRBY', key, 'p', -1) end
    end
  elseif alg == 'tb' then
    local l = redis.call('HGET', key, 'l')
    if l then redis.call('HSET', key, 'l', f(math.min(L * T, tonumber(l) + T))) end
  elseif alg == 'lb' then
    local tat = redis.call('GET', key)
    if tat then redis.call('SET', key, f(tonumber(tat) - T), 'KEEPTTL') end
  end
end
return 1
