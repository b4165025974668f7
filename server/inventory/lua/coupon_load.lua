-- Write a coupon's counters from PostgreSQL's truth, unless this Redis process already did.
-- KEYS: state, buyers, uses
-- ARGV: max_uses, per_buyer, expires_at_ms, status, n, then n pairs of: use_id, buyer (the orders
--   that hold a redemption)
-- Returns {'created'} | {'exists'}
local state, buyers, uses = KEYS[1], KEYS[2], KEYS[3]
local epoch = writer_id()
if redis.call('HGET', state, 'epoch') == epoch then return {'exists'} end
redis.call('DEL', state, buyers, uses)
local n = tonumber(ARGV[5])
for i = 0, n - 1 do
  local use, buyer = ARGV[6 + i * 2], ARGV[7 + i * 2]
  if redis.call('HSETNX', uses, use, buyer) == 1 then redis.call('HINCRBY', buyers, buyer, 1) end
end
redis.call('HSET', state, 'max_uses', ARGV[1], 'per_buyer', ARGV[2], 'expires_at', ARGV[3],
  'status', ARGV[4], 'used', redis.call('HLEN', uses), 'epoch', epoch)
return {'created'}
