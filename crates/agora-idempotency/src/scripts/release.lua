-- Frees a key this holder still owns. KEYS[1] record hash. ARGV: token. Returns 1 or 0.
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] and redis.call('HGET', KEYS[1], 'state') == 'in_progress' then
  return redis.call('DEL', KEYS[1])
end
return 0
