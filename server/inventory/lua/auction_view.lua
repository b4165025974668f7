-- Read an auction's live state and its accepted bids in one atomic step.
-- KEYS: state, bids
-- ARGV: how many of the newest bids to read
-- Returns {'missing'} | {'stale'} (see fence) |
--   {'ok', status, ends_at, high, high_bidder, count, sudden_ms, decided 0|1, bid1, ...}
-- with `count` the accepted bids in all and the newest first, each "bid id|amount|at_ms|bidder id|nickname".
-- The high bidder's max never leaves Redis through here (it is private).
local fenced = fence(KEYS[1])
if fenced then return {fenced} end
local m = redis.call('HMGET', KEYS[1], 'status', 'ends_at', 'high', 'high_bidder', 'count', 'sudden_ms',
  'decided')
local out = {'ok', m[1], m[2], m[3], m[4], m[5], m[6] or '0', m[7] or '0'}
for _, b in ipairs(redis.call('LRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1)) do out[#out + 1] = b end
return out
