-- End an auction whose time is up (or at once when ARGV[2] is '1'): from here every bid is refused.
-- KEYS: state
-- ARGV: now_ms, force ('1' | '0'), grace_ms (how long a decided sudden death waits for the deciding
--   bid's own request to end it)
-- Time is up at ends_at; with sudden death (sudden_ms > 0) at ends_at + sudden_ms, or grace_ms after
-- the deciding bid.
-- Returns {'missing'} | {'stale'} (see fence) | {'open', ends_at} while it runs | {'ended', high, high_bidder, high_bid_id}
local state = KEYS[1]
local fenced = fence(state)
if fenced then return {fenced} end
local m = redis.call('HMGET', state, 'status', 'ends_at', 'high', 'high_bidder', 'high_bid_id', 'sudden_ms',
  'decided', 'decided_at')
local now, ends_at, sudden = tonumber(ARGV[1]), tonumber(m[2]), tonumber(m[6] or '0') or 0
local due = now >= ends_at
if sudden > 0 then
  due = now >= ends_at + sudden or (m[7] == '1' and now >= tonumber(m[8]) + tonumber(ARGV[3] or '0'))
end
if m[1] == 'active' and not due and ARGV[2] ~= '1' then
  return {'open', ends_at}
end
redis.call('HSET', state, 'status', 'ended')
return {'ended', tonumber(m[3]), m[4], m[5]}
