-- End an auction whose time is up (or at once when ARGV[2] is '1'): from here every bid is refused.
-- KEYS: state
-- ARGV: now_ms, force ('1' | '0')
-- Returns {'missing'} | {'stale'} (see fence) | {'open', ends_at} while it runs | {'ended', high, high_bidder, high_bid_id}
local state = KEYS[1]
local fenced = fence(state)
if fenced then return {fenced} end
local m = redis.call('HMGET', state, 'status', 'ends_at', 'high', 'high_bidder', 'high_bid_id')
if m[1] == 'active' and tonumber(ARGV[1]) < tonumber(m[2]) and ARGV[2] ~= '1' then
  return {'open', tonumber(m[2])}
end
redis.call('HSET', state, 'status', 'ended')
return {'ended', tonumber(m[3]), m[4], m[5]}
