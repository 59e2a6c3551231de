-- agora-ratelimit: check (and, if every policy admits it, commit) one request.
-- Mirrors src/algo.rs exactly; all quantities are integer microseconds.
--
-- KEYS[i]            state key of policy i (all with the same hash tag in a cluster)
-- ARGV[1]            "" to use the server clock (TIME), or a fixed "now" in µs (tests only)
-- ARGV[2]            "c" = commit if all admit, "p" = peek only (never commit)
-- ARGV[3 + 4(i-1)..] per policy: algorithm code, limit, window µs, interval µs
--
-- Returns one string of space-separated integers: all_admitted, now, then per policy: admitted,
-- remaining, reset_after, retry_after, remaining_after_commit, reset_after_commit, marker.
-- (A string rather than an array of integers: the client parses one bulk string in a fraction
-- of what it costs to parse nine array elements, and Redis spends no more producing it.)

if redis.replicate_commands then pcall(redis.replicate_commands) end

-- Lua numbers are doubles: always format integers explicitly ("%.0f"), never rely on
-- tostring() which would print 1.7e+15.
local function f(n) return string.format('%.0f', n) end
local function idiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then q = q - 1 elseif (q + 1) * b <= a then q = q + 1 end
  return q
end
local function ttl_ms(us)
  return f(math.max(1, math.ceil(us / 1000)))
end

local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local mode = ARGV[2]

local n = #KEYS
local st = {}
local all = 1
for i = 1, n do
  local b = 3 + (i - 1) * 4
  local s = { key = KEYS[i], alg = ARGV[b], L = tonumber(ARGV[b + 1]),
              W = tonumber(ARGV[b + 2]), T = tonumber(ARGV[b + 3]) }
  s.C = s.L * s.T
  local L, W, T, C, key = s.L, s.W, s.T, s.C, s.key
  if s.alg == 'fw' then
    local v = redis.call('HMGET', key, 'w', 'c')
    local cur = idiv(now, W)
    local c = 0
    -- A clock reading from before the stored window (the server clock stepped back) keeps
    -- the stored window, as in algo.rs.
    if v[1] and tonumber(v[1]) >= cur then cur = tonumber(v[1]); c = tonumber(v[2]) or 0 end
    s.cur, s.c = cur, c
    local e = (cur + 1) * W - now
    s.ok = c < L
    s.rem = math.max(0, L - c)
    s.reset = (c > 0) and e or 0
    s.retry = s.ok and 0 or e
  elseif s.alg == 'swl' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', f(now - W))
    local cnt = redis.call('ZCARD', key)
    s.cnt = cnt
    s.ok = cnt < L
    s.rem = math.max(0, L - cnt)
    s.reset = 0
    if cnt > 0 then
      local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
      s.reset = tonumber(newest[2]) + W - now
    end
    s.retry = 0
    if not s.ok then
      local e = redis.call('ZRANGE', key, cnt - L, cnt - L, 'WITHSCORES')
      s.retry = tonumber(e[2]) + W - now
    end
  elseif s.alg == 'swc' then
    local v = redis.call('HMGET', key, 'w', 'c', 'p')
    local cur = idiv(now, W)
    local c, p = 0, 0
    if v[1] then
      local w = tonumber(v[1])
      if w >= cur then
        cur = w
        c = tonumber(v[2]) or 0
        p = tonumber(v[3]) or 0
      elseif w + 1 == cur then
        p = tonumber(v[2]) or 0
      end
    end
    s.cur, s.c, s.p = cur, c, p
    local e = math.max(0, now - cur * W)
    s.e = e
    local wp = p * (W - e)
    s.wp = wp
    s.ok = wp + (c + 1) * W <= L * W
    s.rem = math.max(0, idiv(math.max(0, L * W - wp), W) - c)
    if c > 0 then s.reset = 2 * W - e elseif p > 0 then s.reset = W - e else s.reset = 0 end
    if s.ok then
      s.retry = 0
    elseif c < L then
      s.retry = (W - idiv((L - c - 1) * W, p)) - e
    else
      s.retry = (W - e) + (W - idiv((L - 1) * W, c))
    end
  elseif s.alg == 'tb' then
    local v = redis.call('HMGET', key, 'l', 't')
    local lvl, last = C, now
    if v[1] and v[2] then lvl = tonumber(v[1]); last = tonumber(v[2]) end
    if now > last then
      lvl = math.min(C, lvl + (now - last))
      last = now
    end
    s.lvl, s.last = lvl, last
    s.ok = lvl >= T
    s.rem = idiv(lvl, T)
    s.reset = C - lvl
    s.retry = s.ok and 0 or (T - lvl)
  elseif s.alg == 'lb' then
    local v = redis.call('GET', key)
    local tat = now
    if v then tat = math.max(tonumber(v), now) end
    s.tat = tat
    s.ok = tat + T - now <= C
    s.rem = idiv(math.max(0, C - (tat - now)), T)
    s.reset = tat - now
    s.retry = s.ok and 0 or (tat + T - C - now)
  else
    return redis.error_reply('agora-ratelimit: unknown algorithm ' .. tostring(s.alg))
  end
  if not s.ok then all = 0 end
  st[i] = s
end

local commit = (all == 1) and (mode == 'c')
local out = { commit and 1 or 0, now }
for i = 1, n do
  local s = st[i]
  local L, W, T, C, key = s.L, s.W, s.T, s.C, s.key
  local rem2, reset2, marker = s.rem, s.reset, 0
  if commit then
    if s.alg == 'fw' then
      redis.call('HSET', key, 'w', f(s.cur), 'c', f(s.c + 1))
      redis.call('PEXPIRE', key, ttl_ms((s.cur + 1) * W - now))
      rem2 = L - s.c - 1
      reset2 = (s.cur + 1) * W - now
      marker = s.cur
    elseif s.alg == 'swl' then
      marker = s.cnt + 1
      redis.call('ZADD', key, f(now), f(now) .. ':' .. f(marker))
      redis.call('PEXPIRE', key, ttl_ms(W))
      rem2 = L - s.cnt - 1
      reset2 = W
    elseif s.alg == 'swc' then
      local c = s.c + 1
      redis.call('HSET', key, 'w', f(s.cur), 'c', f(c), 'p', f(s.p))
      redis.call('PEXPIRE', key, ttl_ms((s.cur + 2) * W - now))
      rem2 = math.max(0, idiv(math.max(0, L * W - s.wp), W) - c)
      reset2 = 2 * W - s.e
      marker = s.cur
    elseif s.alg == 'tb' then
      local lvl = s.lvl - T
      redis.call('HSET', key, 'l', f(lvl), 't', f(s.last))
      redis.call('PEXPIRE', key, ttl_ms(s.last + (C - lvl) - now))
      rem2 = idiv(lvl, T)
      reset2 = C - lvl
    elseif s.alg == 'lb' then
      local tat = s.tat + T
      redis.call('SET', key, f(tat), 'PX', ttl_ms(tat - now))
      rem2 = idiv(math.max(0, C - (tat - now)), T)
      reset2 = tat - now
    end
  end
  out[#out + 1] = s.ok and 1 or 0
  out[#out + 1] = s.rem
  out[#out + 1] = s.reset
  out[#out + 1] = s.retry
  out[#out + 1] = rem2
  out[#out + 1] = reset2
  out[#out + 1] = marker
end
-- %d: every value is an integer below 2^53, and `long` holds it exactly.
return string.format('%d' .. string.rep(' %d', #out - 1), unpack(out))
