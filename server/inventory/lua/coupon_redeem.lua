-- Redeem a live coupon once for one checkout: never above max_uses in all, nor per_buyer per buyer.
-- KEYS: state, buyers, uses
-- ARGV: now_ms, use_id (the hold being checked out), buyer
-- Returns {'ok', uses_left} | {'replay', uses_left} (this use was counted already) | {'ended'} |
--   {'expired'} | {'used_up'} | {'buyer_limit'} | {'forbidden'} (the use is another buyer's) |
--   {'missing'} | {'stale'} (rebuild from PostgreSQL first)
local state, buyers, uses = KEYS[1], KEYS[2], KEYS[3]
local untrusted = fence(state)
if untrusted then return {untrusted} end
local now, use, buyer = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local s = redis.call('HMGET', state, 'max_uses', 'per_buyer', 'expires_at', 'status', 'used')
local max_uses, per_buyer, expires, status, used =
  tonumber(s[1]), tonumber(s[2]), tonumber(s[3]), s[4], tonumber(s[5])
local owner = redis.call('HGET', uses, use)
if owner then
  if owner == buyer then return {'replay', max_uses - used} end
  return {'forbidden'}
end
if status ~= 'active' then return {'ended'} end
if now >= expires then return {'expired'} end
if used >= max_uses then return {'used_up'} end
if tonumber(redis.call('HGET', buyers, buyer) or '0') >= per_buyer then return {'buyer_limit'} end
redis.call('HSET', uses, use, buyer)
redis.call('HINCRBY', buyers, buyer, 1)
used = redis.call('HINCRBY', state, 'used', 1)
return {'ok', max_uses - used}
