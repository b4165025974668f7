-- A buyer gives a hold back before checkout; its units return at once.
-- KEYS: state, holds, expiry, buyers
-- ARGV: hold_id, buyer ('' = any buyer, for the system)
-- Returns {'ok', available, held, sold} | {'missing'} | {'stale'} | {'not_found'} | {'forbidden'} | {'checkout_in_progress'}
local state, holds, expiry, buyers = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local fenced = fence(state)
if fenced then return {fenced} end
local entry = redis.call('HGET', holds, ARGV[1])
if not entry then return {'not_found'} end
local buyer, qty, _, st = parse_hold(entry)
if ARGV[2] ~= '' and buyer ~= ARGV[2] then return {'forbidden'} end
if st ~= 'h' then return {'checkout_in_progress'} end
return_hold(holds, expiry, buyers, ARGV[1], buyer, qty)
local available = redis.call('HINCRBY', state, 'available', qty)
local held = redis.call('HINCRBY', state, 'held', -qty)
return {'ok', available, held, tonumber(redis.call('HGET', state, 'sold'))}
