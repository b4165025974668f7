-- Mark a hold as being checked out, so expiry cannot take it while the order is written.
-- KEYS: state, holds, expiry, buyers
-- ARGV: hold_id, buyer, now_ms, deadline_ms (after which PostgreSQL decides the hold's fate)
-- Returns {'ok', qty, expires_ms} | {'missing'} | {'stale'} | {'reservation_expired'} | {'forbidden'} | {'checkout_in_progress'}
local state, holds, expiry, buyers = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local fenced = fence(state)
if fenced then return {fenced} end
local entry = redis.call('HGET', holds, ARGV[1])
if not entry then return {'reservation_expired'} end
local buyer, qty, exp, st = parse_hold(entry)
if buyer ~= ARGV[2] then return {'forbidden'} end
if st ~= 'h' then return {'checkout_in_progress'} end
if exp <= tonumber(ARGV[3]) then
  return_hold(holds, expiry, buyers, ARGV[1], buyer, qty)
  redis.call('HINCRBY', state, 'available', qty)
  redis.call('HINCRBY', state, 'held', -qty)
  return {'reservation_expired'}
end
redis.call('HSET', holds, ARGV[1], buyer .. '|' .. qty .. '|' .. exp .. '|c')
redis.call('ZADD', expiry, tonumber(ARGV[4]), ARGV[1])
return {'ok', qty, exp}
