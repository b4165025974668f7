-- Finish a checkout: 'sold' after the order committed (held -> sold, once), 'abort' when it did not
-- (back to an ordinary hold with its first expiry), 'return' to give the units back at once, 'await'
-- when the committed order waits for its payment (the hold stays, as 'p', until the payment deadline).
-- KEYS: state, holds, expiry, buyers
-- ARGV: hold_id, outcome ('sold' | 'abort' | 'return' | 'await'), deadline_ms (for 'await')
-- Returns {'ok', available, held, sold} | {'missing'} | {'stale'} | {'gone'} | {'not_in_checkout'}
local state, holds, expiry, buyers = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local fenced = fence(state)
if fenced then return {fenced} end
local entry = redis.call('HGET', holds, ARGV[1])
if not entry then return {'gone'} end
local buyer, qty, exp, st = parse_hold(entry)
if st ~= 'c' then return {'not_in_checkout'} end
local outcome = ARGV[2]
if outcome == 'sold' then
  redis.call('HDEL', holds, ARGV[1])
  redis.call('ZREM', expiry, ARGV[1])
  redis.call('HINCRBY', state, 'held', -qty)
  redis.call('HINCRBY', state, 'sold', qty)
elseif outcome == 'abort' then
  redis.call('HSET', holds, ARGV[1], buyer .. '|' .. qty .. '|' .. exp .. '|h')
  redis.call('ZADD', expiry, exp, ARGV[1])
elseif outcome == 'await' then
  local deadline = tonumber(ARGV[3])
  redis.call('HSET', holds, ARGV[1], buyer .. '|' .. qty .. '|' .. deadline .. '|p')
  redis.call('ZADD', expiry, deadline, ARGV[1])
else
  return_hold(holds, expiry, buyers, ARGV[1], buyer, qty)
  redis.call('HINCRBY', state, 'held', -qty)
  redis.call('HINCRBY', state, 'available', qty)
end
local a, h, s = counters(state)
return {'ok', a, h, s}
