-- A coupon's live counters; ending it first when asked (redemptions are refused after).
-- KEYS: state
-- ARGV: '1' to end the coupon, else '0'
-- Returns {'ok', status, used, max_uses} | {'missing'} | {'stale'}
local state = KEYS[1]
local untrusted = fence(state)
if untrusted then return {untrusted} end
if ARGV[1] == '1' then redis.call('HSET', state, 'status', 'ended') end
local s = redis.call('HMGET', state, 'status', 'used', 'max_uses')
return {'ok', s[1], tonumber(s[2]), tonumber(s[3])}
