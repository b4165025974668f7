-- Give one redemption back (its checkout failed, or its order was canceled): at most once per use.
-- KEYS: state, buyers, uses
-- ARGV: use_id
-- Returns {'returned', uses_left} | {'none'} (not counted, or given back already) | {'missing'} |
--   {'stale'} (a rebuild from PostgreSQL counts only the orders that still stand)
local state, buyers, uses = KEYS[1], KEYS[2], KEYS[3]
local untrusted = fence(state)
if untrusted then return {untrusted} end
local owner = redis.call('HGET', uses, ARGV[1])
if not owner then return {'none'} end
redis.call('HDEL', uses, ARGV[1])
local left = redis.call('HINCRBY', buyers, owner, -1)
if left <= 0 then redis.call('HDEL', buyers, owner) end
local used = redis.call('HINCRBY', state, 'used', -1)
return {'returned', tonumber(redis.call('HGET', state, 'max_uses')) - used}
